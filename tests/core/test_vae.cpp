#include <catch2/catch_test_macros.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/load.h"
#include "core/checkpoint/safetensors.h"
#include "core/error.h"
#include "core/models/latent_preview.h"
#include "core/models/norm_groups.h"
#include "core/models/vae.h"
#include "tests/support/conformance.h"
#include "tests/support/detinit.h"
#include "tests/support/temp_dir.h"

using sf::vae::AutoencoderKL;
using sf::vae::VAEConfig;

namespace {

const std::string kPrefix = "first_stage_model.";

/// The case's `config.vae` (ldm kwargs) as a VAEConfig.
VAEConfig config_from_case(const sf::json::Value& config) {
    const auto& vae = config.at("vae");
    const auto& dd = vae.at("ddconfig");
    VAEConfig c;
    c.in_channels = dd.at("in_channels").as_int();
    c.out_ch = dd.at("out_ch").as_int();
    c.ch = dd.at("ch").as_int();
    c.ch_mult.clear();
    for (const auto& m : dd.at("ch_mult").items()) {
        c.ch_mult.push_back(m.as_int());
    }
    c.num_res_blocks = dd.at("num_res_blocks").as_int();
    c.z_channels = dd.at("z_channels").as_int();
    c.double_z = dd.at("double_z").as_bool();
    c.embed_dim = vae.at("embed_dim").as_int();
    return c;
}

bool same_config(const VAEConfig& a, const VAEConfig& b) {
    return a.in_channels == b.in_channels && a.out_ch == b.out_ch && a.ch == b.ch && a.ch_mult == b.ch_mult &&
           a.num_res_blocks == b.num_res_blocks && a.z_channels == b.z_channels && a.embed_dim == b.embed_dim &&
           a.double_z == b.double_z && a.use_quant_conv == b.use_quant_conv &&
           a.linear_attention == b.linear_attention;
}

/// The tiny SD1 VAE from the pipeline area's complete checkpoint.
std::optional<std::filesystem::path> tiny_checkpoint() {
    auto p = sf::test::conformance_root() / "pipeline" / "sd1_tiny_complete.safetensors";
    if (!std::filesystem::exists(p)) {
        return std::nullopt;
    }
    return p;
}

AutoencoderKL load_vae(const sf::Checkpoint& ckpt, const std::string& prefix = kPrefix,
                       const sf::DeviceChoice& target = {}) {
    AutoencoderKL vae(sf::vae::infer_vae_config(ckpt, prefix));
    sf::load_module(*vae, ckpt, prefix, sf::LoadOptions{target.device, target.dtype});
    vae->eval();
    return vae;
}

double rel_l2(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kDouble) - b.to(torch::kDouble)).norm() / b.to(torch::kDouble).norm()).item<double>();
}

