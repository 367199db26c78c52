// The comparison grid: two axes (seeds x guidance by default), cells that fill in as they finish, each
// clickable to restore, a cache so finished cells are never recomputed, and export as one labelled PNG.
#pragma once

#include <QHash>
#include <QImage>
#include <QWidget>

#include "ui/generation_params.h"
#include "ui/grid_plan.h"

class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPushButton;

namespace sf::ui {

class GenerationController;

class GridPanel : public QWidget {
    Q_OBJECT
public:
    explicit GridPanel(GenerationController* controller, QWidget* parent = nullptr);

    /// The axes and values in the editors.
    GridSpec spec() const;
    void setSpec(const GridSpec& spec);
    /// Lays out the grid for `base` and queues the cells not in the cache; returns the requests queued.
    int run(const GenerationParams& base);
    /// Cells laid out / cells with an image.
    int cellCount() const { return static_cast<int>(m_cells.size()); }
    int filledCount() const;
    /// The image of cell (row, column) (null while pending).
    QImage cellImage(int row, int column) const;
    GenerationParams cellParams(int row, int column) const;
    /// Restores a cell's parameters (as clicking it does).
    void activate(int row, int column);
    /// The whole grid with axis labels, as one image.
    QImage renderGrid() const;
    /// Writes renderGrid() as PNG; false on failure.
    bool exportPng(const QString& path) const;

Q_SIGNALS:
    /// Run was clicked: the window answers with run(currentParams).
    void runRequested();
    /// A cell was clicked.
    void restoreRequested(const sf::ui::GenerationParams& params);
    /// Every cell of the last run has its image.
    void gridCompleted();

private:
    void onFinished(qint64 id, const QList<sf::ui::GenerationParams>& params, const QList<QImage>& images);
    void onEnded(qint64 id);
    void rebuild();
    void updateCell(int index);

    GenerationController* m_controller;
    QComboBox* m_xAxis = nullptr;
    QLineEdit* m_xValues = nullptr;
    QComboBox* m_yAxis = nullptr;
    QLineEdit* m_yValues = nullptr;
    QLabel* m_status = nullptr;
    QWidget* m_gridHost = nullptr;
    QGridLayout* m_grid = nullptr;
    GridSpec m_spec;                      // of the laid-out grid
    QList<GridCell> m_cells;
    QList<QPushButton*> m_buttons;
    QHash<QString, QImage> m_cache;       // cell key -> image
    QHash<qint64, QStringList> m_pending; // job id -> cell keys in image order
};

}  // namespace sf::ui
