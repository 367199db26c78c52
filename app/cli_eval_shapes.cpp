// sfumato-cli eval-shapes: how well a model draws what Sfumato Shapes captions ask for.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "app/cli_plan.h"
#include "app/default_model.h"
#include "core/error.h"
#include "core/pipeline.h"
#include "train/shapes_eval.h"

namespace sf::cli {
namespace {

/// A comma-separated list of guidance scales or strengths, checked as `grid` checks its axes of that kind.
std::vector<double> numbers(AxisKind kind, const std::string& csv) {
    std::vector<double> out;
    for (const auto& v : parse_axis(kind, csv).values) {
        out.push_back(std::stod(v));
    }
    return out;
}

}  // namespace

int cmd_eval_shapes(const Args& args) {
    if (args.has("help")) {
        std::cout << "usage: sfumato-cli eval-shapes [options]\n\n"
                     "Generates pictures for Sfumato Shapes captions, reads them back with the OpenCV detector and\n"
                     "prints per-attribute and overall adherence per guidance scale.\n\n"
                     "  --model PATH        model to evaluate (default: the embedded model)\n"
                     "  --captions FILE     one caption per line, '#' comments (default: --count random captions\n"
                     "                      naming colour + shape + position), e.g. tests/data/shapes_captions.txt\n"
                     "  --count N           random captions (default 48)\n"
                     "  --cfgs 1,5,7        guidance scales (default 1,5)\n"
                     "  --steps N           sampling steps (default 20)   --sampler NAME (default Euler)\n"
                     "  --seed N            caption i uses seed N+i (default 1000)\n"
                     "  --img2img           also: strength 0.3 keeps a reference's shape and position, 0.9 follows\n"
                     "                      a caption naming another scene (count/4 pairs, at least 4); then the\n"
                     "                      same references with no caption: what the noise leaves of them\n"
                     "  --strengths 0.3,0.9 strengths of that check (default 0.3,0.9)\n"
                     "  --img2img-cfg X     its guidance scale (default 5)\n"
                     "  --autoencoder       also: the VAE round trip alone, read back per attribute (the ceiling\n"
                     "                      the autoencoder puts on adherence)\n";
        return 0;
    }
    args.allow_only({"model", "count", "cfgs", "steps", "sampler", "seed", "captions", "img2img", "strengths",
                     "img2img-cfg", "autoencoder", "verbose"});
    const std::filesystem::path model = args.get("model", "").empty() ? find_default_model()
                                                                      : std::filesystem::path(args.get("model", ""));
    train::EvalOptions o;
    o.count = args.get_int("count", o.count);
    o.steps = args.get_int("steps", o.steps);
    o.sampler = args.get("sampler", o.sampler);
    o.seed = args.get_int("seed", static_cast<int>(o.seed));
    if (auto cfgs = args.get("cfgs")) {
        o.cfg_scales = numbers(AxisKind::cfg, *cfgs);
    }
    const auto strengths = numbers(AxisKind::strength, args.get("strengths", "0.3,0.9"));
    const double img2img_cfg = args.get_double("img2img-cfg", 5.0);
    if (auto file = args.get("captions")) {
        std::ifstream in(*file);
        if (!in) {
            throw UsageError("cannot read captions file '" + *file + "'");
        }
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line[0] != '#') {
                o.captions.push_back(line);
            }
        }
    }
    o.progress = [](int done, int total) { std::cerr << "\r" << done << "/" << total << std::flush; };
    auto pipeline = Pipeline::load(model, {});
    std::cout << "model: " << model.string() << " (" << pipeline->family_name() << ")\n";
    if (args.has("autoencoder")) {
        auto a = train::evaluate_autoencoder(*pipeline, std::max(64, o.count), 4242);
        std::printf("autoencoder round trip of %d rendered scenes, read back: shape %.3f, color %.3f, position %.3f, "
                    "size %.3f, background %.3f, all %.3f\n",
                    a.images, a.shape, a.color, a.position, a.size, a.background, a.overall);
    }
    auto rows = train::evaluate_shapes(*pipeline, o);
    std::cerr << '\n';
    std::printf("%-6s %-7s %-7s %-7s %-9s %-7s %-11s %-7s\n", "cfg", "images", "shape", "color", "position", "size",
                "background", "overall");
    for (const auto& r : rows) {
        std::printf("%-6.1f %-7d %-7.3f %-7.3f %-9.3f %-7.3f %-11.3f %-7.3f\n", r.cfg, r.images, r.shape, r.color,
                    r.position, r.size, r.background, r.overall);
    }
    if (args.has("img2img")) {
        const int pairs = std::max(4, o.count / 4);
        auto checks = train::evaluate_img2img(*pipeline, strengths, pairs, img2img_cfg, o.steps, o.seed);
        for (const auto& c : checks) {
            std::printf("img2img strength %.2f, guidance %.1f: %d images, kept reference shape+position %.3f "
                        "(position %.3f, shape %.3f; large references %.3f of %d), followed new caption %.3f\n",
                        c.strength, img2img_cfg, c.images, c.kept, c.kept_position, c.kept_shape, c.kept_large,
                        c.large_images, c.followed);
        }
        // The empty prompt pulls nowhere, so guidance changes nothing: 1 skips the second UNet pass.
        auto bare = train::evaluate_img2img(*pipeline, strengths, pairs, 1.0, o.steps, o.seed, /*captioned=*/false);
        for (const auto& c : bare) {
            std::printf("img2img strength %.2f, no caption: %d images, kept reference shape+position %.3f "
                        "(position %.3f, shape %.3f; large references %.3f of %d)\n",
                        c.strength, c.images, c.kept, c.kept_position, c.kept_shape, c.kept_large, c.large_images);
        }
    }
    return 0;
}

}  // namespace sf::cli
