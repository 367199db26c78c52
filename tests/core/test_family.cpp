// Family detection on the conformance models, the full-size manifests (as header-only files) and synthetic
// key sets (LoRA, schnell, refiner, unknown).
#include <catch2/catch_test_macros.hpp>


#include <fstream>
#include <functional>
#include <optional>
#include <iostream>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/family.h"
#include "core/error.h"
#include "core/json.h"
#include "tests/support/conformance.h"
#include "tests/support/detinit.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::Family;

namespace {

/// A header-only safetensors file holding `keys` (F16) with their shapes.
fs::path header_file(const fs::path& path, const std::map<std::string, std::vector<int64_t>>& keys) {
    auto header = sf::json::Value::object();
    int64_t offset = 0;
    for (const auto& [k, shape] : keys) {
        int64_t n = 2;
        auto s = sf::json::Value::array();
        for (auto d : shape) {
            n *= d;
            s.push_back(sf::json::Value(d));
        }
        auto e = sf::json::Value::object();
        e.set("dtype", "F16");
        e.set("shape", s);
        e.set("data_offsets", sf::json::Value::array({sf::json::Value(offset), sf::json::Value(offset + n)}));
        header.set(k, e);
        offset += n;
    }
    std::string h = sf::json::dump(header);
    std::ofstream out(path, std::ios::binary);
    uint64_t len = h.size();
    for (int i = 0; i < 8; ++i) {
        out.put(static_cast<char>((len >> (8 * i)) & 0xFF));
    }
    out << h;
    return path;
}

/// The keys and shapes of a checkpoint, optionally renamed (empty name drops a key).
std::map<std::string, std::vector<int64_t>> key_shapes(const sf::Checkpoint& c,
                                                       const std::function<std::string(const std::string&)>& f = {}) {
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto& k : c.keys()) {
        std::string n = f ? f(k) : k;
        if (!n.empty()) {
            out[n] = c.info(k).shape;
        }
    }
    return out;
}

sf::FamilyInfo detect_keys(const std::string& name, const std::map<std::string, std::vector<int64_t>>& keys) {
    auto path = header_file(sf::test::test_dir("family_synthetic") / (name + ".safetensors"), keys);
    return sf::detect_family(sf::Checkpoint::open(path, sf::Validation::header_only));
}

