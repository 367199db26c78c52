// The history strip: thumbnails of saved images, newest first, searchable by prompt; click restores.
#pragma once

#include <QWidget>

#include "ui/generation_params.h"

class QLineEdit;
class QListWidget;

namespace sf::ui {

class HistoryStore;

class HistoryPanel : public QWidget {
    Q_OBJECT
public:
    explicit HistoryPanel(HistoryStore* store, QWidget* parent = nullptr);

    /// Filters by prompt text.
    void setSearchText(const QString& text);
    /// Row ids shown, in order.
    QList<qint64> shownIds() const;
    /// Restores the parameters of row `id` (as a click does).
    void activate(qint64 id);
    /// Deletes the selected rows (file to the trash).
    void deleteSelected();
    void select(qint64 id);
    /// Shows another database (after the output folder changed).
    void setStore(HistoryStore* store);

Q_SIGNALS:
    /// A thumbnail was clicked: its parameters and image.
    void restoreRequested(const sf::ui::GenerationParams& params, const QString& path);

public Q_SLOTS:
    void reload();

private:
    HistoryStore* m_store = nullptr;
    QLineEdit* m_search = nullptr;
    QListWidget* m_list = nullptr;
};

}  // namespace sf::ui
