// Comparison-grid planning (no widgets): axes, cells, cache keys, and how missing cells become requests.
#pragma once

#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include "ui/generation_params.h"

namespace sf::ui {

/// What a grid axis varies.
enum class GridAxis { Seed, Guidance, Steps, Sampler, Strength, PromptSR };

/// Display name of an axis ("Seed", "Guidance", "Steps", "Sampler", "Strength", "Prompt S/R").
QString gridAxisName(GridAxis axis);
/// All axes, in menu order.
QList<GridAxis> gridAxes();

/// Axes and their values (as typed; Prompt S/R: the first value is the text searched for).
struct GridSpec {
    GridAxis xAxis = GridAxis::Seed;
    QStringList xValues;
    GridAxis yAxis = GridAxis::Guidance;
    QStringList yValues;
};

/// One cell: its position and its full single-image parameters.
struct GridCell {
    int row = 0;
    int column = 0;
    GenerationParams params;
    QString key;  ///< cache key: the cell's full request
};

/// One request for several cells of one row (seeds / guidance vary per image; everything else equal).
struct GridBatch {
    GenerationParams params;  ///< with `seeds` and `cfgScales` filled, one entry per cell
    QList<int> cells;         ///< indices into the plan, in image order
};

/// `base` with one axis set to `value` (`first` is the first value of that axis, for Prompt S/R).
GenerationParams applyGridAxis(GenerationParams base, GridAxis axis, const QString& value, const QString& first);
/// The cache key of a single-image request: every parameter that changes the result.
QString gridCellKey(const GenerationParams& params);
/// Every cell of the grid, row-major (rows = y values, columns = x values).
QList<GridCell> planGrid(const GenerationParams& base, const GridSpec& spec);
/// Requests for the cells whose keys are not in `done`: cells that differ only in seed and guidance share one
/// request (noise per seed, guidance per image), split at sf::default_grid_batch images.
QList<GridBatch> batchGrid(const QList<GridCell>& cells, const QSet<QString>& done);

}  // namespace sf::ui
