// Diffusers folders open as the same tensors as the single files they were converted from
// (../shared/conformance/diffusers_layout/README.md): names through rename_map_*.json, values bit for bit.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <optional>
#include <iostream>
#include <set>
#include <sstream>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/family.h"
#include "core/checkpoint/keymap.h"
#include "core/error.h"
#include "core/json.h"
#include "tests/support/conformance.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

sf::json::Value read_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return sf::json::parse(ss.str());
}

std::vector<int64_t> shape_of(const sf::json::Value& v) {
    std::vector<int64_t> out;
    for (const auto& d : v.items()) {
        out.push_back(d.as_int());
    }
    return out;
}

/// One rename-map entry that a folder ships.
struct Entry {
    std::string original;
    std::string diffusers;
    std::string legacy;
    std::string file;
    std::string component;
    std::vector<int64_t> diffusers_shape;
};

std::vector<Entry> shipped_entries(const sf::json::Value& map) {
    std::vector<Entry> out;
    for (const auto& e : map.at("entries").items()) {
        if (!e.get("shipped", true)) {
            continue;
        }
        out.push_back({e.at("original").as_string(), e.at("diffusers").as_string(), e.get("legacy_diffusers", ""),
                       e.at("file").as_string(), e.at("component").as_string(), shape_of(e.at("diffusers_shape"))});
    }
    return out;
}

/// Writes the weight files of `entries` into `folder` from the single file, under the names `name_of` gives.
void write_files(const fs::path& folder, const std::vector<Entry>& entries, const sf::Checkpoint& single,
                 const std::function<std::string(const Entry&)>& name_of) {
    std::map<std::string, std::map<std::string, torch::Tensor>> files;
    for (const auto& e : entries) {
        files[e.file][name_of(e)] = single.get(e.original).reshape(e.diffusers_shape).clone();
    }
    for (const auto& [file, tensors] : files) {
        fs::create_directories((folder / file).parent_path());
        sf::write_safetensors(folder / file, tensors, {{"format", "pt"}});
    }
}

/// Copies the folder's JSON and text files (configs, tokenizer), not the weights.
void copy_configs(const fs::path& from, const fs::path& to) {
    for (const auto& it : fs::recursive_directory_iterator(from)) {
        auto rel = fs::relative(it.path(), from);
        if (it.is_directory()) {
            fs::create_directories(to / rel);
        } else if (it.path().extension() != ".safetensors") {
            fs::create_directories((to / rel).parent_path());
            fs::copy_file(it.path(), to / rel, fs::copy_options::overwrite_existing);
        }
    }
}

/// Compares every entry of `folder_ckpt` (keyed by original name, minus `strip`) with the single file.
int compare_all(const sf::Checkpoint& folder_ckpt, const sf::Checkpoint& single, const std::vector<Entry>& entries,
                const std::string& label, const std::string& strip = "") {
    int passed = 0;
    std::set<std::string> expected;
    for (const auto& e : entries) {
        std::string key = e.original.substr(strip.size());
        expected.insert(key);
        if (!folder_ckpt.contains(key)) {
            FAIL_CHECK(label << ": '" << e.diffusers << "' did not open as '" << key << "'");
            continue;
        }
        auto ours = folder_ckpt.get(key);
        auto ref = single.get(e.original);
        bool same = ours.sizes().vec() == e.diffusers_shape && ours.scalar_type() == ref.scalar_type() &&
                    torch::equal(ours, ref.reshape(e.diffusers_shape));
        if (!same) {
            FAIL_CHECK(label << ": '" << key << "' differs (shape " << ours.sizes() << ", expected "
                             << c10::IntArrayRef(e.diffusers_shape) << ")");
            continue;
        }
        ++passed;
    }
    for (const auto& k : folder_ckpt.keys()) {
        if (!expected.count(k)) {
            FAIL_CHECK(label << ": unexpected key '" << k << "'");
        }
    }
    return passed;
}

}  // namespace

