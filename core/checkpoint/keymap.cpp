// Diffusers folders → the original single-file key layout. The rules mirror what diffusers' own converters
// (single_file_utils: convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint)
// do, run backwards; ../shared/conformance/diffusers_layout/rename_map_*.json checks them tensor by tensor.
// Only names change: the 8 VAE attention weights keep their diffusers Linear shape [C, C] (the original file
// has a 1x1 conv [C, C, 1, 1]); the VAE's AttnBlock accepts both layouts (STYLE.md §2.11: no tensor surgery).
#include "core/checkpoint/keymap.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"

namespace sf {

namespace {

namespace fs = std::filesystem;

using Rename = std::function<std::string(const std::string&)>;

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == '.') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

/// parts[from..] joined with dots, with a leading dot when non-empty.
std::string tail(const std::vector<std::string>& parts, size_t from) {
    std::string out;
    for (size_t i = from; i < parts.size(); ++i) {
        out += "." + parts[i];
    }
    return out;
}

bool is_index(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

/// Number of distinct N in names "<prefix>N.<rest>" (max N + 1).
int64_t count_indices(const std::vector<std::string>& names, const std::string& prefix) {
    int64_t n = 0;
    for (const auto& name : names) {
        if (starts_with(name, prefix)) {
            n = std::max<int64_t>(n, std::atoll(name.c_str() + prefix.size()) + 1);
        }
    }
    return n;
}

// ---- UNet: UNet2DConditionModel → openaimodel.UNetModel ------------------------------------------------

/// ResnetBlock2D → ResBlock member names.
std::string unet_resnet(const std::vector<std::string>& p, size_t at) {
    static const std::map<std::string, std::string> names = {
        {"norm1", "in_layers.0"}, {"conv1", "in_layers.2"},     {"time_emb_proj", "emb_layers.1"},
        {"norm2", "out_layers.0"}, {"conv2", "out_layers.3"},   {"conv_shortcut", "skip_connection"}};
    auto it = at < p.size() ? names.find(p[at]) : names.end();
    return it == names.end() ? std::string() : "." + it->second + tail(p, at + 1);
}

/// The UNet rule set, built from the file's own key list: L = resnets per down level, and which up levels
/// have attention (that decides whether the upsampler is module 1 or 2 of its output block).
Rename unet_rename(const std::vector<std::string>& names) {
    const int64_t L = count_indices(names, "down_blocks.0.resnets.");
    std::set<int64_t> up_attn;
    for (const auto& n : names) {
        auto p = split(n);
        if (p.size() > 3 && p[0] == "up_blocks" && p[2] == "attentions") {
            up_attn.insert(std::atoll(p[1].c_str()));
        }
    }
    return [L, up_attn](const std::string& key) -> std::string {
        static const std::map<std::string, std::string> top = {
            {"conv_in", "input_blocks.0.0"},       {"time_embedding.linear_1", "time_embed.0"},
            {"time_embedding.linear_2", "time_embed.2"}, {"add_embedding.linear_1", "label_emb.0.0"},
            {"add_embedding.linear_2", "label_emb.0.2"}, {"conv_norm_out", "out.0"},
            {"conv_out", "out.2"}};
        auto p = split(key);
        for (const auto& [from, to] : top) {
            auto fp = split(from);
            if (p.size() == fp.size() + 1 && std::equal(fp.begin(), fp.end(), p.begin())) {
                return to + tail(p, fp.size());
            }
        }
        std::string out;
        if (p.size() > 4 && p[0] == "down_blocks" && is_index(p[1]) && is_index(p[3])) {
            int64_t b = std::stoll(p[1]);
            int64_t j = std::stoll(p[3]);
            if (p[2] == "resnets" && !unet_resnet(p, 4).empty()) {
                out = "input_blocks." + std::to_string(b * (L + 1) + j + 1) + ".0" + unet_resnet(p, 4);
            } else if (p[2] == "attentions") {
                out = "input_blocks." + std::to_string(b * (L + 1) + j + 1) + ".1" + tail(p, 4);
            } else if (p[2] == "downsamplers" && j == 0 && p[4] == "conv") {
                out = "input_blocks." + std::to_string((b + 1) * (L + 1)) + ".0.op" + tail(p, 5);
            }
        } else if (p.size() > 3 && p[0] == "mid_block" && is_index(p[2])) {
            if (p[1] == "resnets" && (p[2] == "0" || p[2] == "1") && !unet_resnet(p, 3).empty()) {
                out = std::string("middle_block.") + (p[2] == "0" ? "0" : "2") + unet_resnet(p, 3);
            } else if (p[1] == "attentions" && p[2] == "0") {
                out = "middle_block.1" + tail(p, 3);
            }
        } else if (p.size() > 4 && p[0] == "up_blocks" && is_index(p[1]) && is_index(p[3])) {
            int64_t b = std::stoll(p[1]);
            int64_t j = std::stoll(p[3]);
            if (p[2] == "resnets" && !unet_resnet(p, 4).empty()) {
                out = "output_blocks." + std::to_string(b * (L + 1) + j) + ".0" + unet_resnet(p, 4);
            } else if (p[2] == "attentions") {
                out = "output_blocks." + std::to_string(b * (L + 1) + j) + ".1" + tail(p, 4);
            } else if (p[2] == "upsamplers" && j == 0 && p[4] == "conv") {
                out = "output_blocks." + std::to_string(b * (L + 1) + L) + (up_attn.count(b) ? ".2" : ".1") +
                      ".conv" + tail(p, 5);
            }
        }
        // A name no rule knows keeps its diffusers name, so the strict loader reports it.
        return out.empty() ? key : out;
    };
}

// ---- VAE: AutoencoderKL (diffusers) → ldm AutoencoderKL -------------------------------------------------

std::string vae_resnet(const std::vector<std::string>& p, size_t at) {
    if (at < p.size() && p[at] == "conv_shortcut") {
        return ".nin_shortcut" + tail(p, at + 1);
    }
    return tail(p, at);  // norm1, conv1, norm2, conv2 keep their names
}

/// The VAE rule set; N = number of decoder levels (their order is reversed between the layouts).
Rename vae_rename(const std::vector<std::string>& names) {
    int64_t N = count_indices(names, "decoder.up_blocks.");
    if (N == 0) {
        N = count_indices(names, "encoder.down_blocks.");
    }
    return [N](const std::string& key) -> std::string {
        static const std::map<std::string, std::string> attn = {
            {"group_norm", "norm"}, {"to_q", "q"},   {"query", "q"}, {"to_k", "k"},
            {"key", "k"},           {"to_v", "v"},   {"value", "v"}, {"proj_attn", "proj_out"}};
        auto p = split(key);
        if (p.size() < 2 || (p[0] != "encoder" && p[0] != "decoder")) {
            return key;  // quant_conv, post_quant_conv
        }
        const std::string& half = p[0];
        std::string out;
        if (p[1] == "conv_norm_out") {
            out = half + ".norm_out" + tail(p, 2);
        } else if (p.size() > 5 && p[1] == "down_blocks" && is_index(p[2])) {
            if (p[3] == "resnets") {
                out = half + ".down." + p[2] + ".block." + p[4] + vae_resnet(p, 5);
            } else if (p[3] == "downsamplers" && p[4] == "0" && p[5] == "conv") {
                out = half + ".down." + p[2] + ".downsample.conv" + tail(p, 6);
            }
        } else if (p.size() > 5 && p[1] == "up_blocks" && is_index(p[2])) {
            std::string level = std::to_string(N - 1 - std::stoll(p[2]));
            if (p[3] == "resnets") {
                out = half + ".up." + level + ".block." + p[4] + vae_resnet(p, 5);
            } else if (p[3] == "upsamplers" && p[4] == "0" && p[5] == "conv") {
                out = half + ".up." + level + ".upsample.conv" + tail(p, 6);
            }
        } else if (p.size() > 4 && p[1] == "mid_block") {
            if (p[2] == "resnets" && (p[3] == "0" || p[3] == "1")) {
                out = half + ".mid.block_" + (p[3] == "0" ? "1" : "2") + vae_resnet(p, 4);
            } else if (p[2] == "attentions" && p[3] == "0") {
                if (p[4] == "to_out" && p.size() > 5 && p[5] == "0") {
                    out = half + ".mid.attn_1.proj_out" + tail(p, 6);
                } else if (auto it = attn.find(p[4]); it != attn.end()) {
                    out = half + ".mid.attn_1." + it->second + tail(p, 5);
                }
            }
        }
        return out.empty() ? key : out;  // conv_in, conv_out and unknown names keep theirs
    };
}

// ---- text encoders: transformers CLIPTextModel -----------------------------------------------------------

/// Files from recent transformers releases may lack the "text_model." level; the original layout has it.
std::string clip_rename(const std::string& key) {
    for (const char* top : {"embeddings.", "encoder.", "final_layer_norm."}) {
        if (starts_with(key, top)) {
            return "text_model." + key;
        }
    }
    return key;
}

// ---- the per-family maps ---------------------------------------------------------------------------------

enum class Layout { unet, vae, clip };

/// One subfolder of a diffusers pipeline and where its keys go in the single file.
struct Part {
    const char* subfolder;
    const char* prefix;
    Layout layout;
};

/// SD 1.x: CLIP-L in the HF layout, as the single file stores it.
const std::vector<Part> kSd1 = {{"unet", "model.diffusion_model.", Layout::unet},
                                {"vae", "first_stage_model.", Layout::vae},
                                {"text_encoder", "cond_stage_model.transformer.", Layout::clip}};
/// SD 2.x: diffusers stores OpenCLIP-H as an HF CLIPTextModel (gelu), not in the single file's OpenCLIP layout
/// (q/k/v split); it is kept in the HF layout under the SD1 text prefix, and family detection says so.
const std::vector<Part> kSd2 = {{"unet", "model.diffusion_model.", Layout::unet},
                                {"vae", "first_stage_model.", Layout::vae},
                                {"text_encoder", "cond_stage_model.transformer.", Layout::clip}};
/// SDXL base: CLIP-L (embedder 0) and OpenCLIP-bigG (embedder 1, HF CLIPTextModelWithProjection layout).
const std::vector<Part> kSdxl = {{"unet", "model.diffusion_model.", Layout::unet},
                                 {"vae", "first_stage_model.", Layout::vae},
                                 {"text_encoder", "conditioner.embedders.0.transformer.", Layout::clip},
                                 {"text_encoder_2", "conditioner.embedders.1.transformer.", Layout::clip}};
/// SDXL refiner: OpenCLIP-bigG only, as embedder 0.
const std::vector<Part> kSdxlRefiner = {{"unet", "model.diffusion_model.", Layout::unet},
                                        {"vae", "first_stage_model.", Layout::vae},
                                        {"text_encoder_2", "conditioner.embedders.0.transformer.", Layout::clip}};

json::Value read_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("cannot read '" + path.string() + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const Error& e) {
        throw Error("'" + path.string() + "': " + e.what());
    }
}

/// The weight files of one component folder: sharded index, single file, then the fp16 variants.
std::vector<fs::path> component_files(const fs::path& dir) {
    std::error_code ec;
    for (const char* stem : {"diffusion_pytorch_model", "model"}) {
        const std::string s = stem;
        for (const auto& [index, single] : std::vector<std::pair<std::string, std::string>>{
                 {s + ".safetensors.index.json", s + ".safetensors"},
                 {s + ".safetensors.index.fp16.json", s + ".fp16.safetensors"}}) {
            if (fs::exists(dir / index, ec)) {
                auto j = read_json(dir / index);
                const auto* map = j.find("weight_map");
                if (!map || !map->is_object()) {
                    throw Error("'" + (dir / index).string() + "' has no weight_map");
                }
                std::set<std::string> shards;
                for (const auto& [tensor, file] : map->members()) {
                    shards.insert(file.as_string());
                }
                std::vector<fs::path> out;
                for (const auto& f : shards) {
                    if (f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "..") {
                        throw Error("'" + (dir / index).string() + "': shard name '" + f + "' is not a plain file name");
                    }
                    out.push_back(dir / f);
                }
                return out;
            }
            if (fs::exists(dir / single, ec)) {
                return {dir / single};
            }
        }
    }
    for (const char* bin : {"diffusion_pytorch_model.bin", "pytorch_model.bin", "diffusion_pytorch_model.fp16.bin",
                            "pytorch_model.fp16.bin"}) {
        if (fs::exists(dir / bin, ec)) {
            throw Error("'" + dir.string() + "' holds only PyTorch pickle weights (" + bin +
                        "); Sfumato reads .safetensors only (convert the folder, or download the safetensors files)");
        }
    }
    throw Error("diffusers component folder '" + dir.string() +
                "' has no weights (looked for diffusion_pytorch_model[.fp16].safetensors, model[.fp16].safetensors "
                "and their .safetensors.index[.fp16].json)");
}

/// Adds one component's files to `ckpt`, renamed into the single-file layout under `part.prefix`.
void add_component(Checkpoint& ckpt, const fs::path& dir, const Part& part, Validation validation) {
    std::vector<std::shared_ptr<SafetensorsFile>> files;
    std::vector<std::string> names;
    for (const auto& path : component_files(dir)) {
        files.push_back(SafetensorsFile::open(path, validation));
        for (const auto& t : files.back()->tensors()) {
            names.push_back(t.name);
        }
    }
    Rename inner;
    switch (part.layout) {
        case Layout::unet: inner = unet_rename(names); break;
        case Layout::vae: inner = vae_rename(names); break;
        case Layout::clip: inner = clip_rename; break;
    }
    const std::string prefix = part.prefix;
    for (const auto& f : files) {
        ckpt.add_file(f, [&](const std::string& key) { return prefix + inner(key); });
    }
}

/// The diffusers class named by a component entry ["library", "Class"], or "" for [null, null] / absent.
std::string component_class(const json::Value& index, const char* name) {
    const auto* v = index.find(name);
    if (!v || !v->is_array() || v->size() != 2 || !v->at(size_t{1}).is_string()) {
        return {};
    }
    return v->at(size_t{1}).as_string();
}

/// A single component folder (config.json + weights), e.g. a bare unet/ or vae/ folder.
Checkpoint open_component_folder(const fs::path& folder, Validation validation) {
    auto config = read_json(folder / "config.json");
    std::string cls = config.get("_class_name", "");
    std::string arch;
    if (const auto* a = config.find("architectures"); a && a->is_array() && a->size() > 0 && a->at(size_t{0}).is_string()) {
        arch = a->at(size_t{0}).as_string();
    }
    Checkpoint ckpt;
    ckpt.set_path(folder);
    if (cls == "UNet2DConditionModel") {
        add_component(ckpt, folder, kSd1[0], validation);
    } else if (cls == "AutoencoderKL") {
        add_component(ckpt, folder, Part{"vae", "", Layout::vae}, validation);
    } else if (arch == "CLIPTextModel" || arch == "CLIPTextModelWithProjection") {
        add_component(ckpt, folder, kSd1[2], validation);
    } else {
        throw Error("diffusers folder '" + folder.string() + "': component class '" + (cls.empty() ? arch : cls) +
                    "' is not supported (UNet2DConditionModel, AutoencoderKL, CLIPTextModel are)");
    }
    return ckpt;
}

}  // namespace

