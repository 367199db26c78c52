// Whole text-to-image and image-to-image runs of the tiny SD1 checkpoint against the reference loops
// (../shared/conformance/pipeline): tokenizer → text encoder → sampler with CFG → VAE, through sf::Pipeline.
#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/image.h"
#include "core/pipeline.h"
#include "core/worker.h"
#include "tests/support/conformance.h"
#include "tests/support/temp_dir.h"

namespace {

using sf::test::Case;
using sf::test::Tolerance;

/// The sampler name a user would type for the reference loop the case names.
std::string sampler_of(const sf::json::Value& config) {
    std::string s = config.get("sampler", "");
    if (s == "DDIMSampler") {
        return "DDIM";
    }
    if (s == "PLMSSampler") {
        return "PLMS";
    }
    if (s.rfind("sample_", 0) == 0) {
        s = s.substr(7);
    }
    return s;
}

std::string schedule_of(const sf::json::Value& config) {
    const auto* s = config.find("schedule");
    if (s && s->is_string() && s->as_string() == "karras") {
        return "Karras";
    }
    if (s && s->is_string() && s->as_string() == "exponential") {
        return "Exponential";
    }
    return "Automatic";
}

Tolerance tolerance_for(const Case& c, const std::string& output) {
    Tolerance t = c.tolerance;
    auto per = c.meta_json("tolerance_per_output");
    if (const auto* o = per.find(output)) {
        t.max_abs = o->get("max_abs", t.max_abs);
        t.rel_l2 = o->get("rel_l2", t.rel_l2);
    }
    return t;
}

/// The bar for a GPU's decoded image in half precision (against the float32 reference image).
constexpr double kReducedPrecisionPsnrDb = 35.0;

/// The CLIP vocabulary where a user would put it (XDG data dir), since a single file carries none.
void install_vocabulary() {
    auto text = sf::test::area_dir("text");
    if (!text) {
        return;
    }
    auto home = sf::test::test_dir("xdg");
    auto dir = home / "sfumato" / "tokenizer";
    std::filesystem::create_directories(dir);
    for (const char* f : {"vocab.json", "merges.txt"}) {
        std::filesystem::copy_file(*text / "tokenizer" / f, dir / f, std::filesystem::copy_options::skip_existing);
    }
    ::setenv("XDG_DATA_HOME", home.c_str(), 1);
}

/// Every whole-run case of the pipeline area on `target` (the references' CPU float32 by default). In float16 /
/// bfloat16 the decoded image is held to a PSNR of kReducedPrecisionPsnrDb against the reference image
/// instead of the case's tolerances, and the pixels are not compared one by one.
void pipeline_area(const sf::DeviceChoice& target = {}) {
    install_vocabulary();
    sf::test::AreaRun run("pipeline", "txt2img and img2img runs");
    const bool reduced = target.dtype != torch::kFloat32;
    if (!target.device.is_cpu() || reduced) {
        run.set_target(target);
    }
    std::map<std::filesystem::path, std::shared_ptr<sf::Pipeline>> loaded;
    for (const auto& c : sf::test::load_cases("pipeline")) {
        const auto& cfg = c.config;
        if (c.weights.size() != 1 || !cfg.find("seeds")) {
            run.skip(c, "not a whole-run case");
            continue;
        }
        try {
            auto& pipeline = loaded[c.weights[0]];
            if (!pipeline) {
                sf::PipelineOptions options;
                if (const auto* te = cfg.find("text_encoder")) {
                    options.text_heads = te->get("heads", int64_t{0});
                }
                pipeline = sf::Pipeline::load(c.weights[0], target, options);
            }
            sf::GenerateRequest r;
            r.prompt = cfg.get("prompt", "");
            r.negative_prompt = cfg.get("negative_prompt", "");
            r.width = cfg.get("width", 64);
            r.height = cfg.get("height", 64);
            r.steps = cfg.get("steps", 20);
            r.cfg_scale = cfg.get("cfg_scale", 7.5);
            r.sampler = sampler_of(cfg);
            r.schedule = schedule_of(cfg);
            for (const auto& s : cfg.at("seeds").items()) {
                r.seeds.push_back(s.as_int());
            }
            r.seed = r.seeds.at(0);
            r.batch_size = static_cast<int>(r.seeds.size());
            if (c.has_input("image_u8")) {
                r.init_image = c.input("image_u8").permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0).mul(2).sub(1);
                r.strength = cfg.get("strength", 0.75);
            }

            // Text conditioning through the tokenizer and the emphasis parser.
            auto cond = pipeline->encode_prompt(r.prompt, 1);
            run.check(c, "cond", cond.expand({r.batch_size, -1, -1}), c.output("cond"), tolerance_for(c, "cond"));
            if (c.has_output("uncond")) {
                auto uncond = pipeline->encode_prompt(r.negative_prompt, 1);
                run.check(c, "uncond", uncond.expand({r.batch_size, -1, -1}), c.output("uncond"),
                          tolerance_for(c, "uncond"));
            }

            std::vector<torch::Tensor> denoised;
            sf::JobContext ctx{1, {}, {}};
            ctx.progress = [&](int, int, const torch::Tensor& d) { denoised.push_back(d); };
            auto out = pipeline->run_tensors(r, ctx);
            run.check(c, "latent", out.latent, c.output("latent"), tolerance_for(c, "latent"));
            run.check(c, "image", out.image, c.output("image"), tolerance_for(c, "image"));
            const char* steps_name = c.has_output("denoised_steps") ? "denoised_steps" : "pred_x0_steps";
            if (c.has_output(steps_name) && !denoised.empty()) {
                run.check(c, steps_name, torch::stack(denoised), c.output(steps_name), tolerance_for(c, steps_name));
            }
            if (reduced) {
                const double db = sf::psnr(out.image.clamp(-1, 1), c.output("image").clamp(-1, 1), 2.0);
                std::cout << "  pipeline/" << c.name << ": decoded image " << db << " dB from the reference ["
                          << target.device.str() << " " << sf::dtype_name(target.dtype) << "]\n";
                CHECK(db >= kReducedPrecisionPsnrDb);
                continue;
            }
            // Saved pixels: truncation as the references do; a 1-ulp difference may move a value by one.
            auto u8 = ((out.image + 1) / 2).clamp(0, 1).mul(255).to(torch::kUInt8).permute({0, 2, 3, 1});
            Tolerance one{1.0, 1.0, {}};
            run.check(c, "image_u8", u8.to(torch::kFloat32), c.output("image_u8").to(torch::kFloat32), one);
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

}  // namespace

TEST_CASE("pipeline: whole runs of the tiny SD1 checkpoint match the reference loops", "[conformance][pipeline]") {
    SF_REQUIRE_AREA("pipeline");
    pipeline_area();
}

TEST_CASE("pipeline on CUDA in fp32, fp16 and bf16: whole runs of the tiny SD1 checkpoint", "[conformance][gpu][pipeline]") {
    SF_REQUIRE_CUDA();
    SF_REQUIRE_AREA("pipeline");
    for (const auto& target : sf::test::cuda_targets()) {
        pipeline_area(target);
    }
}

TEST_CASE("pipeline: a run is deterministic and cancels within a step", "[conformance][pipeline]") {
    SF_REQUIRE_AREA("pipeline");
    install_vocabulary();
    auto path = sf::test::conformance_root() / "pipeline" / "sd1_tiny_complete.safetensors";
    auto pipeline = sf::Pipeline::load(path, {}, sf::PipelineOptions{.text_heads = 4});
    sf::GenerateRequest r;
    r.prompt = "a red circle";
    r.width = r.height = 64;
    r.steps = 6;
    r.seed = 5;
    r.sampler = "Euler a";
    sf::JobContext ctx{1, {}, {}};
    auto a = pipeline->run(r, ctx);
    auto b = pipeline->run(r, ctx);
    REQUIRE(a.size() == 1);
    CHECK(a[0].rgb == b[0].rgb);

    std::stop_source stop;
    sf::JobContext cancelling{2, stop.get_token(), {}};
    int steps_seen = 0;
    cancelling.progress = [&](int step, int, const torch::Tensor&) {
        steps_seen = step;
        if (step == 2) {
            stop.request_stop();
        }
    };
    CHECK_THROWS_AS(pipeline->run(r, cancelling), sf::Cancelled);
    CHECK(steps_seen == 2);
}
