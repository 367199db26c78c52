#include "ui/history_panel.h"

#include <QHBoxLayout>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/history_store.h"

namespace sf::ui {

HistoryPanel::HistoryPanel(HistoryStore* store, QWidget* parent) : QWidget(parent) {
    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("historySearch"));
    m_search->setPlaceholderText(tr("Search prompts"));
    m_search->setClearButtonEnabled(true);
    auto* remove = new QPushButton(tr("Delete"), this);
    remove->setToolTip(tr("Move the selected images to the trash"));
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("historyList"));
    m_list->setViewMode(QListView::IconMode);
    m_list->setFlow(QListView::LeftToRight);
    m_list->setWrapping(false);
    m_list->setIconSize(QSize(96, 96));
    m_list->setMovement(QListView::Static);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setMinimumHeight(130);
    auto* top = new QHBoxLayout;
    top->addWidget(m_search, 1);
    top->addWidget(remove);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_list, 1);
    connect(m_search, &QLineEdit::textChanged, this, &HistoryPanel::reload);
    connect(remove, &QPushButton::clicked, this, &HistoryPanel::deleteSelected);
    connect(m_list, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { activate(item->data(Qt::UserRole).toLongLong()); });
    setStore(store);
}

void HistoryPanel::setStore(HistoryStore* store) {
    if (m_store) {
        disconnect(m_store, nullptr, this, nullptr);
    }
    m_store = store;
    connect(m_store, &HistoryStore::recordAdded, this, &HistoryPanel::reload);
    connect(m_store, &HistoryStore::recordRemoved, this, &HistoryPanel::reload);
    reload();
}

void HistoryPanel::setSearchText(const QString& text) { m_search->setText(text); }

void HistoryPanel::reload() {
    m_list->clear();
    for (const HistoryRecord& r : m_store->search(m_search->text(), 300)) {
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(r.thumbnail)), QString(), m_list);
        item->setData(Qt::UserRole, r.id);
        item->setToolTip(r.parametersText);
    }
}

QList<qint64> HistoryPanel::shownIds() const {
    QList<qint64> ids;
    for (int i = 0; i < m_list->count(); ++i) {
        ids << m_list->item(i)->data(Qt::UserRole).toLongLong();
    }
    return ids;
}

void HistoryPanel::activate(qint64 id) {
    const HistoryRecord r = m_store->record(id);
    if (r.id != 0) {
        Q_EMIT restoreRequested(r.params, r.path);
    }
}

void HistoryPanel::select(qint64 id) {
    for (int i = 0; i < m_list->count(); ++i) {
        if (m_list->item(i)->data(Qt::UserRole).toLongLong() == id) {
            m_list->setCurrentRow(i);
            return;
        }
    }
}

void HistoryPanel::deleteSelected() {
    QList<qint64> ids;
    for (const QListWidgetItem* item : m_list->selectedItems()) {
        ids << item->data(Qt::UserRole).toLongLong();
    }
    for (qint64 id : ids) {
        m_store->remove(id);
    }
}

}  // namespace sf::ui