TEST_CASE("diffusers folders open as the single-file tensors", "[conformance][keymap]") {
    SF_REQUIRE_AREA("diffusers_layout");
    const fs::path area = *sf::test::area_dir("diffusers_layout");
    const fs::path root = sf::test::conformance_root();
    int maps = 0;
    int checked = 0;
    int passed = 0;
    for (const auto& it : fs::directory_iterator(area)) {
        const auto name = it.path().filename().string();
        if (name.rfind("rename_map_", 0) != 0 || it.path().extension() != ".json") {
            continue;
        }
        auto map = read_json(it.path());
        const fs::path source = root / map.at("source").as_string();
        const fs::path folder = area / map.at("folder").as_string();
        if (!fs::exists(source) || !fs::is_directory(folder)) {
            std::cout << "diffusers_layout: " << name << ": skipped (source or folder absent)\n";
            continue;
        }
        ++maps;
        auto single = sf::Checkpoint::open(source);
        auto entries = shipped_entries(map);
        // The folder as shipped, or (sd2/sdxl) completed with its weight files written from the single file.
        bool complete = true;
        for (const auto& e : entries) {
            complete = complete && fs::exists(folder / e.file);
        }
        fs::path dir = folder;
        if (!complete) {
            dir = sf::test::fresh_dir("keymap_" + map.at("folder").as_string());
            copy_configs(folder, dir);
            write_files(dir, entries, single, [](const Entry& e) { return e.diffusers; });
        }
        auto ckpt = sf::Checkpoint::open(dir);
        int ok = compare_all(ckpt, single, entries, name);
        checked += static_cast<int>(entries.size());
        passed += ok;
        CHECK(ok == static_cast<int>(entries.size()));
        CHECK(sf::detect_family(ckpt).family == sf::detect_family(single).family);

        // The older diffusers VAE attention names (query/key/value/proj_attn) open the same way.
        bool has_legacy = false;
        for (const auto& e : entries) {
            has_legacy = has_legacy || !e.legacy.empty();
        }
        if (has_legacy) {
            auto legacy = sf::test::fresh_dir("keymap_" + map.at("folder").as_string() + "_legacy");
            copy_configs(folder, legacy);
            write_files(legacy, entries, single,
                        [](const Entry& e) { return e.legacy.empty() ? e.diffusers : e.legacy; });
            int n = compare_all(sf::Checkpoint::open(legacy), single, entries, name + " (legacy VAE names)");
            checked += static_cast<int>(entries.size());
            passed += n;
            fs::remove_all(legacy);
        }
        // Text encoders saved without the "text_model." level (recent transformers) open the same way.
        bool has_text = false;
        for (const auto& e : entries) {
            has_text = has_text || e.component == "text_encoder";
        }
        if (has_text) {
            auto flat = sf::test::fresh_dir("keymap_" + map.at("folder").as_string() + "_flat_text");
            copy_configs(folder, flat);
            write_files(flat, entries, single, [](const Entry& e) {
                return e.component == "text_encoder" && e.diffusers.rfind("text_model.", 0) == 0
                           ? e.diffusers.substr(11)
                           : e.diffusers;
            });
            int n = compare_all(sf::Checkpoint::open(flat), single, entries, name + " (text without text_model.)");
            checked += static_cast<int>(entries.size());
            passed += n;
            fs::remove_all(flat);
        }
        // The UNet as two shards with an index, named as an fp16 variant.
        {
            auto sharded = sf::test::fresh_dir("keymap_" + map.at("folder").as_string() + "_sharded");
            copy_configs(folder, sharded);
            std::vector<Entry> unet;
            std::vector<Entry> rest;
            for (const auto& e : entries) {
                (e.component == "unet" ? unet : rest).push_back(e);
            }
            write_files(sharded, rest, single, [](const Entry& e) { return e.diffusers; });
            std::map<std::string, torch::Tensor> shard[2];
            auto weight_map = sf::json::Value::object();
            for (size_t i = 0; i < unet.size(); ++i) {
                const auto& e = unet[i];
                std::string file = "diffusion_pytorch_model.fp16-0000" + std::to_string(i % 2 + 1) + "-of-00002.safetensors";
                shard[i % 2][e.diffusers] = single.get(e.original).reshape(e.diffusers_shape).clone();
                weight_map.set(e.diffusers, file);
            }
            for (int s = 0; s < 2; ++s) {
                sf::write_safetensors(sharded / "unet" / ("diffusion_pytorch_model.fp16-0000" + std::to_string(s + 1) +
                                                          "-of-00002.safetensors"),
                                      shard[s], {{"format", "pt"}});
            }
            auto index = sf::json::Value::object();
            index.set("metadata", sf::json::Value::object());
            index.set("weight_map", weight_map);
            std::ofstream(sharded / "unet" / "diffusion_pytorch_model.safetensors.index.fp16.json") << sf::json::dump(index);
            int n = compare_all(sf::Checkpoint::open(sharded), single, entries, name + " (sharded fp16 variant)");
            checked += static_cast<int>(entries.size());
            passed += n;
            fs::remove_all(sharded);
        }
        if (dir != folder) {
            fs::remove_all(dir);
        }
    }
    std::cout << "conformance diffusers_layout (folders vs single files, " << maps << " rename maps): " << checked
              << " tensors checked, " << passed << " passed, " << checked - passed << " failed\n";
    CHECK(maps > 0);
    CHECK(checked == passed);
}

