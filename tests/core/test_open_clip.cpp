// OpenCLIP text towers (sf::open_clip): SD2 (ViT-H) and SDXL (ViT-bigG) against ../shared/conformance/text.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <functional>
#include <map>
#include <set>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/load.h"
#include "core/error.h"
#include "core/models/clip.h"
#include "core/models/open_clip.h"
#include "core/models/text_conditioning.h"
#include "tests/support/conformance.h"
#include "tests/support/detinit.h"
#include "tests/support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;

namespace {

bool is_open_clip_case(const sf::test::Case& c) {
    return c.config.is_object() && c.config.get("act", "") == std::string("gelu") &&
           c.has_input("input_ids") && !c.weights.empty();
}

sf::open_clip::TextTransformer load_model(const sf::Checkpoint& ckpt, const sf::test::Case& c) {
    const std::string prefix = c.config.get("prefix", "");
    auto config = sf::open_clip::detect_config(ckpt, prefix, c.config.get("heads", int64_t{16}));
    CHECK(config.width == c.config.get("width", int64_t{0}));
    CHECK(config.layers == c.config.get("layers", int64_t{0}));
    CHECK(config.embed_dim == c.config.get("embed_dim", int64_t{0}));
    sf::open_clip::TextTransformer model(config);
    sf::load_module(*model, ckpt, prefix);
    model->eval();
    return model;
}

void check_outputs(sf::test::AreaRun& run, const sf::test::Case& c, sf::open_clip::TextTransformer& model,
                   const std::string& tag = "") {
    auto ids = c.input("input_ids");
    auto hidden = model->forward(ids);
    const auto n = hidden.size();
    auto last = [&] { return model->final_norm(hidden.back()); };
    std::map<std::string, std::function<torch::Tensor()>> produce = {
        {"hidden_states", [&] { return torch::stack(hidden); }},
        {"last_hidden_state", last},
        {"pooled", [&] { return model->pool(last(), ids); }},
        {"sd2_cond_penultimate", [&] { return model->encode_sd2(ids); }},
        {"sdxl_cond_penultimate", [&] { return model->encode_sdxl(ids).context; }},
        {"sdxl_pooled", [&] { return model->encode_sdxl(ids).pooled; }},
    };
    for (const auto& name : c.outputs()) {
        auto it = produce.find(name);
        if (it == produce.end()) {
            run.fail(c, "unknown output '" + name + "'");
            continue;
        }
        run.check(c, name + tag, it->second(), c.output(name), c.tolerance.for_output(name));
    }
    // The SD2 selection equals ln_final(hidden_states[-2]) of the full run.
    if (c.has_output("sd2_cond_penultimate")) {
        run.check(c, "ln_final(hidden_states[-2])" + tag, model->final_norm(hidden[n - 2]),
                  c.output("sd2_cond_penultimate"), c.tolerance.for_output("sd2_cond_penultimate"));
    }
}

/// Every tensor of `file` (all prefixes), with `edit` applied, written to a temporary file.
std::filesystem::path rewrite(const std::filesystem::path& file, const std::string& name,
                              const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
    auto src = sf::SafetensorsFile::open(file);
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& t : src->tensors()) {
        tensors[t.name] = src->tensor(t.name).clone();
    }
    edit(tensors);
    auto path = sf::test::test_dir("open_clip") / name;
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

TEST_CASE("OpenCLIP text tower matches the reference on every tiny case", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "OpenCLIP H / bigG encoder");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_open_clip_case(c)) {
            continue;
        }
        try {
            auto ckpt = sf::Checkpoint::open(c.weights.at(0));
            auto model = load_model(ckpt, c);
            CHECK(model->config().projection == sf::TextProjection::parameter);
            check_outputs(run, c, model);
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("OpenCLIP text tower accepts a Linear-layout text_projection.weight", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "OpenCLIP with text_projection.weight");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_open_clip_case(c) || (!c.has_output("sdxl_pooled") && !c.has_output("pooled"))) {
            continue;
        }
        try {
            const std::string prefix = c.config.get("prefix", "");
            // Some SDXL files store the projection transposed as a Linear weight [embed_dim, width].
            auto path = rewrite(c.weights.at(0), c.name + "_linear.safetensors", [&](auto& t) {
                auto p = t.at(prefix + "text_projection");
                t.erase(prefix + "text_projection");
                t[prefix + "text_projection.weight"] = p.t().contiguous();
            });
            auto ckpt = sf::Checkpoint::open(path);
            auto model = load_model(ckpt, c);
            CHECK(model->config().projection == sf::TextProjection::linear);
            check_outputs(run, c, model, " (Linear projection)");
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("SD2 and SDXL conditioning entry points select the reference tensors", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "SD2 / SDXL text conditioning");
    for (const auto& c : sf::test::load_cases("text")) {
        if (!is_open_clip_case(c)) {
            continue;
        }
        try {
            auto ckpt = sf::Checkpoint::open(c.weights.at(0));
            auto model = load_model(ckpt, c);
            // The cases' ids are zero-padded already; give them EOT-padded as the chunker does, all
            // weights 1.
            auto ids = c.input("input_ids");
            auto eot_padded = ids.masked_fill(ids.eq(0), sf::kEndOfText);
            auto ones = torch::ones(ids.sizes());
            for (int64_t b = 0; b < ids.size(0); ++b) {
                auto row = eot_padded.slice(0, b, b + 1);
                auto label = "row " + std::to_string(b);
                if (c.has_output("sd2_cond_penultimate")) {
                    run.check(c, "sd2_conditioning " + label,
                              sf::sd2_conditioning(model, row, ones.slice(0, b, b + 1)),
                              c.output("sd2_cond_penultimate").slice(0, b, b + 1),
                              c.tolerance.for_output("sd2_cond_penultimate"));
                }
                if (c.has_output("sdxl_pooled")) {
                    CHECK(torch::equal(sf::pad_after_eot(row, sf::kOpenClipPad), ids.slice(0, b, b + 1)));
                    auto out = model->encode_sdxl(sf::pad_after_eot(row, sf::kOpenClipPad));
                    run.check(c, "encode_sdxl pooled " + label, out.pooled,
                              c.output("sdxl_pooled").slice(0, b, b + 1),
                              c.tolerance.for_output("sdxl_pooled"));
                }
            }
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("OpenCLIP config detection reads real SD2 and SDXL layouts", "[conformance]") {
    const auto root = sf::test::conformance_root();
    struct Real {
        std::filesystem::path manifest;
        std::string prefix;
        sf::TextConfig preset;
    };
    const std::vector<Real> reals = {
        {root / "sd_unet_vae" / "sd21_manifest.json", "cond_stage_model.model.",
         sf::TextConfig::open_clip_h()},
        {root / "sdxl" / "sdxl_manifest.json", "conditioner.embedders.1.model.",
         sf::TextConfig::open_clip_bigg()},
    };
    int found = 0;
    for (const auto& real : reals) {
        if (!std::filesystem::exists(real.manifest)) {
            continue;
        }
        ++found;
        INFO(real.manifest);
        auto header = sf::test::header_only_from_manifest(real.manifest, sf::test::test_dir("open_clip"));
        auto ckpt = sf::Checkpoint::open(header, sf::Validation::header_only);
        auto config = sf::open_clip::detect_config(ckpt, real.prefix);
        CHECK(config.width == real.preset.width);
        CHECK(config.layers == real.preset.layers);
        CHECK(config.heads == real.preset.heads);
        CHECK(config.vocab_size == real.preset.vocab_size);
        CHECK(config.context_length == real.preset.context_length);
        CHECK(config.mlp_ratio == real.preset.mlp_ratio);
        CHECK(config.projection == real.preset.projection);
        CHECK(config.embed_dim == real.preset.embed_dim);
        // Names match the real file (all blocks, incl. those SD2/SDXL context never runs). Built narrow to
        // stay cheap: names do not depend on width.
        auto narrow = config;
        narrow.width = 64;
        narrow.heads = 1;
        narrow.embed_dim = 64;
        sf::open_clip::TextTransformer model(narrow);
        std::set<std::string> keys;
        for (const auto& key : ckpt.keys()) {
            if (key.rfind(real.prefix, 0) == 0 && !sf::ignore_known_extras(key)) {
                keys.insert(key);
            }
        }
        std::set<std::string> params;
        for (const auto& p : model->named_parameters()) {
            params.insert(real.prefix + p.key());
        }
        CHECK(params == keys);
    }
    if (found == 0) {
        SKIP("no SD2 / SDXL manifests under " << root);
    }
}

TEST_CASE("Loading an OpenCLIP text tower names the missing or mis-shaped tensor", "[unit]") {
    const sf::TextConfig config{.vocab_size = 100,
                                .width = 32,
                                .layers = 2,
                                .heads = 4,
                                .act = sf::TextActivation::gelu,
                                .projection = sf::TextProjection::parameter,
                                .embed_dim = 16};
    sf::open_clip::TextTransformer source(config);
    const std::string prefix = "cond_stage_model.model.";
    auto write = [&](const std::string& name,
                     const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
        std::map<std::string, torch::Tensor> tensors;
        for (const auto& p : source->named_parameters()) {
            tensors[prefix + p.key()] = p.value().detach().clone();
        }
        tensors[prefix + "logit_scale"] = torch::tensor(4.6);
        edit(tensors);
        auto path = sf::test::test_dir("open_clip") / name;
        sf::write_safetensors(path, tensors);
        return path;
    };
    const std::string key = prefix + "transformer.resblocks.1.attn.in_proj_weight";

    SECTION("complete file loads, logit_scale ignored, detection finds the config") {
        auto path = write("complete.safetensors", [](auto&) {});
        auto detected = sf::open_clip::detect_config(sf::Checkpoint::open(path), prefix, 4);
        CHECK(detected.layers == 2);
        CHECK(detected.embed_dim == 16);
        CHECK(detected.projection == sf::TextProjection::parameter);
        sf::open_clip::TextTransformer model(detected);
        CHECK(load_error(*model, path, prefix).empty());
        CHECK(torch::equal(model->text_projection, source->text_projection));
    }
    SECTION("missing tensor") {
        auto path = write("missing.safetensors", [&](auto& t) { t.erase(key); });
        sf::open_clip::TextTransformer model(config);
        CHECK_THAT(load_error(*model, path, prefix), ContainsSubstring(key));
    }
    SECTION("wrong shape") {
        auto path = write("shape.safetensors", [&](auto& t) { t[key] = torch::zeros({96, 33}); });
        sf::open_clip::TextTransformer model(config);
        auto message = load_error(*model, path, prefix);
        CHECK_THAT(message, ContainsSubstring(key));
        CHECK_THAT(message, ContainsSubstring("33"));
    }
    SECTION("a model without projection has no pooled output") {
        auto no_proj = config;
        no_proj.projection = sf::TextProjection::none;
        no_proj.embed_dim = 0;
        sf::open_clip::TextTransformer model(no_proj);
        auto ids = torch::tensor({49406 % 100, 5, 99, 0}).unsqueeze(0);
        CHECK_THROWS_AS(model->encode_sdxl(ids), sf::Error);
    }
}

TEST_CASE("SDXL conditioning concatenates CLIP-L and bigG penultimates and pools bigG", "[conformance]") {
    SF_REQUIRE_AREA("text");
    torch::NoGradGuard no_grad;
    sf::test::AreaRun run("text", "SDXL context from both tiny encoders");
    auto cases = sf::test::load_cases("text");
    // Pairs: a CLIP-L encoder case (EOT padding, hidden states) and a bigG case on the same prompts.
    for (const auto& g : cases) {
        if (!is_open_clip_case(g) || !g.has_output("sdxl_cond_penultimate") || !g.has_output("sdxl_pooled")) {
            continue;
        }
        for (const auto& l : cases) {
            if (!l.config.is_object() || l.config.get("act", "") != std::string("quick_gelu") || l.detinit ||
                !l.has_input("input_ids") || !l.has_output("hidden_states") ||
                l.meta.at("prompts") != g.meta.at("prompts")) {
                continue;
            }
            try {
                auto ckpt_g = sf::Checkpoint::open(g.weights.at(0));
                auto bigg = load_model(ckpt_g, g);
                auto ckpt_l = sf::Checkpoint::open(l.weights.at(0));
                std::string prefix_l = l.config.get("prefix", "");
                prefix_l.resize(prefix_l.size() - std::string("text_model.").size());
                sf::clip::CLIPTextModel clip_l(
                    sf::clip::detect_config(ckpt_l, prefix_l, l.config.get("heads", int64_t{12})));
                sf::load_module(*clip_l, ckpt_l, prefix_l);
                auto ids = l.input("input_ids");  // EOT-padded, as the chunker produces
                auto hidden_l = l.output("hidden_states");
                const auto width_l = hidden_l.size(-1);
                for (int64_t b = 0; b < ids.size(0); ++b) {
                    auto label = l.name + " + " + g.name + " row " + std::to_string(b);
                    auto out = sf::sdxl_conditioning(clip_l, bigg, ids.slice(0, b, b + 1),
                                                     torch::ones({1, ids.size(1)}));
                    run.check(g, "context[:, :, :C_L] " + label, out.context.slice(-1, 0, width_l),
                              hidden_l[hidden_l.size(0) - 2].slice(0, b, b + 1),
                              l.tolerance.for_output("hidden_states"));
                    run.check(g, "context[:, :, C_L:] " + label, out.context.slice(-1, width_l),
                              g.output("sdxl_cond_penultimate").slice(0, b, b + 1),
                              g.tolerance.for_output("sdxl_cond_penultimate"));
                    run.check(g, "pooled " + label, out.pooled, g.output("sdxl_pooled").slice(0, b, b + 1),
                              g.tolerance.for_output("sdxl_pooled"));
                }
            } catch (const std::exception& e) {
                run.fail(g, e.what());
            }
        }
    }
    CHECK(run.checked() > 0);
}
