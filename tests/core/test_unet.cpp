// UNet (SD 1.x / 2.x / SDXL), attention, SDXL vector conditioning and prediction-type detection.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "core/bench/unet_bench.h"
#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/load.h"
#include "core/cuda_graph.h"
#include "core/error.h"
#include "core/models/attention.h"
#include "core/models/layers.h"
#include "core/models/prediction.h"
#include "core/models/sdxl_conditioning.h"
#include "core/models/unet.h"
#include "tests/support/conformance.h"
#include "tests/support/detinit.h"
#include "tests/support/temp_dir.h"

using sf::unet::UNetConfig;

namespace {

const std::string kPrefix = "model.diffusion_model.";

/// The UNet kwargs of a case: `config.unet` (ldm cases) or `config` itself (sgm cases).
const sf::json::Value* unet_kwargs(const sf::test::Case& c) {
    if (const auto* u = c.config.find("unet")) {
        return u;
    }
    return c.config.find("model_channels") ? &c.config : nullptr;
}

std::vector<int64_t> int_list(const sf::json::Value& v) {
    std::vector<int64_t> out;
    for (const auto& i : v.items()) {
        out.push_back(i.as_int());
    }
    return out;
}

/// ldm / sgm UNetModel kwargs → UNetConfig (attention_resolutions are downsampling factors 2^level).
UNetConfig config_from_kwargs(const sf::json::Value& k) {
    UNetConfig c;
    c.in_channels = k.get("in_channels", int64_t{4});
    c.out_channels = k.get("out_channels", int64_t{4});
    c.model_channels = k.at("model_channels").as_int();
    c.channel_mult = int_list(k.at("channel_mult"));
    c.num_res_blocks = k.at("num_res_blocks").as_int();
    const auto res = int_list(k.at("attention_resolutions"));
    const auto& td = k.at("transformer_depth");
    c.transformer_depth.clear();
    for (size_t level = 0; level < c.channel_mult.size(); ++level) {
        const int64_t depth = td.is_array() ? td.at(level).as_int() : td.as_int();
        const bool attn = std::find(res.begin(), res.end(), int64_t{1} << level) != res.end();
        c.transformer_depth.push_back(attn ? depth : 0);
    }
    c.transformer_depth_middle = td.is_array() ? td.items().back().as_int() : td.as_int();
    c.context_dim = k.at("context_dim").as_int();
    c.num_heads = k.get("num_heads", int64_t{-1});
    c.num_head_channels = k.get("num_head_channels", int64_t{-1});
    c.use_linear_projection = k.get("use_linear_in_transformer", false);
    c.adm_in_channels = k.get("adm_in_channels", int64_t{0});
    return c;
}

bool is_unet_case(const sf::test::Case& c) {
    return unet_kwargs(c) && c.has_input("x") && c.has_input("timesteps") && c.has_input("context");
}

/// Runs one UNet case on `model` (on `device`) and checks every output it has (t_emb, emb, mid, eps / v).
void run_unet_case(sf::test::AreaRun& run, const sf::test::Case& c, sf::unet::UNetModel& model,
                   const torch::Device& device) {
    torch::NoGradGuard no_grad;
    sf::unet::UNetTrace trace;
    auto y = c.has_input("y") ? c.input("y").to(device) : torch::Tensor();
    auto out = model->forward(c.input("x").to(device), c.input("timesteps").to(device), c.input("context").to(device),
                              y, &trace);
    for (const auto& name : c.outputs()) {
        if (name == "t_emb") {
            run.check(c, name, trace.t_emb);
        } else if (name == "emb") {
            run.check(c, name, trace.emb);
        } else if (name == "mid") {
            run.check(c, name, trace.mid);
        } else {
            run.check(c, name, out);
        }
    }
}

/// Conformance for the UNet cases of an area whose weights are (`detinit`) or are not (file) rebuilt, run on
/// `target` (the references' CPU float32 by default).
/// With `channels_last`, the weights are made channels-last as the pipeline makes them on the CPU in fp32 (where
/// oneDNN's channels-last kernels are trusted).
void unet_area(const std::string& area, bool detinit, const std::string& what, const sf::DeviceChoice& target = {},
               bool channels_last = false) {
    sf::test::AreaRun run(area, what + (channels_last ? ", channels-last" : ""));
    const bool moved = !target.device.is_cpu() || target.dtype != torch::kFloat32;
    if (moved) {
        run.set_target(target);
    }
    // Cases sharing weights share one model (the full-size ones take seconds to build and fill).
    std::map<std::string, sf::unet::UNetModel> models;
    for (const auto& c : sf::test::load_cases(area)) {
        if (!is_unet_case(c) || c.detinit != detinit) {
            continue;
        }
        try {
            const UNetConfig from_kwargs = config_from_kwargs(*unet_kwargs(c));
            std::string key =
                c.config.find("unet") ? sf::json::dump(*c.config.find("unet")) : sf::json::dump(c.config);
            for (const auto& w : c.weights) {
                key += "|" + w.string();
            }
            auto it = models.find(key);
            if (it == models.end()) {
                models.clear();  // one full-size model in memory at a time
                UNetConfig config = from_kwargs;
                if (!detinit) {
                    REQUIRE(c.weights.size() == 1);
                    auto ckpt = sf::Checkpoint::open(c.weights.front());
                    config = sf::unet::infer_unet_config(ckpt);
                    // Heads are not in the shapes: a tiny model's own config says how many.
                    config.num_heads = from_kwargs.num_heads;
                    config.num_head_channels = from_kwargs.num_head_channels;
                    CHECK(config == from_kwargs);
                    sf::unet::UNetModel model(config);
                    sf::load_module(*model, ckpt, kPrefix, sf::LoadOptions{target.device, target.dtype});
                    it = models.emplace(key, model).first;
                } else {
                    sf::unet::UNetModel model(config);
                    sf::test::detinit_module(*model, kPrefix);
                    model->to(target.device, target.dtype);
                    it = models.emplace(key, model).first;
                }
                it->second->eval();
                if (channels_last) {
                    sf::layers::use_channels_last(*it->second);
                }
            }
            run_unet_case(run, c, it->second, target.device);
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

/// Names of every tensor under `prefix` in a checkpoint, without the prefix.
std::set<std::string> keys_under(const sf::Checkpoint& ckpt, const std::string& prefix) {
    std::set<std::string> out;
    for (const auto& k : ckpt.keys()) {
        if (k.rfind(prefix, 0) == 0) {
            out.insert(k.substr(prefix.size()));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("UNet tiny SD1/SD2/SDXL checkpoints match the reference", "[conformance][unet]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    for (const bool channels_last : {false, true}) {
        unet_area("sd_unet_vae", false, "UNet, tiny SD1/SD2 checkpoints", {}, channels_last);
        if (sf::test::area_dir("sdxl")) {
            unet_area("sdxl", false, "UNet, tiny SDXL checkpoint", {}, channels_last);
        }
    }
}

TEST_CASE("UNet full-size SD1.5 and SD2.1 (detinit weights) match the reference",
          "[conformance][unet][slow]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    for (const bool channels_last : {false, true}) {
        unet_area("sd_unet_vae", true, "UNet, full-size SD1.5/SD2.1, detinit", {}, channels_last);
    }
}

TEST_CASE("UNet full-size SDXL base (detinit weights, ~11 GB) matches the reference",
          "[conformance][unet][slow][heavy]") {
    SF_REQUIRE_AREA("sdxl");
    unet_area("sdxl", true, "UNet, full-size SDXL base, detinit");
}

TEST_CASE("UNet on CUDA in fp32, fp16 and bf16: tiny checkpoints and full-size SD1.5 / SD2.1 (detinit)",
          "[conformance][gpu][unet]") {
    SF_REQUIRE_CUDA();
    SF_REQUIRE_AREA("sd_unet_vae");
    for (const auto& target : sf::test::cuda_targets()) {
        unet_area("sd_unet_vae", false, "UNet, tiny SD1/SD2 checkpoints", target);
        unet_area("sd_unet_vae", true, "UNet, full-size SD1.5/SD2.1, detinit", target);
    }
}

TEST_CASE("UNet on CUDA: a step replayed from a CUDA graph equals the eager step", "[gpu][unet]") {
    SF_REQUIRE_CUDA();
    if (!sf::GraphedCall::available()) {
        SKIP("this build has no CUDA graphs (libtorch 1.x or without CUDA)");
    }
    torch::NoGradGuard no_grad;
    const torch::Device cuda(torch::kCUDA, 0);
    auto c = UNetConfig::sd15();
    c.model_channels = 64;  // small and quick; every block kind of SD1.5 is still there
    c.context_dim = 96;
    sf::unet::UNetModel model(c);
    model->eval();
    model->to(cuda, torch::kFloat16);
    sf::GraphedCall graphed([&](const std::vector<torch::Tensor>& in) { return model->forward(in[0], in[1], in[2]); });
    auto opts = torch::TensorOptions().device(cuda).dtype(torch::kFloat16);
    for (int step = 0; step < 3; ++step) {  // new values each step through the same graph
        auto x = torch::randn({2, 4, 32, 32}, opts);
        auto t = torch::full({2}, 999.0 - 300 * step, torch::TensorOptions().device(cuda));
        auto ctx = torch::randn({2, 77, c.context_dim}, opts);
        auto eager = model->forward(x, t, ctx);
        auto replayed = graphed({x, t, ctx});
        CHECK(replayed.data_ptr() != eager.data_ptr());
        const double diff = (replayed.to(torch::kFloat32) - eager.to(torch::kFloat32)).abs().max().item<double>();
        std::cout << "graph replay vs eager, step " << step << ": max abs difference " << diff << '\n';
        CHECK(diff <= 1e-3);
    }
    CHECK(graphed.captures() == 1);
    graphed({torch::randn({1, 4, 32, 32}, opts), torch::full({1}, 10.0, torch::TensorOptions().device(cuda)),
             torch::randn({1, 77, c.context_dim}, opts)});
    CHECK(graphed.captures() == 2);  // a new batch shape captures its own graph
}

TEST_CASE("SDXL vector conditioning and context assembly match sgm", "[conformance][unet]") {
    SF_REQUIRE_AREA("sdxl");
    sf::test::AreaRun run("sdxl", "vector conditioning");
    for (const auto& c : sf::test::load_cases("sdxl")) {
        if (!c.has_input("bigg_pooled") || !c.has_output("vector")) {
            continue;
        }
        const int64_t outdim = c.config.get("outdim", int64_t{256});
        REQUIRE(outdim == 256);
        auto vector = sf::sdxl::base_vector(c.input("bigg_pooled"), c.input("original_size_hw"),
                                            c.input("crop_coords_top_left"), c.input("target_size_hw"));
        run.check(c, "vector", vector);
        if (c.has_output("crossattn")) {
            run.check(c, "crossattn",
                      sf::sdxl::base_context(c.input("clip_l_penultimate"), c.input("bigg_penultimate")));
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("SDXL refiner vector layout: pooled, sizes, crop, aesthetic score", "[unit][unet]") {
    auto pooled = torch::randn({2, 1280});
    auto y = sf::sdxl::refiner_vector(pooled, sf::sdxl::pairs(2, 1024, 768), sf::sdxl::pairs(2, 0, 0),
                                      torch::tensor({6.0f, 2.5f}));
    REQUIRE(y.sizes() == c10::IntArrayRef({2, 2560}));
    CHECK(torch::equal(y.slice(1, 0, 1280), pooled));
    auto score = sf::unet::timestep_embedding(torch::tensor({6.0f, 2.5f}), 256);
    CHECK(torch::equal(y.slice(1, 2304, 2560), score));
    auto h = sf::unet::timestep_embedding(torch::tensor({1024.0f}), 256);
    CHECK(torch::equal(y.slice(1, 1280, 1536)[1], h[0]));
    CHECK(sf::sdxl::base_vector(pooled, sf::sdxl::pairs(2, 1024, 1024), sf::sdxl::pairs(2, 0, 0),
                                sf::sdxl::pairs(2, 1024, 1024))
              .sizes() == c10::IntArrayRef({2, 2816}));
}

TEST_CASE("infer_unet_config reads SD1.5, SD2.1 and SDXL base from their manifests; keys match exactly",
          "[unit][unet]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    struct Family {
        std::string manifest;
        UNetConfig expected;
    };
    std::vector<Family> families = {{"sd_unet_vae/sd15_manifest.json", UNetConfig::sd15()},
                                    {"sd_unet_vae/sd21_manifest.json", UNetConfig::sd21()},
                                    {"sdxl/sdxl_manifest.json", UNetConfig::sdxl_base()}};
    for (const auto& f : families) {
        auto manifest = sf::test::conformance_root() / f.manifest;
        if (!std::filesystem::exists(manifest)) {
            WARN("not found: " << manifest);
            continue;
        }
        INFO(f.manifest);
        auto path = sf::test::header_only_from_manifest(manifest, sf::test::test_dir("unet"));
        auto ckpt = sf::Checkpoint::open(path, sf::Validation::header_only);
        auto config = sf::unet::infer_unet_config(ckpt);
        INFO(config.summary() << " vs " << f.expected.summary());
        CHECK(config == f.expected);

        // The module tree is the key list: no missing, no unexpected keys, same shapes.
        sf::unet::UNetModel model(config);
        auto file_keys = keys_under(ckpt, kPrefix);
        std::set<std::string> model_keys;
        for (const auto& p : model->named_parameters(true)) {
            model_keys.insert(p.key());
            auto key = kPrefix + p.key();
            if (ckpt.contains(key)) {
                CHECK(c10::IntArrayRef(ckpt.info(key).shape) == p.value().sizes());
            }
        }
        for (const auto& b : model->named_buffers(true)) {
            model_keys.insert(b.key());
        }
        std::vector<std::string> missing, unexpected;
        std::set_difference(file_keys.begin(), file_keys.end(), model_keys.begin(), model_keys.end(),
                            std::back_inserter(missing));
        std::set_difference(model_keys.begin(), model_keys.end(), file_keys.begin(), file_keys.end(),
                            std::back_inserter(unexpected));
        CHECK(missing.empty());
        CHECK(unexpected.empty());
        CHECK(model_keys.size() == file_keys.size());
    }
}

TEST_CASE("infer_unet_config round-trips small configs of every preset's shape, refiner included",
          "[unit][unet]") {
    auto shrink = [](UNetConfig c) {
        c.model_channels = 64;  // one 64-wide head at level 0 for the linear (SD2/SDXL) shapes
        c.context_dim = 16;
        for (auto& d : c.transformer_depth) {
            d = std::min<int64_t>(d, 2);
        }
        c.transformer_depth_middle = std::min<int64_t>(c.transformer_depth_middle, 3);
        if (c.adm_in_channels) {
            c.adm_in_channels = 24;
        }
        c.num_head_channels = c.use_linear_projection ? 64 : -1;
        return c;
    };
    for (const auto& preset : {UNetConfig::sd15(), UNetConfig::sd21(), UNetConfig::sdxl_base(),
                               UNetConfig::sdxl_refiner(), UNetConfig{.in_channels = 9}}) {
        auto config = shrink(preset);
        INFO(config.summary());
        sf::unet::UNetModel model(config);
        std::map<std::string, torch::Tensor> tensors;
        for (const auto& p : model->named_parameters(true)) {
            tensors[kPrefix + p.key()] = p.value().detach().to(torch::kFloat16);
        }
        tensors["alphas_cumprod"] = torch::ones({1000});
        auto path = sf::test::test_dir("unet") / "roundtrip_unet.safetensors";
        sf::write_safetensors(path, tensors);
        auto ckpt = sf::Checkpoint::open(path);
        auto inferred = sf::unet::infer_unet_config(ckpt);
        INFO(inferred.summary());
        CHECK(inferred == config);
        sf::unet::UNetModel loaded(inferred);
        CHECK_NOTHROW(sf::load_module(*loaded, ckpt, kPrefix));
    }
}

TEST_CASE("UNet presets: refiner shapes and head rules", "[unit][unet]") {
    auto refiner = UNetConfig::sdxl_refiner();
    CHECK(refiner.heads_for(384 * 2) == std::pair<int64_t, int64_t>{12, 64});
    CHECK(UNetConfig::sd15().heads_for(640) == std::pair<int64_t, int64_t>{8, 80});
    CHECK(UNetConfig::sd21().heads_for(1280) == std::pair<int64_t, int64_t>{20, 64});
    auto ckpt = sf::Checkpoint();
    CHECK_THROWS_AS(sf::unet::infer_unet_config(ckpt), sf::Error);
}

TEST_CASE("timestep embedding: cos first, float32, fractional timesteps", "[unit][unet]") {
    auto e = sf::unet::timestep_embedding(torch::tensor({0.0f, 2.5f}), 8);
    REQUIRE(e.sizes() == c10::IntArrayRef({2, 8}));
    CHECK(torch::allclose(e[0], torch::tensor({1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f})));
    CHECK(std::abs(e[1][0].item<float>() - std::cos(2.5f)) < 1e-6);
    CHECK(std::abs(e[1][4].item<float>() - std::sin(2.5f)) < 1e-6);
    auto i = sf::unet::timestep_embedding(torch::tensor({999}, torch::kInt64), 8);
    CHECK(i.scalar_type() == torch::kFloat32);
}

TEST_CASE("sliced attention equals one-shot softmax(QK^T)V", "[unit][unet]") {
    torch::manual_seed(3);
    auto q = torch::randn({2, 3, 50, 8});
    auto k = torch::randn({2, 3, 20, 8});
    auto v = torch::randn({2, 3, 20, 8});
    auto ref = torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(8.0), -1).matmul(v);
    CHECK(torch::allclose(sf::sliced_attention(q, k, v), ref, 1e-5, 1e-6));
    CHECK(torch::allclose(sf::sliced_attention(q, k, v, 2 * 3 * 20 * 7), ref, 1e-5, 1e-6));  // 7-row slices
    CHECK(torch::allclose(sf::scaled_dot_product_attention(q, k, v), ref, 1e-5, 1e-6));
}

TEST_CASE("attention at SD1.5 / SD2.1 full-size shapes equals float64", "[unit][unet]") {
    // Heads x tokens x keys x head width of the full models at a 16x16 latent; see the onednn test in
    // test_layers.cpp for why the large shapes need a check of their own.
    torch::manual_seed(5);
    const sf::test::Tolerance tol{.max_abs = std::numeric_limits<double>::infinity(), .rel_l2 = 1e-5, .raw = {}};
    const std::vector<std::array<int64_t, 4>> shapes{{8, 256, 256, 40}, {8, 256, 77, 40}, {8, 64, 77, 80},
                                                     {5, 256, 256, 64}, {20, 4, 77, 64}};
    for (const auto& [h, t, s, d] : shapes) {
        CAPTURE(h, t, s, d);
        auto heads = [&](int64_t len) { return torch::randn({1, len, h * d}).view({1, len, h, d}).transpose(1, 2); };
        auto q = heads(t), k = heads(s), v = heads(s);
        auto q64 = q.to(torch::kFloat64), k64 = k.to(torch::kFloat64), v64 = v.to(torch::kFloat64);
        auto ref = torch::softmax(torch::matmul(q64, k64.transpose(-1, -2)) / std::sqrt(static_cast<double>(d)), -1)
                       .matmul(v64);
        for (const auto& [name, ours] : {std::pair{"sliced", sf::sliced_attention(q, k, v)},
                                         std::pair{"sdpa", sf::scaled_dot_product_attention(q, k, v)}}) {
            const auto r = sf::test::compare(ours, ref, tol, name);
            INFO(r.message);
            CHECK(r.pass);
        }
    }
}

TEST_CASE("prediction type from sidecar configs", "[unit][unet]") {
    using sf::unet::Prediction;
    CHECK(sf::unet::parse_prediction_config("model:\n  params:\n    parameterization: \"v\"\n") ==
          Prediction::v);
    CHECK(sf::unet::parse_prediction_config("model:\n  params:\n    parameterization: eps\n") ==
          Prediction::eps);
    CHECK(sf::unet::parse_prediction_config(R"({"prediction_type": "v_prediction"})") == Prediction::v);
    CHECK(sf::unet::parse_prediction_config(R"({"prediction_type":"epsilon"})") == Prediction::eps);
    CHECK_FALSE(sf::unet::parse_prediction_config("model:\n  target: ldm\n").has_value());

    auto dir = sf::test::test_dir("unet") / "sidecar";
    std::filesystem::create_directories(dir);
    auto model = dir / "v2-1_768.safetensors";
    CHECK_FALSE(sf::unet::prediction_from_sidecar(model).has_value());
    std::ofstream(dir / "v2-1_768.yaml") << "model:\n  params:\n    parameterization: \"v\"\n";
    CHECK(sf::unet::prediction_from_sidecar(model) == Prediction::v);
    std::filesystem::create_directories(dir / "folder" / "scheduler");
    std::ofstream(dir / "folder" / "scheduler" / "scheduler_config.json")
        << R"({"prediction_type": "epsilon"})";
    CHECK(sf::unet::prediction_from_sidecar(dir / "folder") == Prediction::eps);
}

TEST_CASE("prediction probe runs on an SD2-shaped UNet and falls back to eps for SD1", "[unit][unet]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    auto path = sf::test::conformance_root() / "sd_unet_vae" / "sd2_tiny.safetensors";
    if (!std::filesystem::exists(path)) {
        SKIP("no sd2_tiny.safetensors");
    }
    auto ckpt = sf::Checkpoint::open(path);
    auto config = sf::unet::infer_unet_config(ckpt);
    config.num_head_channels = 8;
    sf::unet::UNetModel model(config);
    sf::load_module(*model, ckpt, kPrefix);
    auto p = sf::unet::detect_prediction(sf::test::test_dir("unet") / "no_sidecar.safetensors", model);
    CHECK((p == sf::unet::Prediction::v || p == sf::unet::Prediction::eps));
    sf::unet::UNetModel sd1(UNetConfig{.model_channels = 32, .context_dim = 16});
    CHECK(sf::unet::detect_prediction(sf::test::test_dir("unet") / "no_sidecar.safetensors", sd1) ==
          sf::unet::Prediction::eps);
}

TEST_CASE("UNet bench: full-size SD1.5, one CFG step at 256² (hidden; run with [.unet_bench])",
          "[.unet_bench]") {
    sf::bench::UNetBenchOptions options;
    options.image_sizes = {256};
    if (const char* sizes = std::getenv("SFUMATO_BENCH_SIZES"); sizes && std::string(sizes) == "256,512") {
        options.image_sizes = {256, 512};
    }
    options.channels_last = std::getenv("SFUMATO_BENCH_CHANNELS_LAST") != nullptr;
    options.repeats = 2;
    options.progress = [](const std::string& line) { std::cout << line << std::endl; };
    auto result = sf::bench::bench_unet(options);
    std::cout << result.summary();
    CHECK(result.steps.size() == options.image_sizes.size());
}
