#include "ui/grid_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFontMetrics>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QScrollArea>
#include <QVBoxLayout>

#include "ui/generation_controller.h"

namespace sf::ui {

namespace {

QStringList splitValues(const QString& text) {
    QStringList out;
    for (const QString& v : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!v.trimmed().isEmpty()) {
            out << v.trimmed();
        }
    }
    return out;
}

}  // namespace

GridPanel::GridPanel(GenerationController* controller, QWidget* parent) : QWidget(parent), m_controller(controller) {
    m_xAxis = new QComboBox(this);
    m_yAxis = new QComboBox(this);
    for (GridAxis axis : gridAxes()) {
        m_xAxis->addItem(gridAxisName(axis), static_cast<int>(axis));
        m_yAxis->addItem(gridAxisName(axis), static_cast<int>(axis));
    }
    m_xValues = new QLineEdit(this);
    m_xValues->setObjectName(QStringLiteral("gridXValues"));
    m_xValues->setPlaceholderText(tr("comma-separated values"));
    m_yValues = new QLineEdit(this);
    m_yValues->setObjectName(QStringLiteral("gridYValues"));
    m_yValues->setPlaceholderText(tr("comma-separated values"));
    auto* runButton = new QPushButton(tr("Run grid"), this);
    runButton->setObjectName(QStringLiteral("gridRun"));
    auto* exportButton = new QPushButton(tr("Export PNG…"), this);
    m_status = new QLabel(this);
    m_gridHost = new QWidget(this);
    m_grid = new QGridLayout(m_gridHost);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_gridHost);
    scroll->setWidgetResizable(true);

    auto* axes = new QGridLayout;
    axes->addWidget(new QLabel(tr("X axis"), this), 0, 0);
    axes->addWidget(m_xAxis, 0, 1);
    axes->addWidget(m_xValues, 0, 2);
    axes->addWidget(new QLabel(tr("Y axis"), this), 1, 0);
    axes->addWidget(m_yAxis, 1, 1);
    axes->addWidget(m_yValues, 1, 2);
    axes->setColumnStretch(2, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(runButton);
    buttons->addWidget(exportButton);
    buttons->addWidget(m_status, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(axes);
    layout->addLayout(buttons);
    layout->addWidget(scroll, 1);

    connect(runButton, &QPushButton::clicked, this, &GridPanel::runRequested);
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export grid"), QStringLiteral("grid.png"),
                                                          tr("PNG (*.png)"));
        if (!path.isEmpty() && !exportPng(path)) {
            m_status->setText(tr("Could not write %1").arg(path));
        }
    });
    connect(m_controller, &GenerationController::jobFinished, this,
            [this](qint64 id, const QList<GenerationParams>& params, const QList<QImage>& images) {
                onFinished(id, params, images);
            });
    connect(m_controller, &GenerationController::jobFailed, this, [this](qint64 id) { onEnded(id); });
    connect(m_controller, &GenerationController::jobCancelled, this, &GridPanel::onEnded);
    setSpec({GridAxis::Seed, {QStringLiteral("1"), QStringLiteral("2"), QStringLiteral("3")}, GridAxis::Guidance,
             {QStringLiteral("4"), QStringLiteral("7"), QStringLiteral("10")}});
}

GridSpec GridPanel::spec() const {
    GridSpec s;
    s.xAxis = static_cast<GridAxis>(m_xAxis->currentData().toInt());
    s.yAxis = static_cast<GridAxis>(m_yAxis->currentData().toInt());
    s.xValues = splitValues(m_xValues->text());
    s.yValues = splitValues(m_yValues->text());
    return s;
}

void GridPanel::setSpec(const GridSpec& s) {
    m_xAxis->setCurrentIndex(m_xAxis->findData(static_cast<int>(s.xAxis)));
    m_yAxis->setCurrentIndex(m_yAxis->findData(static_cast<int>(s.yAxis)));
    m_xValues->setText(s.xValues.join(QStringLiteral(", ")));
    m_yValues->setText(s.yValues.join(QStringLiteral(", ")));
}

int GridPanel::run(const GenerationParams& baseIn) {
    GenerationParams base = baseIn;
    if (base.seed < 0) {
        base.seed = QRandomGenerator::global()->bounded(1, 2147483647);  // one seed for every cell
    }
    m_spec = spec();
    m_cells = planGrid(base, m_spec);
    QSet<QString> done(m_cache.keyBegin(), m_cache.keyEnd());
    for (const QStringList& keys : std::as_const(m_pending)) {
        done.unite(QSet<QString>(keys.begin(), keys.end()));  // already queued: wait for it
    }
    const QList<GridBatch> batches = batchGrid(m_cells, done);
    rebuild();
    for (const GridBatch& batch : batches) {
        QStringList keys;
        for (int index : batch.cells) {
            keys << m_cells[index].key;
        }
        const qint64 id = m_controller->submit(batch.params);
        m_pending.insert(id, keys);
    }
    m_status->setText(tr("%1 of %2 cells cached, %3 requests queued")
                          .arg(filledCount())
                          .arg(m_cells.size())
                          .arg(batches.size()));
    if (filledCount() == m_cells.size()) {
        Q_EMIT gridCompleted();
    }
    return static_cast<int>(batches.size());
}

int GridPanel::filledCount() const {
    int n = 0;
    for (const GridCell& cell : m_cells) {
        n += m_cache.contains(cell.key) ? 1 : 0;
    }
    return n;
}

QImage GridPanel::cellImage(int row, int column) const {
    for (const GridCell& cell : m_cells) {
        if (cell.row == row && cell.column == column) {
            return m_cache.value(cell.key);
        }
    }
    return {};
}