/// Expected family of a conformance model file, by its stem; nullopt for files this test does not know.
std::optional<Family> expected_family(const std::string& stem) {
    static const std::vector<std::pair<std::string, Family>> table = {
        {"sd1_tiny", Family::sd1},          {"sd15", Family::sd1},
        {"clip_l", Family::sd1},            {"sd2_tiny", Family::sd2},
        {"sd21", Family::sd2},              {"openclip_h", Family::sd2},
        {"sdxl", Family::sdxl_base},        {"openclip_bigg", Family::sdxl_base},
        {"dit_tiny", Family::dit},          {"flux_tiny", Family::flux_dev},
        {"mmdit", Family::sd3},             {"taef2_encoder", Family::taesd_encoder},
        {"taef2_decoder", Family::taesd_decoder}};
    for (const auto& [prefix, fam] : table) {
        if (stem.rfind(prefix, 0) == 0) {
            return fam;
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("conformance models detect as their family", "[conformance][family]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    int checked = 0;
    int passed = 0;
    for (const char* area : {"pipeline", "sd_unet_vae", "sdxl", "text", "transformers", "taesd"}) {
        auto dir = sf::test::area_dir(area);
        if (!dir) {
            continue;
        }
        for (const auto& it : fs::directory_iterator(*dir)) {
            if (it.path().extension() != ".safetensors") {
                continue;
            }
            auto file = sf::SafetensorsFile::open(it.path(), sf::Validation::header_only);
            bool is_case = false;
            for (const auto& t : file->tensors()) {
                is_case = is_case || t.name.rfind("output.", 0) == 0;
            }
            auto expected = expected_family(it.path().stem().string());
            if (is_case || !expected) {
                continue;  // cases, and model files this table does not name
            }
            ++checked;
            auto fi = sf::detect_family(sf::Checkpoint::open(it.path(), sf::Validation::header_only));
            INFO(it.path().filename().string() << " → " << fi.name);
            CHECK(fi.family == *expected);
            passed += fi.family == *expected;
        }
    }
    std::cout << "conformance models (family detection): " << checked << " checked, " << passed << " passed, "
              << checked - passed << " failed\n";
    CHECK(checked >= 12);
}

TEST_CASE("tiny checkpoints: components, latent and prediction", "[conformance][family]") {
    SF_REQUIRE_AREA("pipeline");
    const auto root = sf::test::conformance_root();
    auto open = [&](const char* rel) { return sf::detect_family(sf::Checkpoint::open(root / rel, sf::Validation::header_only)); };

    auto sd1 = open("pipeline/sd1_tiny_complete.safetensors");
    CHECK(sd1.family == Family::sd1);
    REQUIRE(sd1.find("text_encoder"));
    CHECK(sd1.find("text_encoder")->prefix == "cond_stage_model.transformer.");
    CHECK(sd1.find("text_encoder")->kind == "clip_text");
    CHECK(sd1.find("unet")->prefix == "model.diffusion_model.");
    CHECK(sd1.find("vae")->prefix == "first_stage_model.");
    CHECK(sd1.latent_channels == 4);
    CHECK(sd1.prediction == sf::Prediction::epsilon);
    CHECK(sd1.latent_scale == 0.18215);

    auto sd2 = open("sd_unet_vae/sd2_tiny.safetensors");
    CHECK(sd2.family == Family::sd2);
    CHECK(sd2.prediction == sf::Prediction::v);
    CHECK(!sd2.notes.empty());
    CHECK(!sd2.find("text_encoder"));

    auto xl = open("sdxl/sdxl_tiny.safetensors");
    CHECK(xl.family == Family::sdxl_base);
    CHECK(xl.latent_scale == 0.13025);

    auto flux = open("transformers/flux_tiny.safetensors");
    CHECK(flux.family == Family::flux_dev);
    CHECK(flux.find("transformer")->prefix == "");
    CHECK(flux.latent_channels == 16);
    CHECK(flux.prediction == sf::Prediction::flow);

    auto mmditx = open("transformers/mmditx_tiny_qknorm.safetensors");
    CHECK(mmditx.family == Family::sd3);
    CHECK(mmditx.name.find("MMDiT-X") != std::string::npos);
    CHECK(mmditx.latent_channels == 16);
    auto mmdit = open("transformers/mmdit_tiny.safetensors");
    CHECK(mmdit.name.find("MMDiT-X") == std::string::npos);

    auto dit = open("transformers/dit_tiny.safetensors");
    CHECK(dit.family == Family::dit);
    CHECK(dit.latent_channels == 4);

    auto enc = open("taesd/taef2_encoder.safetensors");
    auto dec = open("taesd/taef2_decoder.safetensors");
    CHECK(enc.family == Family::taesd_encoder);
    CHECK(dec.family == Family::taesd_decoder);
    CHECK(enc.latent_channels == 32);
    CHECK(dec.latent_channels == 32);
}

TEST_CASE("full-size manifests detect as their family", "[conformance][family]") {
    SF_REQUIRE_AREA("sd_unet_vae");
    int checked = 0;
    int passed = 0;
    auto out = sf::test::test_dir("family_manifests");
    for (const char* area : {"sd_unet_vae", "sdxl", "text"}) {
        auto dir = sf::test::area_dir(area);
        if (!dir) {
            continue;
        }
        for (const auto& it : fs::directory_iterator(*dir)) {
            auto name = it.path().filename().string();
            if (name.size() < 14 || name.substr(name.size() - 14) != "_manifest.json") {
                continue;
            }
            auto expected = expected_family(name);
            if (!expected) {
                std::cout << "manifest " << name << ": no expected family known, skipped\n";
                continue;
            }
            ++checked;
            auto path = sf::test::header_only_from_manifest(it.path(), out);
            auto ckpt = sf::Checkpoint::open(path, sf::Validation::header_only);
            auto fi = sf::detect_family(ckpt);
            INFO(name << " → " << fi.name);
            bool ok = fi.family == *expected;
            CHECK(ok);
            // Every component prefix holds keys, and the real files carry the parts their family names.
            for (const auto& c : fi.components) {
                CHECK(!c.prefix.empty());
            }
            if (fi.family == Family::sd1 && ckpt.size() > 1000) {
                ok = ok && fi.find("text_encoder") && fi.find("unet") && fi.find("vae");
                CHECK(fi.find("unet"));
                CHECK(fi.summary.size() == 3);
            }
            if (fi.family == Family::sd2) {
                REQUIRE(fi.find("text_encoder"));
                CHECK(fi.find("text_encoder")->kind == "open_clip_text");
                CHECK(fi.find("text_encoder")->prefix == "cond_stage_model.model.");
            }
            if (fi.family == Family::sdxl_base) {
                REQUIRE(fi.find("text_encoder_2"));
                CHECK(fi.find("text_encoder")->prefix == "conditioner.embedders.0.transformer.");
                CHECK(fi.find("text_encoder_2")->prefix == "conditioner.embedders.1.model.");
                CHECK(fi.find("text_encoder_2")->kind == "open_clip_text");
            }
            passed += ok;
        }
    }
    fs::remove_all(out);
    std::cout << "conformance manifests (family detection): " << checked << " checked, " << passed << " passed, "
              << checked - passed << " failed\n";
    CHECK(checked >= 4);
}

TEST_CASE("synthetic key sets: schnell, refiner, standalone VAE, LoRA", "[conformance][family]") {
    SF_REQUIRE_AREA("transformers");
    const auto root = sf::test::conformance_root();

    auto flux = sf::Checkpoint::open(root / "transformers/flux_tiny.safetensors", sf::Validation::header_only);
    auto schnell = detect_keys("schnell", key_shapes(flux, [](const std::string& k) {
                                   return k.rfind("guidance_in.", 0) == 0 ? std::string() : k;
                               }));
    CHECK(schnell.family == Family::flux_schnell);
    auto comfy_flux = detect_keys("comfy_flux", key_shapes(flux, [](const std::string& k) {
                                      return "model.diffusion_model." + k;
                                  }));
    CHECK(comfy_flux.family == Family::flux_dev);
    CHECK(comfy_flux.find("transformer")->prefix == "model.diffusion_model.");

    auto xl = sf::Checkpoint::open(root / "sdxl/sdxl_tiny.safetensors", sf::Validation::header_only);
    auto xl_keys = key_shapes(xl);
    xl_keys["conditioner.embedders.0.model.token_embedding.weight"] = {49408, 32};
    xl_keys["conditioner.embedders.0.model.transformer.resblocks.0.ln_1.weight"] = {32};
    auto refiner = detect_keys("refiner", xl_keys);
    CHECK(refiner.family == Family::sdxl_refiner);
    REQUIRE(refiner.find("text_encoder_2"));
    CHECK(refiner.find("text_encoder_2")->prefix == "conditioner.embedders.0.model.");

    auto sd1 = sf::Checkpoint::open(root / "pipeline/sd1_tiny_complete.safetensors", sf::Validation::header_only);
    auto vae = detect_keys("vae", key_shapes(sd1, [](const std::string& k) {
                               return k.rfind("first_stage_model.", 0) == 0 ? k.substr(18) : std::string();
                           }));
    CHECK(vae.family == Family::vae);
    CHECK(vae.find("vae")->prefix == "");
    CHECK(vae.latent_channels == 4);

    auto kohya = detect_keys("kohya", {
        {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", {8, 2048}},
        {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", {640, 8}},
        {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.alpha", {}},
        {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", {8, 768}},
        {"lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", {8, 1280}},
    });
    CHECK(kohya.family == Family::lora);
    CHECK(kohya.name.find("kohya") != std::string::npos);
    CHECK(kohya.name.find("SDXL") != std::string::npos);
    CHECK(kohya.find("unet")->prefix == "lora_unet_");
    CHECK(kohya.find("text_encoder_2")->prefix == "lora_te2_");

    auto peft = detect_keys("peft", {
        {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight", {4, 768}},
        {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight", {320, 4}},
    });
    CHECK(peft.family == Family::lora);
    CHECK(peft.name.find("peft") != std::string::npos);
    CHECK(peft.name.find("SD 1.x") != std::string::npos);
    CHECK(peft.find("unet")->prefix == "unet.");

    auto old_diffusers = detect_keys("diffusers_lora", {
        {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight", {4, 320}},
        {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.up.weight", {320, 4}},
    });
    CHECK(old_diffusers.family == Family::lora);
    CHECK(old_diffusers.name.find("diffusers") != std::string::npos);
}

TEST_CASE("an unknown key set lists what was looked for", "[unit][family]") {
    try {
        detect_keys("unknown", {{"foo.bar.weight", {3, 3}}, {"baz", {7}}, {"qux.bias", {2}}});
        FAIL("expected sf::Error");
    } catch (const sf::Error& e) {
        std::string m = e.what();
        CHECK(m.find("foo.bar.weight") != std::string::npos);
        CHECK(m.find("Looked for") != std::string::npos);
        CHECK(m.find("model.diffusion_model.input_blocks.0.0.weight") != std::string::npos);
        CHECK(m.find("double_blocks") != std::string::npos);
        CHECK(m.find("lora_down") != std::string::npos);
    }
}
