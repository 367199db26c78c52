// sfumato-cli grid: a labelled comparison grid over one or two axes (seeds, guidance scales, steps, samplers,
// strengths); writes every cell and the grid PNG. Seed/guidance cells of a row run as one batched request.
#include <iostream>
#include <random>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "app/cli_common.h"
#include "app/cli_plan.h"
#include "app/pipeline_runner.h"
#include "core/error.h"
#include "core/parameters.h"
#include "io/image_io.h"
#include "io/png_io.h"

namespace sf::cli {

namespace fs = std::filesystem;

namespace {

constexpr AxisKind kAxisKinds[] = {AxisKind::seed, AxisKind::cfg, AxisKind::steps, AxisKind::sampler,
                                   AxisKind::strength};

int64_t random_seed() { return static_cast<int64_t>(std::random_device{}() % 4294967295u); }

/// The axes in command-line order: the first is the columns, the second the rows.
std::vector<GridAxis> axes_from_args(const Args& args) {
    std::vector<AxisKind> order;
    for (const auto& name : args.names()) {
        for (AxisKind kind : kAxisKinds) {
            if (name == axis_option(kind) && std::find(order.begin(), order.end(), kind) == order.end()) {
                order.push_back(kind);
            }
        }
    }
    if (order.empty()) {
        throw UsageError("grid needs an axis: --seeds, --cfgs, --steps-axis, --samplers or --strengths");
    }
    if (order.size() > 2) {
        throw UsageError("grid takes at most two axes (the first given is the columns, the second the rows)");
    }
    std::vector<GridAxis> axes;
    for (AxisKind kind : order) {
        GridAxis axis = parse_axis(kind, *args.get(axis_option(kind)));
        if (kind == AxisKind::seed) {
            for (auto& v : axis.values) {
                if (v == "-1") {
                    v = std::to_string(random_seed());
                }
            }
        }
        axes.push_back(std::move(axis));
    }
    return axes;
}

}  // namespace

int cmd_grid(const Args& args) { return run_grid(args, make_pipeline_runner()); }

int run_grid(const Args& args, JobRunner runner) {
    if (args.has("help")) {
        std::cout << "usage: sfumato-cli grid [PROMPT] AXIS [AXIS] [options]\n\n"
                     "axes (comma-separated values; the first axis given is the columns, the second the rows):\n"
                     "  --seeds 1,2,3  --cfgs 3,5,7  --steps-axis 10,20  --samplers \"Euler,DPM++ 2M\"  "
                     "--strengths 0.3,0.6\n"
                     "  --max-batch N            at most N images per batched run (default: as many as 8 pictures of\n"
                     "                           512x512 hold, e.g. 8 at 512x512, 64 at 64x64)\n\n"
                  << request_options_help();
        return 0;
    }
    std::set<std::string> known = request_options();
    for (AxisKind kind : kAxisKinds) {
        known.insert(axis_option(kind));
    }
    known.insert("max-batch");
    args.allow_only(known);
    if (args.has("batch")) {
        throw UsageError("--batch is not used by grid (cells that differ in seed/guidance are batched; see --max-batch)");
    }
    GenerateRequest base = request_from_args(args);
    const std::vector<GridAxis> axes = axes_from_args(args);
    for (const auto& axis : axes) {
        if (axis.kind == AxisKind::strength && base.init_image_path.empty()) {
            throw UsageError("--strengths needs --init-image");
        }
    }
    const auto asked_batch = args.has("max-batch") ? std::optional<int>(args.get_int("max-batch", 0)) : std::nullopt;
    if (asked_batch && (*asked_batch < 1 || *asked_batch > kMaxBatch)) {
        throw UsageError("--max-batch must be between 1 and " + std::to_string(kMaxBatch));
    }
    const OutputTarget target = output_target(args.get("output", "outputs"));
    if (base.seed < 0) {
        base.seed = random_seed();  // one seed for every cell, as A1111's X/Y plot does
    }
    apply_threads(args);
    prepare_request(base);  // the model's own size decides the default batch
    const int max_batch = asked_batch.value_or(default_grid_batch(base.width, base.height));
    const GridPlan plan =
        plan_grid(base, axes[0], axes.size() > 1 ? std::optional<GridAxis>(axes[1]) : std::nullopt, max_batch);
    prepare_output(target);
    std::vector<GenerateRequest> requests;
    for (const auto& job : plan.jobs) {
        GenerateRequest r = job.request;
        r.model = base.model;
        r.init_image = base.init_image;
        requests.push_back(std::move(r));
    }

    ModelHash hash(base.model);
    JobSaver saver = [&](size_t job, const GenerateRequest& r, const Image& image, int index) {
        const GridCell cell = plan.jobs[job].cells[static_cast<size_t>(index)];
        fs::path path = target.folder ? output_path(target, image_seed(r, index), 0, 1)
                                      : target.path.parent_path() / (target.path.stem().string() + "-r" +
                                                                     std::to_string(cell.row + 1) + "-c" +
                                                                     std::to_string(cell.col + 1) + ".png");
        io::write_png(path, image, {{"parameters", format_parameters(r, infotext_info(r, hash.get()), index)}});
        return path;
    };
    const auto outcomes = run_jobs(std::move(requests), std::move(runner), saver);

    std::vector<Image> cells(static_cast<size_t>(plan.rows * plan.cols));
    for (size_t j = 0; j < plan.jobs.size(); ++j) {
        const auto& job = plan.jobs[j];
        for (size_t i = 0; i < job.cells.size() && i < outcomes[j].images.size(); ++i) {
            cells[static_cast<size_t>(job.cells[i].row * plan.cols + job.cells[i].col)] = outcomes[j].images[i];
        }
    }
    const Image grid = io::make_grid(cells, plan.rows, plan.cols, plan.row_labels, plan.col_labels);
    fs::path grid_path = target.path;
    if (target.folder) {
        char name[32];
        std::snprintf(name, sizeof name, "%05d-grid.png", io::next_sequence_number(target.path));
        grid_path = target.path / name;
    }
    const GenerateRequest& first = outcomes.front().request;
    io::write_png(grid_path, grid, {{"parameters", format_parameters(first, infotext_info(first, hash.get()), 0)}});
    std::cout << grid_path.string() << '\n';
    return 0;
}

}  // namespace sf::cli