double max_abs(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

/// Every VAE encode/decode case of sd_unet_vae, run on `target` (the references' CPU float32 by default).
void vae_area(const sf::DeviceChoice& target = {}) {
    c10::InferenceMode inference;
    sf::test::AreaRun run("sd_unet_vae", "vae");
    if (!target.device.is_cpu() || target.dtype != torch::kFloat32) {
        run.set_target(target);
    }
    const auto on_target = [&](const torch::Tensor& t) { return t.to(target.device, target.dtype); };
    std::map<std::string, AutoencoderKL> models;  // by weights file or "detinit"
    for (const auto& c : sf::test::load_cases("sd_unet_vae")) {
        const bool decode = c.has_input("latent") && c.has_output("image");
        const bool encode = c.has_input("image") && (c.has_output("moments") || c.has_output("mean"));
        if (c.config.is_null() || !c.config.find("vae") || (!decode && !encode)) {
            continue;  // UNet cases
        }
        try {
            const auto expected = config_from_case(c.config);
            const std::string key = c.detinit ? "detinit:" + std::to_string(expected.ch) : c.weights.at(0).string();
            if (!models.count(key)) {
                const auto start = std::chrono::steady_clock::now();
                if (c.detinit) {
                    AutoencoderKL vae(expected);
                    sf::test::detinit_module(*vae, kPrefix);
                    vae->eval();
                    vae->to(target.device, target.dtype);
                    models.emplace(key, vae);
                } else {
                    auto ckpt = sf::Checkpoint::open(c.weights.at(0));
                    CHECK(same_config(sf::vae::infer_vae_config(ckpt), expected));
                    models.emplace(key, load_vae(ckpt, kPrefix, target));
                }
                std::cout << "vae " << key << ": built in "
                          << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                          << " s\n";
            }
            auto& vae = models.at(key);
            if (decode) {
                run.check(c, "image", vae->decode(on_target(c.input("latent"))));
            }
            if (encode) {
                auto posterior = vae->encode(on_target(c.input("image")));
                if (c.has_output("moments")) {
                    run.check(c, "moments", posterior.moments);
                }
                if (c.has_output("mean")) {
                    run.check(c, "mean", posterior.mean);
                }
                if (c.has_output("logvar")) {
                    run.check(c, "logvar", posterior.logvar);
                }
            }
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

}  // namespace

TEST_CASE("vae conformance: every VAE encode/decode case of sd_unet_vae", "[conformance][vae]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    vae_area();
}

TEST_CASE("vae on CUDA in fp32 and bf16 (the pipeline's VAE dtypes): every sd_unet_vae case", "[conformance][gpu][vae]") {
    SF_REQUIRE_CUDA();
    SF_REQUIRE_AREA("sd_unet_vae");
    for (const auto& target : sf::test::cuda_targets()) {
        if (target.dtype != torch::kFloat16) {  // the SD VAE overflows in float16: the pipeline never runs it so
            vae_area(target);
        }
    }
}

TEST_CASE("vae config and module keys match the SD1.5 manifest (header-only file)", "[unit][vae]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    const auto manifest = sf::test::area_dir("sd_unet_vae").value() / "sd15_manifest.json";
    const auto path = sf::test::header_only_from_manifest(manifest, sf::test::test_dir("vae"));
    auto ckpt = sf::Checkpoint::open(path, sf::Validation::header_only);

    const auto config = sf::vae::infer_vae_config(ckpt);
    CHECK(same_config(config, VAEConfig::sd()));
    CHECK(config.downscale() == 8);

    std::map<std::string, std::vector<int64_t>> file_keys;
    for (const auto& key : ckpt.keys()) {
        if (key.rfind(kPrefix, 0) == 0 && !sf::ignore_known_extras(key)) {
            file_keys[key] = ckpt.info(key).shape;
        }
    }
    AutoencoderKL vae(config);
    std::map<std::string, std::vector<int64_t>> module_keys;
    for (const auto& p : vae->named_parameters()) {
        module_keys[kPrefix + p.key()] = p.value().sizes().vec();
    }
    for (const auto& b : vae->named_buffers()) {
        module_keys[kPrefix + b.key()] = b.value().sizes().vec();
    }
    CHECK(file_keys.size() == 248);
    CHECK(module_keys.size() == file_keys.size());
    for (const auto& [key, shape] : file_keys) {
        INFO(key);
        REQUIRE(module_keys.count(key));
        CHECK(module_keys.at(key) == shape);
    }
    int64_t params = 0;
    for (const auto& p : vae->parameters()) {
        params += p.numel();
    }
    CHECK(params == 83653863);
}

TEST_CASE("vae linear attention layout loads [C, C] weights without reshaping", "[unit][vae]") {
    auto tiny = tiny_checkpoint();
    if (!tiny) {
        SKIP("pipeline/sd1_tiny_complete.safetensors not found");
    }
    c10::InferenceMode inference;
    auto ckpt = sf::Checkpoint::open(*tiny);
    auto conv_vae = load_vae(ckpt);
    // The same weights as a diffusers conversion stores them: attention kernels [C, C].
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& key : ckpt.keys()) {
        if (key.rfind(kPrefix, 0) != 0) {
            continue;
        }
        auto t = ckpt.get(key);
        if (key.find(".attn_1.") != std::string::npos && t.dim() == 4) {
            t = t.flatten(1);
        }
        tensors[key.substr(kPrefix.size())] = t;
    }
    const auto path = sf::test::test_dir("vae") / "vae_linear_attention.safetensors";
    sf::write_safetensors(path, tensors);
    auto linear_ckpt = sf::Checkpoint::open(path);
    const auto config = sf::vae::infer_vae_config(linear_ckpt, "");
    CHECK(config.linear_attention);
    auto linear_vae = load_vae(linear_ckpt, "");
    auto latent = torch::randn({1, 4, 8, 8}, at::make_generator<at::CPUGeneratorImpl>(7));
    CHECK(torch::equal(conv_vae->decode(latent), linear_vae->decode(latent)));
    auto image = torch::rand({1, 3, 32, 32}, at::make_generator<at::CPUGeneratorImpl>(8)) * 2 - 1;
    CHECK(torch::equal(conv_vae->encode(image).moments, linear_vae->encode(image).moments));
}

TEST_CASE("vae tiled decode and encode agree with the untiled result", "[unit][vae]") {
    auto tiny = tiny_checkpoint();
    if (!tiny) {
        SKIP("pipeline/sd1_tiny_complete.safetensors not found");
    }
    c10::InferenceMode inference;
    auto vae = load_vae(sf::Checkpoint::open(*tiny));

    // 32x32 latent, 16-px tiles: 2 x 2 without overlap, 3 x 3 with 8 (the last ones flush with the edge).
    // Per-tile GroupNorm statistics and tile-local mid attention make tiling approximate (more so with random
    // weights than with trained ones); feathering must beat hard seams, a global mid block must help further.
    auto latent = torch::randn({1, 4, 32, 32}, at::make_generator<at::CPUGeneratorImpl>(1));
    auto full = vae->decode(latent);
    std::map<std::string, double> decode_rel;
    for (auto [name, tiles] : {std::pair{"overlap 0", sf::vae::TileOptions{16, 0, false}},
                               std::pair{"overlap 8", sf::vae::TileOptions{16, 8, false}},
                               std::pair{"overlap 8, global mid", sf::vae::TileOptions{16, 8, true}}}) {
        auto tiled = vae->decode_tiled(latent, tiles);
        REQUIRE(tiled.sizes() == full.sizes());
        decode_rel[name] = rel_l2(tiled, full);
        std::cout << "vae decode_tiled (32x32 latent, tile 16, " << name << ") vs decode: rel_l2 "
                  << decode_rel[name] << ", max_abs " << max_abs(tiled, full) << " (output std "
                  << full.std().item<double>() << ")\n";
    }
    CHECK(decode_rel["overlap 8"] < decode_rel["overlap 0"]);
    CHECK(decode_rel["overlap 8, global mid"] < decode_rel["overlap 8"]);
    CHECK(decode_rel["overlap 8"] < 0.3);  // measured 0.249 (global mid: 0.147; hard seams: 0.517)

    // One tile covering everything is exactly decode().
    CHECK(torch::equal(vae->decode_tiled(latent, {.tile = 64, .overlap = 16}), full));

    auto image = torch::rand({1, 3, 256, 256}, at::make_generator<at::CPUGeneratorImpl>(2)) * 2 - 1;
    image = torch::nn::functional::avg_pool2d(image, torch::nn::functional::AvgPool2dFuncOptions(9).stride(1).padding(4));
    auto moments = vae->encode(image).moments;
    std::map<int64_t, double> encode_rel;
    for (int64_t overlap : {0, 32}) {
        auto moments_tiled = vae->encode_tiled(image, {.tile = 128, .overlap = overlap}).moments;
        REQUIRE(moments_tiled.sizes() == moments.sizes());
        encode_rel[overlap] = rel_l2(moments_tiled, moments);
        std::cout << "vae encode_tiled (256x256 image, tile 128, overlap " << overlap << ") vs encode: rel_l2 "
                  << encode_rel[overlap] << ", max_abs " << max_abs(moments_tiled, moments) << "\n";
    }
    CHECK(encode_rel[32] < encode_rel[0]);
    CHECK(encode_rel[32] < 0.3);  // measured 0.194 (hard seams: 0.406)
}

TEST_CASE("vae tiling blends a constant function exactly", "[unit][vae]") {
    // An identity "decoder" (scale 1) and an x8 nearest upsampler must come back unchanged through the blend.
    auto x = torch::randn({2, 3, 37, 53});
    auto same = sf::vae::run_tiled(x, 16, 5, 1.0, [](const torch::Tensor& t) { return t.clone(); });
    CHECK(max_abs(same, x) < 1e-5);
    auto up = [](const torch::Tensor& t) { return t.repeat_interleave(8, 2).repeat_interleave(8, 3); };
    auto big = sf::vae::run_tiled(x, 16, 4, 8.0, up);
    CHECK(max_abs(big, up(x)) < 1e-5);
}

TEST_CASE("vae norm groups: 32 by default (SD), settable for narrow models, checked", "[unit][vae]") {
    torch::manual_seed(3);
    AutoencoderKL vae(VAEConfig{.ch = 32, .ch_mult = {1, 2}, .num_res_blocks = 1});
    auto groups = [&] {
        std::set<int64_t> g;
        for (const auto& m : vae->modules()) {
            if (auto* n = m->as<sf::layers::GroupNormImpl>()) {
                g.insert(n->options.num_groups());
            }
        }
        return g;
    };
    CHECK(groups() == std::set<int64_t>{32});
    torch::NoGradGuard no_grad;
    auto z = torch::randn({1, 4, 4, 4});
    auto before = vae->decode(z);
    sf::set_norm_groups(*vae, 8, "test VAE");
    CHECK(groups() == std::set<int64_t>{8});
    CHECK(max_abs(vae->decode(z), before) > 1e-3);  // the forward pass uses the new grouping
    try {
        sf::set_norm_groups(*vae, 5, "test VAE");
        FAIL("5 groups do not divide 32 channels");
    } catch (const sf::Error& e) {
        CHECK(std::string(e.what()).find("test VAE: GroupNorm 'encoder.") != std::string::npos);
        CHECK(std::string(e.what()).find("not a multiple of 5 groups") != std::string::npos);
    }
}

TEST_CASE("vae posterior: logvar clamp and seeded sampling", "[unit][vae]") {
    auto moments = torch::cat({torch::zeros({1, 4, 2, 2}), torch::full({1, 4, 2, 2}, 50.0)}, 1);
    auto p = sf::vae::posterior_from_moments(moments);
    CHECK(p.logvar.max().item<double>() == 20.0);
    auto a = p.sample(at::make_generator<at::CPUGeneratorImpl>(42));
    auto b = p.sample(at::make_generator<at::CPUGeneratorImpl>(42));
    CHECK(torch::equal(a, b));
    auto noise = at::randn({1, 4, 2, 2}, at::make_generator<at::CPUGeneratorImpl>(42), torch::dtype(torch::kFloat));
    CHECK(max_abs(a, std::exp(10.0) * noise) < 1e-6 * std::exp(10.0));
    CHECK(torch::equal(p.mode(), p.mean));
}

TEST_CASE("latent scaling per family", "[unit][vae]") {
    using sf::vae::LatentSpace;
    CHECK(sf::vae::latent_scaling(LatentSpace::sd).scale == 0.18215);
    CHECK(sf::vae::latent_scaling(LatentSpace::sdxl).scale == 0.13025);
    const auto flux = sf::vae::latent_scaling(LatentSpace::flux);
    auto z = torch::randn({1, 16, 4, 4});
    CHECK(max_abs(sf::vae::from_model_latent(sf::vae::to_model_latent(z, flux), flux), z) < 1e-5);
    CHECK(max_abs(sf::vae::to_model_latent(z, sf::vae::latent_scaling(LatentSpace::sd)), z * 0.18215) == 0.0);
}

TEST_CASE("latent preview: per-family linear RGB approximation", "[unit][vae]") {
    using sf::vae::LatentSpace;
    CHECK(sf::latent_rgb_factors(LatentSpace::sd).sizes() == c10::IntArrayRef({4, 3}));
    CHECK(sf::latent_rgb_factors(LatentSpace::sdxl).sizes() == c10::IntArrayRef({4, 3}));
    CHECK(sf::latent_rgb_factors(LatentSpace::sd3).sizes() == c10::IntArrayRef({16, 3}));
    CHECK(sf::latent_rgb_factors(LatentSpace::flux).sizes() == c10::IntArrayRef({16, 3}));
    // A one-hot latent in channel 3 picks row 3 (SD15: -0.2120, -0.2616, -0.7177), plus the bias.
    auto latent = torch::zeros({1, 4, 2, 3});
    latent.select(1, 3).fill_(1.0);
    auto rgb = sf::latent_preview(latent, LatentSpace::sd);
    REQUIRE(rgb.sizes() == c10::IntArrayRef({1, 3, 2, 3}));
    CHECK(std::abs(rgb[0][2][1][2].item<double>() - (-0.7177)) < 1e-6);
    auto sdxl = sf::latent_preview(latent, LatentSpace::sdxl);
    CHECK(std::abs(sdxl[0][0][0][0].item<double>() - (-0.3165 + 0.1084)) < 1e-6);
    auto big = sf::latent_preview(torch::full({2, 16, 4, 4}, 100.0), LatentSpace::flux);
    CHECK(big.abs().max().item<double>() <= 1.0);
    CHECK_THROWS(sf::latent_preview(torch::zeros({1, 4, 2, 2}), LatentSpace::sd3));
}
