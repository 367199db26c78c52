// `sfumato-cli grid`: the plan from axes to requests, a pure function. Cells that differ only in seed and
// guidance scale share one batched request (GenerateRequest::seeds / cfg_scales), so a row of a
// seeds x cfgs grid is one run of the model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/request.h"

namespace sf::cli {

/// What one grid axis varies.
enum class AxisKind { seed, cfg, steps, sampler, strength };

/// One axis: its kind and its values as typed on the command line (checked by parse_axis).
struct GridAxis {
    AxisKind kind = AxisKind::seed;
    std::vector<std::string> values;
};

/// A grid cell: row and column, 0-based.
struct GridCell {
    int row = 0;
    int col = 0;
};

/// One request of the plan; image i of its batch is cell cells[i].
struct GridJob {
    GenerateRequest request;
    std::vector<GridCell> cells;
};

/// Every request needed for the grid, with its labels.
struct GridPlan {
    int rows = 1;
    int cols = 1;
    std::vector<std::string> row_labels;  ///< empty strings when there is no row axis
    std::vector<std::string> col_labels;
    std::vector<GridJob> jobs;
};

/// The command-line option of each axis kind: "seeds", "cfgs", "steps-axis", "samplers", "strengths".
std::string axis_option(AxisKind kind);
/// The label name of each axis kind as A1111 writes it in the infotext: "Seed", "CFG scale", ...
std::string axis_label(AxisKind kind);
/// True for the kinds that vary within one batch (seed, cfg).
bool axis_batchable(AxisKind kind);

/// Splits "1,2,3" and checks every value for `kind` (sampler names are made canonical); throws UsageError
/// naming the option and the bad value. Seeds may be -1 (resolve them before planning).
GridAxis parse_axis(AxisKind kind, const std::string& csv);
/// Sets the field `kind` of `request` to `value` (a value parse_axis accepted).
void apply_axis(GenerateRequest& request, AxisKind kind, const std::string& value);

/// Plans a grid: columns from `x`, rows from `y` (one row when absent). `base` must have a resolved seed
/// (>= 0) and batch_size 1. Cells that differ only in seed/guidance run as one batched request per row (per
/// column when only the row axis is seed/guidance), split into chunks of at most `max_batch` images
/// (0: no limit); all other cells run one request each. Jobs are in row-major order of their first cell.
GridPlan plan_grid(const GenerateRequest& base, const GridAxis& x, const std::optional<GridAxis>& y, int max_batch);


}  // namespace sf::cli
