// CLIP-L text encoder (sf::clip) and the A1111 conditioning path against ../shared/conformance/text.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/load.h"
#include "core/error.h"
#include "core/models/clip.h"
#include "core/models/text_conditioning.h"
#include "tests/support/conformance.h"
#include "tests/support/detinit.h"
#include "tests/support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;

namespace {

bool is_clip_config(const sf::json::Value& config) {
    return config.is_object() && config.get("act", "") == std::string("quick_gelu");
}

/// The CLIPTextModel prefix of a case: its `prefix` metadata names the `text_model.` level.
std::string model_prefix(const sf::test::Case& c) {
    std::string prefix = c.config.get("prefix", "");
    const std::string tail = "text_model.";
    if (prefix.size() >= tail.size() && prefix.compare(prefix.size() - tail.size(), tail.size(), tail) == 0) {
        prefix.resize(prefix.size() - tail.size());
    }
    return prefix;
}

/// The config the case's metadata states (detinit cases have no file to detect from).
sf::TextConfig config_from_meta(const sf::json::Value& m) {
    sf::TextConfig config;
    config.vocab_size = m.get("vocab_size", config.vocab_size);
    config.context_length = m.get("context_length", config.context_length);
    config.width = m.get("width", config.width);
    config.layers = m.get("layers", config.layers);
    config.heads = m.get("heads", config.heads);
    config.mlp_ratio = m.get("mlp_ratio", config.mlp_ratio);
    config.layer_norm_eps = m.get("layer_norm_eps", config.layer_norm_eps);
    config.act = sf::TextActivation::quick_gelu;
    return config;
}

/// Loads the case's weight file strictly, with the config detected from the file (heads from the metadata).
sf::clip::CLIPTextModel load_case_model(const sf::test::Case& c) {
    auto ckpt = sf::Checkpoint::open(c.weights.at(0));
    auto config = sf::clip::detect_config(ckpt, model_prefix(c), c.config.get("heads", int64_t{12}));
    CHECK(config.width == c.config.get("width", int64_t{0}));
    CHECK(config.layers == c.config.get("layers", int64_t{0}));
    CHECK(config.vocab_size == c.config.get("vocab_size", int64_t{0}));
    sf::clip::CLIPTextModel model(config);
    sf::load_module(*model, ckpt, model_prefix(c));
    model->eval();
    return model;
}

/// Checks every output.* of an encoder case that this model can produce.
/// With `entry_points`, also checks encode() / penultimate() (each reruns the encoder).
void check_encoder_outputs(sf::test::AreaRun& run, const sf::test::Case& c, sf::clip::CLIPTextModel& model,
                           bool entry_points = true) {
    auto ids = c.input("input_ids");
    auto hidden = model->forward(ids);
    const auto n = hidden.size();
    std::map<std::string, std::function<torch::Tensor()>> produce = {
        {"hidden_states", [&] { return torch::stack(hidden); }},
        {"last_hidden_state", [&] { return model->final_norm(hidden.back()); }},
        {"penultimate", [&] { return hidden[n - 2]; }},
        {"penultimate_normed", [&] { return model->final_norm(hidden[n - 2]); }},
        {"pooled_eot", [&] { return sf::clip::gather_eot(model->final_norm(hidden.back()), ids); }},
    };
    for (const auto& name : c.outputs()) {
        auto it = produce.find(name);
        if (it == produce.end()) {
            run.fail(c, "unknown output '" + name + "'");
            continue;
        }
        run.check(c, name, it->second());
    }
    if (!entry_points) {
        return;
    }
    // The conditioning entry points agree with the hidden states they select.
    if (c.has_output("last_hidden_state")) {
        run.check(c, "encode(skip 1)", model->encode(ids, 1), c.output("last_hidden_state"),
                  c.tolerance.for_output("last_hidden_state"));
    }
    if (c.has_output("penultimate_normed")) {
        run.check(c, "encode(skip 2)", model->encode(ids, 2), c.output("penultimate_normed"),
                  c.tolerance.for_output("penultimate_normed"));
    }
    if (c.has_output("penultimate")) {
        run.check(c, "penultimate()", model->penultimate(ids), c.output("penultimate"),
                  c.tolerance.for_output("penultimate"));
    }
}

/// Writes `module`'s parameters under `prefix` to a safetensors file, with `edit` applied to the map first.
std::filesystem::path write_module(torch::nn::Module& module, const std::string& prefix,
                                   const std::string& name,
                                   const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : module.named_parameters()) {
        tensors[prefix + p.key()] = p.value().detach().clone();
    }
    edit(tensors);
    auto path = sf::test::test_dir("clip") / name;
    sf::write_safetensors(path, tensors);
    return path;
}

