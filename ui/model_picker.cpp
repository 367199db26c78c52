#include "ui/model_picker.h"

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QStandardItemModel>
#include <QToolButton>
#include <QTreeView>

#include "ui/model_info.h"

namespace sf::ui {

namespace {

constexpr int kPathRole = Qt::UserRole + 1;  // what GenerationParams::model gets ("" for the default)
constexpr int kFileRole = Qt::UserRole + 2;  // the file read for the family ("" when unknown)
constexpr int kSizeRole = Qt::UserRole + 3;  // the model's default picture size

bool isDiffusersFolder(const QDir& dir) {
    return QFileInfo::exists(dir.filePath(QStringLiteral("model_index.json"))) ||
           QFileInfo::exists(dir.filePath(QStringLiteral("unet")));
}

}  // namespace

ModelPicker::ModelPicker(QWidget* parent) : QWidget(parent) {
    m_model = new QStandardItemModel(0, 2, this);
    m_model->setHorizontalHeaderLabels({tr("Model"), tr("Family")});
    m_combo = new QComboBox(this);
    m_combo->setObjectName(QStringLiteral("modelCombo"));
    auto* view = new QTreeView(m_combo);
    view->setRootIsDecorated(false);
    view->setMinimumWidth(360);
    m_combo->setModel(m_model);
    m_combo->setView(view);
    view->header()->setStretchLastSection(false);
    view->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    auto* rescanButton = new QToolButton(this);
    rescanButton->setText(QStringLiteral("⟳"));
    rescanButton->setToolTip(tr("Scan the models folder again"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_combo, 1);
    layout->addWidget(rescanButton);
    connect(rescanButton, &QToolButton::clicked, this, &ModelPicker::rescan);
    connect(m_combo, &QComboBox::currentIndexChanged, this,
            [this] { Q_EMIT modelChanged(currentModel(), currentFamily()); });
    rescan();
}

void ModelPicker::setFolder(const QString& folder) {
    m_folder = folder;
    rescan();
}

void ModelPicker::setDefaultModel(const QString& path) {
    m_defaultModel = path;
    m_defaultKnown = true;
    rescan();
}

void ModelPicker::addEntry(const QString& name, const QString& path, const QString& file) {
    auto* nameItem = new QStandardItem(name);
    nameItem->setData(path, kPathRole);
    nameItem->setData(file, kFileRole);
    nameItem->setData(512, kSizeRole);
    QString family = QStringLiteral("…");
    if (path.isEmpty()) {
        nameItem->setToolTip(file.isEmpty() ? tr("The small model built into Sfumato") : file);
        if (m_defaultKnown && file.isEmpty()) {
            family = tr("not installed");
        } else if (file.isEmpty()) {
            family = QStringLiteral("?");
        }
    } else {
        nameItem->setToolTip(path);
    }
    m_model->appendRow({nameItem, new QStandardItem(family)});
    if (!file.isEmpty()) {
        inspect(file);
    }
}

void ModelPicker::inspect(const QString& file) {
    runInBackground(
        this, [file] { return inspectModel(file); },
        [this, file](const std::shared_ptr<const ModelInfo>& info) {
            for (int row = 0; row < m_model->rowCount(); ++row) {
                QStandardItem* nameItem = m_model->item(row, 0);
                if (nameItem->data(kFileRole).toString() != file) {
                    continue;
                }
                nameItem->setData(info->defaultSize, kSizeRole);
                m_model->item(row, 1)->setText(info->family);
                if (!info->error.isEmpty()) {
                    nameItem->setToolTip(file + QLatin1Char('\n') + info->error);
                }
                if (row == m_combo->currentIndex()) {
                    Q_EMIT modelChanged(currentModel(), currentFamily());
                }
            }
        });
}

void ModelPicker::rescan() {
    const QString keep = m_combo->currentIndex() >= 0 ? currentModel() : QString();
    const QSignalBlocker blocker(m_combo);
    m_model->removeRows(0, m_model->rowCount());
    addEntry(tr("Default (embedded)"), QString(), m_defaultModel);
    if (!m_folder.isEmpty()) {
        QDir dir(m_folder);
        for (const QFileInfo& info : dir.entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
            if (info.isFile() && info.suffix().compare(QStringLiteral("safetensors"), Qt::CaseInsensitive) == 0) {
                addEntry(info.completeBaseName(), info.absoluteFilePath(), info.absoluteFilePath());
            } else if (info.isDir() && isDiffusersFolder(QDir(info.absoluteFilePath()))) {
                addEntry(info.fileName() + QLatin1Char('/'), info.absoluteFilePath(), info.absoluteFilePath());
            }
        }
    }
    m_combo->setCurrentIndex(0);
    if (!keep.isEmpty()) {
        setCurrentModel(keep);
    }
}

QString ModelPicker::currentModel() const {
    const int row = m_combo->currentIndex();
    return row < 0 ? QString() : m_model->item(row, 0)->data(kPathRole).toString();
}

QString ModelPicker::currentModelFile() const {
    const int row = m_combo->currentIndex();
    return row < 0 ? QString() : m_model->item(row, 0)->data(kFileRole).toString();
}

void ModelPicker::setCurrentModel(const QString& path) {
    for (int row = 0; row < m_model->rowCount(); ++row) {
        if (m_model->item(row, 0)->data(kPathRole).toString() == path) {
            m_combo->setCurrentIndex(row);
            return;
        }
    }
    if (QFileInfo::exists(path)) {
        addEntry(QFileInfo(path).completeBaseName(), path, path);
        m_combo->setCurrentIndex(m_model->rowCount() - 1);
    }
}

QString ModelPicker::currentFamily() const {
    const int row = m_combo->currentIndex();
    return row < 0 ? QString() : m_model->item(row, 1)->text();
}

int ModelPicker::currentDefaultSize() const {
    const int row = m_combo->currentIndex();
    return row < 0 ? 512 : m_model->item(row, 0)->data(kSizeRole).toInt();
}

int ModelPicker::count() const { return m_model->rowCount(); }

}  // namespace sf::ui