GenerationParams GridPanel::cellParams(int row, int column) const {
    for (const GridCell& cell : m_cells) {
        if (cell.row == row && cell.column == column) {
            return cell.params;
        }
    }
    return {};
}

void GridPanel::activate(int row, int column) {
    for (const GridCell& cell : m_cells) {
        if (cell.row == row && cell.column == column) {
            Q_EMIT restoreRequested(cell.params);
            return;
        }
    }
}

void GridPanel::onFinished(qint64 id, const QList<GenerationParams>&, const QList<QImage>& images) {
    auto it = m_pending.find(id);
    if (it == m_pending.end()) {
        return;
    }
    const QStringList keys = it.value();
    m_pending.erase(it);
    for (int i = 0; i < keys.size() && i < images.size(); ++i) {
        m_cache.insert(keys[i], images[i]);
    }
    for (int i = 0; i < m_cells.size(); ++i) {
        if (keys.contains(m_cells[i].key)) {
            updateCell(i);
        }
    }
    m_status->setText(tr("%1 of %2 cells").arg(filledCount()).arg(m_cells.size()));
    if (!m_cells.isEmpty() && filledCount() == m_cells.size()) {
        Q_EMIT gridCompleted();
    }
}

void GridPanel::onEnded(qint64 id) { m_pending.remove(id); }

void GridPanel::rebuild() {
    while (QLayoutItem* item = m_grid->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_buttons.clear();
    const QStringList xs = m_spec.xValues;
    const QStringList ys = m_spec.yValues;
    for (int c = 0; c < xs.size(); ++c) {
        auto* label = new QLabel(QStringLiteral("%1 %2").arg(gridAxisName(m_spec.xAxis), xs[c]), m_gridHost);
        label->setAlignment(Qt::AlignCenter);
        m_grid->addWidget(label, 0, c + 1);
    }
    for (int r = 0; r < ys.size(); ++r) {
        m_grid->addWidget(new QLabel(QStringLiteral("%1 %2").arg(gridAxisName(m_spec.yAxis), ys[r]), m_gridHost),
                          r + 1, 0);
    }
    for (int i = 0; i < m_cells.size(); ++i) {
        auto* button = new QPushButton(m_gridHost);
        button->setFlat(true);
        button->setIconSize(QSize(160, 160));
        button->setMinimumSize(168, 168);
        const int row = m_cells[i].row;
        const int column = m_cells[i].column;
        connect(button, &QPushButton::clicked, this, [this, row, column] { activate(row, column); });
        m_grid->addWidget(button, row + 1, column + 1);
        m_buttons << button;
        updateCell(i);
    }
}

void GridPanel::updateCell(int index) {
    QPushButton* button = m_buttons.value(index);
    if (!button) {
        return;
    }
    const QImage image = m_cache.value(m_cells[index].key);
    if (image.isNull()) {
        button->setIcon(QIcon());
        button->setText(tr("…"));
    } else {
        button->setText(QString());
        button->setIcon(QIcon(QPixmap::fromImage(image.scaled(160, 160, Qt::KeepAspectRatio, Qt::SmoothTransformation))));
    }
}

QImage GridPanel::renderGrid() const {
    if (m_cells.isEmpty()) {
        return {};
    }
    QSize cellSize(64, 64);
    for (const GridCell& cell : m_cells) {
        const QImage image = m_cache.value(cell.key);
        if (!image.isNull()) {
            cellSize = cellSize.expandedTo(image.size());
        }
    }
    const int columns = std::max<int>(1, static_cast<int>(m_spec.xValues.size()));
    const int rows = std::max<int>(1, static_cast<int>(m_spec.yValues.size()));
    QFont font;
    font.setPixelSize(std::max(14, cellSize.height() / 16));
    const QFontMetrics metrics(font);
    int left = 0;
    for (const QString& y : m_spec.yValues) {
        left = std::max(left, metrics.horizontalAdvance(gridAxisName(m_spec.yAxis) + QLatin1Char(' ') + y));
    }
    left += left > 0 ? 24 : 0;
    const int top = m_spec.xValues.isEmpty() ? 0 : metrics.height() + 16;
    QImage out(left + columns * cellSize.width(), top + rows * cellSize.height(), QImage::Format_RGB888);
    out.fill(Qt::white);
    QPainter painter(&out);
    painter.setFont(font);
    painter.setPen(Qt::black);
    for (int c = 0; c < m_spec.xValues.size(); ++c) {
        painter.drawText(QRect(left + c * cellSize.width(), 0, cellSize.width(), top), Qt::AlignCenter,
                         gridAxisName(m_spec.xAxis) + QLatin1Char(' ') + m_spec.xValues[c]);
    }
    for (int r = 0; r < m_spec.yValues.size(); ++r) {
        painter.drawText(QRect(8, top + r * cellSize.height(), left - 8, cellSize.height()),
                         Qt::AlignVCenter | Qt::AlignLeft, gridAxisName(m_spec.yAxis) + QLatin1Char(' ') + m_spec.yValues[r]);
    }
    for (const GridCell& cell : m_cells) {
        const QImage image = m_cache.value(cell.key);
        const QRect rect(left + cell.column * cellSize.width(), top + cell.row * cellSize.height(), cellSize.width(),
                         cellSize.height());
        if (image.isNull()) {
            painter.fillRect(rect, QColor(220, 220, 220));
        } else {
            painter.drawImage(rect, image);
        }
    }
    painter.end();
    return out;
}

bool GridPanel::exportPng(const QString& path) const {
    const QImage image = renderGrid();
    return !image.isNull() && image.save(path, "PNG");
}

}  // namespace sf::ui
