#include "app/cli_plan.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "app/cli_args.h"
#include "app/sampler_names.h"
#include "core/error.h"
#include "core/parameters.h"

namespace sf::cli {

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool parse_int64(const std::string& s, int64_t& out) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) {
        return false;
    }
    out = v;
    return true;
}

bool parse_double(const std::string& s, double& out) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') {
        return false;
    }
    out = v;
    return true;
}

}  // namespace

std::string axis_option(AxisKind kind) {
    switch (kind) {
        case AxisKind::seed: return "seeds";
        case AxisKind::cfg: return "cfgs";
        case AxisKind::steps: return "steps-axis";
        case AxisKind::sampler: return "samplers";
        case AxisKind::strength: return "strengths";
    }
    return {};
}

std::string axis_label(AxisKind kind) {
    switch (kind) {
        case AxisKind::seed: return "Seed";
        case AxisKind::cfg: return "CFG scale";
        case AxisKind::steps: return "Steps";
        case AxisKind::sampler: return "Sampler";
        case AxisKind::strength: return "Denoising strength";
    }
    return {};
}

bool axis_batchable(AxisKind kind) { return kind == AxisKind::seed || kind == AxisKind::cfg; }

GridAxis parse_axis(AxisKind kind, const std::string& csv) {
    GridAxis axis{kind, {}};
    const std::string option = "--" + axis_option(kind);
    size_t start = 0;
    for (;;) {
        size_t comma = csv.find(',', start);
        std::string v = trim(csv.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        auto bad = [&](const std::string& why) { return UsageError(option + ": '" + v + "' " + why); };
        int64_t i = 0;
        double d = 0;
        switch (kind) {
            case AxisKind::seed:
                if (!parse_int64(v, i) || i < -1 || i > 0xFFFFFFFFLL) {
                    throw bad("is not a seed (-1 or 0..4294967295)");
                }
                v = std::to_string(i);
                break;
            case AxisKind::cfg:
                if (!parse_double(v, d) || !(d >= 0 && d <= 100)) {
                    throw bad("is not a guidance scale (0..100)");
                }
                v = format_number(d);
                break;
            case AxisKind::steps:
                if (!parse_int64(v, i) || i < 1 || i > 1000) {
                    throw bad("is not a step count (1..1000)");
                }
                v = std::to_string(i);
                break;
            case AxisKind::sampler: {
                auto name = resolve_sampler(v);
                if (!name) {
                    throw bad("is not a known sampler");
                }
                v = *name;
                break;
            }
            case AxisKind::strength:
                if (!parse_double(v, d) || !(d >= 0 && d <= 1)) {
                    throw bad("is not a denoising strength (0..1)");
                }
                v = format_number(d);
                break;
        }
        axis.values.push_back(v);
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return axis;
}

void apply_axis(GenerateRequest& r, AxisKind kind, const std::string& value) {
    switch (kind) {
        case AxisKind::seed: r.seed = std::stoll(value); break;
        case AxisKind::cfg: r.cfg_scale = std::stod(value); break;
        case AxisKind::steps: r.steps = std::stoi(value); break;
        case AxisKind::sampler: r.sampler = value; break;
        case AxisKind::strength: r.strength = std::stod(value); break;
    }
}

GridPlan plan_grid(const GenerateRequest& base, const GridAxis& x, const std::optional<GridAxis>& y, int max_batch) {
    if (x.values.empty() || (y && y->values.empty())) {
        throw Error("plan_grid: an axis has no values");
    }
    if (base.seed < 0) {
        throw Error("plan_grid: resolve the seed before planning");
    }
    GridPlan plan;
    plan.cols = static_cast<int>(x.values.size());
    plan.rows = y ? static_cast<int>(y->values.size()) : 1;
    for (const auto& v : x.values) {
        plan.col_labels.push_back(axis_label(x.kind) + ": " + v);
    }
    for (int r = 0; r < plan.rows; ++r) {
        plan.row_labels.push_back(y ? axis_label(y->kind) + ": " + y->values[static_cast<size_t>(r)] : std::string());
    }

    auto cell_request = [&](int r, int c) {
        GenerateRequest q = base;
        q.batch_size = 1;
        q.seeds.clear();
        q.cfg_scales.clear();
        if (y) {
            apply_axis(q, y->kind, y->values[static_cast<size_t>(r)]);
        }
        apply_axis(q, x.kind, x.values[static_cast<size_t>(c)]);
        return q;
    };
    // Groups of cells that may share one batch.
    std::vector<std::vector<GridCell>> groups;
    if (axis_batchable(x.kind) && (!y || axis_batchable(y->kind))) {
        groups.emplace_back();  // seed x guidance: the whole grid is one batch (row-major)
        for (int r = 0; r < plan.rows; ++r) {
            for (int c = 0; c < plan.cols; ++c) {
                groups.back().push_back({r, c});
            }
        }
    } else if (axis_batchable(x.kind)) {
        for (int r = 0; r < plan.rows; ++r) {
            groups.emplace_back();
            for (int c = 0; c < plan.cols; ++c) {
                groups.back().push_back({r, c});
            }
        }
    } else if (y && axis_batchable(y->kind)) {
        for (int c = 0; c < plan.cols; ++c) {
            groups.emplace_back();
            for (int r = 0; r < plan.rows; ++r) {
                groups.back().push_back({r, c});
            }
        }
    } else {
        for (int r = 0; r < plan.rows; ++r) {
            for (int c = 0; c < plan.cols; ++c) {
                groups.push_back({{r, c}});
            }
        }
    }
    const size_t chunk = max_batch > 0 ? static_cast<size_t>(max_batch) : SIZE_MAX;
    for (const auto& group : groups) {
        for (size_t start = 0; start < group.size(); start += chunk) {
            GridJob job;
            const size_t end = std::min(group.size(), start + chunk);
            for (size_t i = start; i < end; ++i) {
                GenerateRequest q = cell_request(group[i].row, group[i].col);
                if (job.cells.empty()) {
                    job.request = q;
                }
                job.request.seeds.push_back(q.seed);
                job.request.cfg_scales.push_back(q.cfg_scale);
                job.cells.push_back(group[i]);
            }
            job.request.batch_size = static_cast<int>(job.cells.size());
            plan.jobs.push_back(std::move(job));
        }
    }
    std::stable_sort(plan.jobs.begin(), plan.jobs.end(), [](const GridJob& a, const GridJob& b) {
        return std::pair(a.cells.front().row, a.cells.front().col) < std::pair(b.cells.front().row, b.cells.front().col);
    });
    return plan;
}

}  // namespace sf::cli