Checkpoint open_diffusers_folder(const fs::path& folder, Validation validation) {
    std::error_code ec;
    if (!fs::exists(folder / "model_index.json", ec)) {
        if (fs::exists(folder / "config.json", ec)) {
            return open_component_folder(folder, validation);
        }
        throw Error("folder '" + folder.string() +
                    "' is not a diffusers model (no model_index.json, no config.json); open a .safetensors file or "
                    "a diffusers folder");
    }
    auto index = read_json(folder / "model_index.json");
    const std::string cls = index.get("_class_name", "");

    const std::vector<Part>* parts = nullptr;
    if (cls.find("StableDiffusionXL") == 0) {
        bool refiner = component_class(index, "text_encoder").empty() && !component_class(index, "text_encoder_2").empty();
        parts = refiner ? &kSdxlRefiner : &kSdxl;
    } else if (cls.find("StableDiffusion") == 0 && cls.find("StableDiffusion3") != 0) {
        // SD1 and SD2 differ only in the UNet's hyper-parameters; the rename rules are the same.
        bool sd2 = false;
        if (fs::exists(folder / "unet" / "config.json", ec)) {
            auto uc = read_json(folder / "unet" / "config.json");
            const auto* linear = uc.find("use_linear_projection");
            const auto* context = uc.find("cross_attention_dim");
            sd2 = (linear && linear->is_bool() && linear->as_bool()) ||
                  (context && context->is_integer() && context->as_int() == 1024);
        }
        parts = sd2 ? &kSd2 : &kSd1;
    } else {
        throw Error("diffusers folder '" + folder.string() + "': pipeline '" + cls +
                    "' is not supported (StableDiffusionPipeline for SD 1.x / 2.x and StableDiffusionXLPipeline are)");
    }

    Checkpoint ckpt;
    ckpt.set_path(folder);
    std::vector<std::string> absent;
    for (const auto& part : *parts) {
        if (component_class(index, part.subfolder).empty()) {
            absent.emplace_back(part.subfolder);
            continue;
        }
        fs::path dir = folder / part.subfolder;
        if (!fs::is_directory(dir, ec)) {
            throw Error("diffusers folder '" + folder.string() + "': component '" + part.subfolder +
                        "' is listed in model_index.json but the folder is missing");
        }
        add_component(ckpt, dir, part, validation);
    }
    if (!absent.empty()) {
        std::string list;
        for (const auto& a : absent) {
            list += (list.empty() ? "" : ", ") + a;
        }
        log_info("diffusers folder '" + folder.string() + "': components absent ([null, null]): " + list);
    }
    if (ckpt.size() == 0) {
        throw Error("diffusers folder '" + folder.string() + "' holds no model component (unet, vae, text_encoder)");
    }
    return ckpt;
}

}  // namespace sf
