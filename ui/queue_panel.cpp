#include "ui/queue_panel.h"

#include <QHBoxLayout>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/generation_controller.h"

namespace sf::ui {

namespace {

QString describe(const GenerationParams& p) {
    QString prompt = p.prompt.simplified();
    if (prompt.size() > 48) {
        prompt = prompt.left(47) + QStringLiteral("…");
    }
    return QStringLiteral("%1  ·  %2×%3, %4 steps, cfg %5%6")
        .arg(prompt)
        .arg(p.width)
        .arg(p.height)
        .arg(p.steps)
        .arg(p.cfgScale)
        .arg(p.imageCount() > 1 ? QStringLiteral(", ×%1").arg(p.imageCount()) : QString());
}

}  // namespace

QueuePanel::QueuePanel(GenerationController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller) {
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("queueList"));
    auto* remove = new QPushButton(tr("Remove"), this);
    auto* up = new QPushButton(tr("Up"), this);
    auto* down = new QPushButton(tr("Down"), this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(up);
    buttons->addWidget(down);
    buttons->addWidget(remove);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_list, 1);
    layout->addLayout(buttons);
    connect(remove, &QPushButton::clicked, this, &QueuePanel::removeSelected);
    connect(up, &QPushButton::clicked, this, [this] { moveSelected(-1); });
    connect(down, &QPushButton::clicked, this, [this] { moveSelected(+1); });
    connect(m_controller, &GenerationController::queueChanged, this, &QueuePanel::refresh);
    refresh();
}

void QueuePanel::refresh() {
    const qint64 keep = selectedId();
    m_list->clear();
    if (const qint64 running = m_controller->running()) {
        auto* item = new QListWidgetItem(tr("▶ %1").arg(describe(m_controller->paramsOf(running))), m_list);
        item->setData(Qt::UserRole, running);
    }
    for (const auto& [id, params] : m_controller->queued()) {
        auto* item = new QListWidgetItem(describe(params), m_list);
        item->setData(Qt::UserRole, id);
    }
    select(keep);
}

QList<qint64> QueuePanel::jobIds() const {
    QList<qint64> ids;
    for (int i = 0; i < m_list->count(); ++i) {
        ids << m_list->item(i)->data(Qt::UserRole).toLongLong();
    }
    return ids;
}

void QueuePanel::select(qint64 id) {
    for (int i = 0; i < m_list->count(); ++i) {
        if (m_list->item(i)->data(Qt::UserRole).toLongLong() == id) {
            m_list->setCurrentRow(i);
            return;
        }
    }
}

qint64 QueuePanel::selectedId() const {
    const QListWidgetItem* item = m_list->currentItem();
    return item ? item->data(Qt::UserRole).toLongLong() : 0;
}

void QueuePanel::removeSelected() {
    if (const qint64 id = selectedId()) {
        m_controller->cancel(id);
    }
}

void QueuePanel::moveSelected(int delta) {
    if (const qint64 id = selectedId()) {
        m_controller->move(id, delta);
        select(id);
    }
}

}  // namespace sf::ui
