// The job queue: the running job and the waiting ones; remove, move up, move down.
#pragma once

#include <QWidget>

class QListWidget;
class QPushButton;

namespace sf::ui {

class GenerationController;

class QueuePanel : public QWidget {
    Q_OBJECT
public:
    explicit QueuePanel(GenerationController* controller, QWidget* parent = nullptr);

    /// Ids shown, running job first.
    QList<qint64> jobIds() const;
    /// Selects the row of job `id` (for buttons and tests).
    void select(qint64 id);
    /// Acts on the selected job.
    void removeSelected();
    void moveSelected(int delta);

public Q_SLOTS:
    void refresh();

private:
    qint64 selectedId() const;

    GenerationController* m_controller;
    QListWidget* m_list = nullptr;
};

}  // namespace sf::ui