std::string load_error(torch::nn::Module& module, const std::filesystem::path& path,
                       const std::string& prefix) {
    try {
        sf::load_module(module, sf::Checkpoint::open(path), prefix);
    } catch (const sf::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("CLIP text encoder matches the reference on every tiny encoder case", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "CLIP-L encoder");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_clip_config(c.config) || !c.has_input("input_ids") || c.detinit) {
            continue;
        }
        try {
            auto model = load_case_model(c);
            check_encoder_outputs(run, c, model);
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("CLIP text encoder matches the full-size detinit case", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "CLIP-L full size, detinit weights");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_clip_config(c.config) || !c.has_input("input_ids") || !c.detinit) {
            continue;
        }
        try {
            using clock = std::chrono::steady_clock;
            auto seconds_since = [](clock::time_point t) {
                return std::chrono::duration<double>(clock::now() - t).count();
            };
            auto t0 = clock::now();
            auto config = config_from_meta(c.config);
            sf::clip::CLIPTextModel model(config);
            const auto prefix = model_prefix(c);
            sf::test::detinit_module(*model, prefix);
            std::cout << c.name << ": build + detinit " << seconds_since(t0) << " s\n";
            // Exceptions (position_ids = arange) are buffers this model does not register: it uses arange.
            std::set<std::string> names;
            for (const auto& p : model->named_parameters()) {
                names.insert(prefix + p.key());
            }
            if (auto exceptions = c.meta_json("detinit_exceptions"); exceptions.is_object()) {
                for (const auto& [key, rule] : exceptions.members()) {
                    CHECK(names.count(key) == 0);
                }
            }
            model->eval();
            auto t1 = clock::now();
            auto cpu0 = std::clock();
            check_encoder_outputs(run, c, model, /*entry_points=*/false);  // one forward + norms + compares
            std::cout << c.name << ": forward of " << c.input("input_ids").sizes() << " + checks took "
                      << seconds_since(t1) << " s wall, " << double(std::clock() - cpu0) / CLOCKS_PER_SEC
                      << " s CPU, on " << torch::get_num_threads() << " threads\n";
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("A1111 emphasis conditioning matches the reference on the tiny CLIP-L", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "emphasis conditioning, CLIP-L");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_clip_config(c.config) || c.config.get("emphasis", "") != std::string("Original") ||
            c.detinit) {
            continue;
        }
        try {
            auto model = load_case_model(c);
            for (int i = 0; c.has_input("p" + std::to_string(i) + ".tokens"); ++i) {
                const std::string p = "p" + std::to_string(i) + ".";
                auto tokens = c.input(p + "tokens");
                auto multipliers = c.input(p + "multipliers");
                for (int skip = 1; skip <= 2; ++skip) {
                    const std::string out = p + "cond_skip" + std::to_string(skip);
                    if (c.has_output(out)) {
                        run.check(c, out, sf::sd1_conditioning(model, tokens, multipliers, skip));
                    }
                }
            }
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("CLIP config detection reads real checkpoint layouts", "[conformance]") {
    const auto root = sf::test::conformance_root();
    auto manifest = root / "text" / "clip_l_full_manifest.json";
    if (!std::filesystem::exists(manifest)) {
        SKIP("no " << manifest);
    }
    auto header = sf::test::header_only_from_manifest(manifest, sf::test::test_dir("clip"));
    auto ckpt = sf::Checkpoint::open(header, sf::Validation::header_only);
    auto config = sf::clip::detect_config(ckpt, "cond_stage_model.transformer.");
    auto preset = sf::TextConfig::clip_l();
    CHECK(config.width == preset.width);
    CHECK(config.layers == preset.layers);
    CHECK(config.heads == preset.heads);
    CHECK(config.vocab_size == preset.vocab_size);
    CHECK(config.context_length == preset.context_length);
    CHECK(config.mlp_ratio == preset.mlp_ratio);
    // Every tensor of the real layout is a parameter of the same shape, except the ignored position_ids.
    sf::clip::CLIPTextModel model(config);
    std::set<std::string> keys;
    for (const auto& key : ckpt.keys()) {
        if (!sf::ignore_known_extras(key)) {
            keys.insert(key);
        }
    }
    std::set<std::string> params;
    for (const auto& p : model->named_parameters()) {
        const auto key = "cond_stage_model.transformer." + p.key();
        params.insert(key);
        REQUIRE(ckpt.contains(key));
        CHECK(c10::IntArrayRef(ckpt.info(key).shape) == p.value().sizes());
    }
    CHECK(params == keys);
}

TEST_CASE("CLIP config detection needs a head count for widths that are not multiples of 64", "[unit]") {
    sf::clip::CLIPTextModel model(sf::TextConfig{.vocab_size = 100, .width = 32, .layers = 2, .heads = 4});
    auto path = write_module(*model, "te.", "heads.safetensors", [](auto&) {});
    auto ckpt = sf::Checkpoint::open(path);
    CHECK_THROWS_WITH(sf::clip::detect_config(ckpt, "te."), ContainsSubstring("head count"));
    auto config = sf::clip::detect_config(ckpt, "te.", 4);
    CHECK(config.layers == 2);
    CHECK(config.width == 32);
    CHECK(config.vocab_size == 100);
    CHECK_THROWS_WITH(sf::clip::detect_config(ckpt, "other."),
                      ContainsSubstring("other.text_model.embeddings.token_embedding.weight"));
}

TEST_CASE("Loading a CLIP text model names the missing or mis-shaped tensor", "[unit]") {
    const sf::TextConfig config{.vocab_size = 100, .width = 32, .layers = 2, .heads = 4};
    sf::clip::CLIPTextModel source(config);
    const std::string prefix = "cond_stage_model.transformer.";
    const std::string key = prefix + "text_model.encoder.layers.1.self_attn.k_proj.weight";

    SECTION("complete file loads") {
        auto path = write_module(*source, prefix, "complete.safetensors", [](auto&) {});
        sf::clip::CLIPTextModel model(config);
        CHECK(load_error(*model, path, prefix).empty());
        CHECK(torch::equal(model->text_model->encoder->layers->at<sf::clip::CLIPEncoderLayerImpl>(1)
                               .self_attn->k_proj->weight,
                           source->text_model->encoder->layers->at<sf::clip::CLIPEncoderLayerImpl>(1)
                               .self_attn->k_proj->weight));
    }
    SECTION("missing tensor") {
        auto path = write_module(*source, prefix, "missing.safetensors", [&](auto& t) { t.erase(key); });
        sf::clip::CLIPTextModel model(config);
        CHECK_THAT(load_error(*model, path, prefix), ContainsSubstring(key));
    }
    SECTION("wrong shape") {
        auto path = write_module(*source, prefix, "shape.safetensors", [&](auto& t) {
            t[key] = torch::zeros({32, 31});
        });
        sf::clip::CLIPTextModel model(config);
        auto message = load_error(*model, path, prefix);
        CHECK_THAT(message, ContainsSubstring(key));
        CHECK_THAT(message, ContainsSubstring("31"));
    }
    SECTION("position_ids of any dtype is ignored") {
        auto path = write_module(*source, prefix, "posids.safetensors", [&](auto& t) {
            t[prefix + "text_model.embeddings.position_ids"] =
                torch::arange(77, torch::kFloat16).unsqueeze(0);
        });
        sf::clip::CLIPTextModel model(config);
        CHECK(load_error(*model, path, prefix).empty());
    }
}

TEST_CASE("Emphasis keeps the mean and multiplies per token", "[unit]") {
    torch::manual_seed(0);
    auto z = torch::randn({2, 77, 8}) + 0.5;
    auto mult = torch::ones({2, 77});
    CHECK(torch::allclose(sf::apply_emphasis(z, mult), z));
    mult.index_put_({0, 3}, 1.5);
    auto out = sf::apply_emphasis(z, mult);
    CHECK(torch::allclose(out.mean({1, 2}), z.mean({1, 2}), 1e-5, 1e-6));
    CHECK(torch::allclose(out[1], z[1]));
    auto ratio = out[0][3] / out[0][4];
    CHECK(torch::allclose(ratio, 1.5 * z[0][3] / z[0][4], 1e-4, 1e-5));

    auto tokens = torch::tensor({49406, 5, 49407, 49407, 49407}).unsqueeze(0);
    CHECK(torch::equal(sf::pad_after_eot(tokens, 0), torch::tensor({49406, 5, 49407, 0, 0}).unsqueeze(0)));
}