TEST_CASE("a lone diffusers VAE component folder opens without prefix", "[conformance][keymap]") {
    SF_REQUIRE_AREA("diffusers_layout");
    const fs::path vae = *sf::test::area_dir("diffusers_layout") / "sd1_tiny" / "vae";
    if (!fs::exists(vae / "diffusion_pytorch_model.safetensors")) {
        SKIP("sd1_tiny/vae absent");
    }
    auto ckpt = sf::Checkpoint::open(vae);
    CHECK(ckpt.size() == 248);
    CHECK(ckpt.contains("decoder.up.3.block.0.conv1.weight"));
    CHECK(ckpt.contains("encoder.mid.attn_1.q.weight"));
    CHECK(ckpt.info("encoder.mid.attn_1.q.weight").shape.size() == 2);  // diffusers Linear layout kept
    auto fi = sf::detect_family(ckpt);
    CHECK(fi.family == sf::Family::vae);
    CHECK(fi.latent_channels == 4);
}

TEST_CASE("diffusers folder errors name what is missing", "[unit][keymap]") {
    auto dir = sf::test::fresh_dir("keymap_errors");
    CHECK_THROWS_AS(sf::Checkpoint::open(dir), sf::Error);  // neither model_index.json nor config.json

    std::ofstream(dir / "model_index.json")
        << R"({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": [null, null]})";
    try {
        sf::Checkpoint::open(dir);
        FAIL("expected an error");
    } catch (const sf::Error& e) {
        CHECK(std::string(e.what()).find("'unet'") != std::string::npos);
    }
    fs::create_directories(dir / "unet");
    std::ofstream(dir / "unet" / "diffusion_pytorch_model.bin") << "x";
    try {
        sf::Checkpoint::open(dir);
        FAIL("expected an error");
    } catch (const sf::Error& e) {
        CHECK(std::string(e.what()).find(".bin") != std::string::npos);
    }
    std::ofstream(dir / "model_index.json") << R"({"_class_name": "FluxPipeline"})";
    try {
        sf::Checkpoint::open(dir);
        FAIL("expected an error");
    } catch (const sf::Error& e) {
        CHECK(std::string(e.what()).find("FluxPipeline") != std::string::npos);
    }
    fs::remove_all(dir);
}
