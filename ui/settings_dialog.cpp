#include "ui/settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace sf::ui {

namespace {

/// A line edit with a Browse… button that picks a folder, or a file when `filter` is given.
QWidget* folderRow(QLineEdit* edit, QWidget* parent, const QString& filter = QString()) {
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QPushButton(QObject::tr("Browse…"), row);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, row, [edit, row, filter] {
        const QString dir = filter.isEmpty() ? QFileDialog::getExistingDirectory(row, QString(), edit->text())
                                             : QFileDialog::getOpenFileName(row, QString(), edit->text(), filter);
        if (!dir.isEmpty()) {
            edit->setText(dir);
        }
    });
    return row;
}

void select(QComboBox* box, const QString& value) {
    const int index = box->findData(value);
    box->setCurrentIndex(index >= 0 ? index : 0);
}

}  // namespace

SettingsDialog::SettingsDialog(const Settings& s, int cudaDevices, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Settings"));
    m_models = new QLineEdit(s.modelsFolder, this);
    m_output = new QLineEdit(s.outputFolder, this);
    m_device = new QComboBox(this);
    m_device->addItem(tr("Automatic"), QStringLiteral("auto"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    for (int i = 0; i < cudaDevices; ++i) {
        m_device->addItem(tr("CUDA %1").arg(i), QStringLiteral("cuda:%1").arg(i));
    }
    m_precision = new QComboBox(this);
    m_precision->addItem(tr("Automatic"), QStringLiteral("auto"));
    m_precision->addItem(QStringLiteral("fp32"), QStringLiteral("fp32"));
    m_precision->addItem(QStringLiteral("fp16"), QStringLiteral("fp16"));
    m_precision->addItem(QStringLiteral("bf16"), QStringLiteral("bf16"));
    m_taesd = new QLineEdit(s.taesdDecoder, this);
    m_taesd->setObjectName(QStringLiteral("taesdDecoder"));
    m_taesdxl = new QLineEdit(s.taesdxlDecoder, this);
    m_taesdxl->setObjectName(QStringLiteral("taesdxlDecoder"));
    m_preview = new QComboBox(this);
    m_preview->setObjectName(QStringLiteral("previewMode"));
    m_preview->addItem(tr("Latent approximation"), QStringLiteral("latent"));
    m_preview->addItem(tr("None"), QStringLiteral("none"));
    // "TAESD" only while a decoder file is named.
    auto offerTaesd = [this] {
        const bool have = !m_taesd->text().trimmed().isEmpty() || !m_taesdxl->text().trimmed().isEmpty();
        const int index = m_preview->findData(QStringLiteral("taesd"));
        if (have && index < 0) {
            m_preview->insertItem(1, tr("TAESD"), QStringLiteral("taesd"));
        } else if (!have && index >= 0) {
            m_preview->removeItem(index);
        }
    };
    offerTaesd();
    connect(m_taesd, &QLineEdit::textChanged, this, offerTaesd);
    connect(m_taesdxl, &QLineEdit::textChanged, this, offerTaesd);
    select(m_device, s.device);
    select(m_precision, s.precision);
    select(m_preview, s.previewMode);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto* form = new QFormLayout(this);
    form->addRow(tr("Models folder"), folderRow(m_models, this));
    form->addRow(tr("Output folder"), folderRow(m_output, this));
    form->addRow(tr("Device"), m_device);
    form->addRow(tr("Precision"), m_precision);
    const QString decoders = tr("TAESD decoder (*.safetensors)");
    form->addRow(tr("TAESD decoder (SD 1/2)"), folderRow(m_taesd, this, decoders));
    form->addRow(tr("TAESD decoder (SDXL)"), folderRow(m_taesdxl, this, decoders));
    form->addRow(tr("Preview"), m_preview);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

Settings SettingsDialog::settings(const Settings& base) const {
    Settings s = base;
    s.modelsFolder = m_models->text();
    s.outputFolder = m_output->text();
    s.device = m_device->currentData().toString();
    s.precision = m_precision->currentData().toString();
    s.previewMode = m_preview->currentData().toString();
    s.taesdDecoder = m_taesd->text().trimmed();
    s.taesdxlDecoder = m_taesdxl->text().trimmed();
    return s;
}

}  // namespace sf::ui
