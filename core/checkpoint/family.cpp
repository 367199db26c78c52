// Family detection from key names and shapes. Layouts: CompVis/stable-diffusion and Stability-AI/stablediffusion
// (SD1/SD2), Stability-AI/generative-models (SDXL), Stability-AI/sd3.5 (MMDiT), black-forest-labs/flux,
// facebookresearch/DiT, madebyollin/taesd, kohya-ss/sd-scripts and huggingface/peft (LoRA).
#include "core/checkpoint/family.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/error.h"

namespace sf {

namespace {

/// Sorted key list with the few queries detection needs.
class Keys {
public:
    explicit Keys(const Checkpoint& ckpt) : ckpt_(ckpt), keys_(ckpt.keys()) {}

    bool has(const std::string& key) const { return std::binary_search(keys_.begin(), keys_.end(), key); }

    bool has_prefix(const std::string& prefix) const {
        auto it = std::lower_bound(keys_.begin(), keys_.end(), prefix);
        return it != keys_.end() && it->compare(0, prefix.size(), prefix) == 0;
    }

    size_t count_prefix(const std::string& prefix) const {
        size_t n = 0;
        for (auto it = std::lower_bound(keys_.begin(), keys_.end(), prefix);
             it != keys_.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
            ++n;
        }
        return n;
    }

    /// True when any key contains `part`.
    bool any_contains(const std::string& part) const {
        return std::any_of(keys_.begin(), keys_.end(),
                           [&](const std::string& k) { return k.find(part) != std::string::npos; });
    }

    /// The first key (in sorted order) that contains `part`, or "".
    std::string first_containing(const std::string& part) const {
        for (const auto& k : keys_) {
            if (k.find(part) != std::string::npos) {
                return k;
            }
        }
        return {};
    }

    /// Shape of a key, or empty when absent.
    std::vector<int64_t> shape(const std::string& key) const {
        return has(key) ? ckpt_.info(key).shape : std::vector<int64_t>{};
    }

    /// Dimension `d` of a key's shape, or -1 when absent or of lower rank.
    int64_t dim(const std::string& key, size_t d) const {
        auto s = shape(key);
        return d < s.size() ? s[d] : -1;
    }

    /// Number of distinct N in keys "<prefix>N.<rest>" (max N + 1; 0 when none).
    int64_t count_indices(const std::string& prefix) const {
        int64_t n = 0;
        for (auto it = std::lower_bound(keys_.begin(), keys_.end(), prefix);
             it != keys_.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
            size_t p = prefix.size();
            int64_t v = 0;
            bool digit = false;
            while (p < it->size() && std::isdigit(static_cast<unsigned char>((*it)[p]))) {
                v = v * 10 + ((*it)[p] - '0');
                digit = true;
                ++p;
            }
            if (digit) {
                n = std::max(n, v + 1);
            }
        }
        return n;
    }

    const std::vector<std::string>& all() const { return keys_; }

private:
    const Checkpoint& ckpt_;
    std::vector<std::string> keys_;
};

// ---- text encoders -------------------------------------------------------------------------------------

/// Adds a text encoder component when keys exist under `prefix`; picks the layout from the keys.
void add_text_encoder(const Keys& k, FamilyInfo& fi, const std::string& role, const std::string& prefix) {
    if (!k.has_prefix(prefix)) {
        return;
    }
    std::string desc;
    std::string kind;
    if (k.has_prefix(prefix + "transformer.resblocks.") || k.has(prefix + "token_embedding.weight")) {
        kind = "open_clip_text";
        desc = "OpenCLIP width " + std::to_string(k.dim(prefix + "token_embedding.weight", 1)) + ", " +
               std::to_string(k.count_indices(prefix + "transformer.resblocks.")) + " layers";
    } else if (k.has_prefix(prefix + "encoder.block.") || k.has(prefix + "shared.weight")) {
        kind = "t5";
        int64_t w = k.dim(prefix + "shared.weight", 1);
        desc = "T5 encoder width " + std::to_string(w) + ", " + std::to_string(k.count_indices(prefix + "encoder.block.")) +
               " layers";
    } else {
        kind = "clip_text";  // HF CLIPTextModel, with or without the "text_model." level
        std::string tm = k.has_prefix(prefix + "text_model.") ? prefix + "text_model." : prefix;
        desc = "CLIP width " + std::to_string(k.dim(tm + "embeddings.token_embedding.weight", 1)) + ", " +
               std::to_string(k.count_indices(tm + "encoder.layers.")) + " layers";
        if (k.has(prefix + "text_projection.weight")) {
            desc += ", projection";
        }
    }
    fi.components.push_back({role, kind, prefix});
    fi.summary.emplace_back(role, desc);
}

/// Width of a text encoder component (token embedding columns), or -1.
int64_t text_width(const Keys& k, const Component& c) {
    if (c.kind == "open_clip_text") {
        return k.dim(c.prefix + "token_embedding.weight", 1);
    }
    std::string tm = k.has_prefix(c.prefix + "text_model.") ? c.prefix + "text_model." : c.prefix;
    return k.dim(tm + "embeddings.token_embedding.weight", 1);
}

// ---- VAE -----------------------------------------------------------------------------------------------

/// Adds the KL autoencoder when keys exist under `prefix`.
void add_vae(const Keys& k, FamilyInfo& fi, const std::string& prefix) {
    if (!k.has(prefix + "encoder.conv_in.weight") && !k.has(prefix + "decoder.conv_in.weight")) {
        return;
    }
    fi.components.push_back({"vae", "autoencoder_kl", prefix});
    int64_t ch = k.dim(prefix + "encoder.conv_in.weight", 0);
    if (ch < 0) {
        ch = k.dim(prefix + "decoder.conv_out.weight", 1);
    }
    int64_t z = k.dim(prefix + "decoder.conv_in.weight", 1);
    int64_t levels = k.count_indices(prefix + "encoder.down.");
    if (levels == 0) {
        levels = k.count_indices(prefix + "decoder.up.");
    }
    std::string desc = "KL autoencoder ch " + std::to_string(ch) + ", latent " + std::to_string(z) + ", " +
                       std::to_string(levels) + " levels";
    if (!k.has_prefix(prefix + "encoder.")) {
        desc += ", decoder only";
    }
    fi.summary.emplace_back("vae", desc);
    if (k.has_prefix(prefix + "encoder.down_blocks.") || k.has_prefix(prefix + "decoder.up_blocks.")) {
        fi.notes.push_back("VAE keys use the diffusers layout (down_blocks/up_blocks), not the original one");
    }
}

// ---- UNet families (SD1, SD2, SDXL) --------------------------------------------------------------------

constexpr const char* kUnet = "model.diffusion_model.";

/// First cross-attention context width under the UNet prefix (attn2.to_k input features), or -1.
int64_t unet_context_dim(const Keys& k) {
    std::string key = k.first_containing(".attn2.to_k.weight");
    return key.empty() ? -1 : k.dim(key, 1);
}

FamilyInfo detect_unet_family(const Keys& k) {
    const std::string u = kUnet;
    FamilyInfo fi;
    int64_t in_ch = k.dim(u + "input_blocks.0.0.weight", 1);
    int64_t mc = k.dim(u + "input_blocks.0.0.weight", 0);
    int64_t out_ch = k.dim(u + "out.2.weight", 0);
    int64_t levels = 1;
    for (int64_t i = 1; i < k.count_indices(u + "input_blocks."); ++i) {
        if (k.has(u + "input_blocks." + std::to_string(i) + ".0.op.weight")) {
            ++levels;
        }
    }
    int64_t context = unet_context_dim(k);
    std::string proj = k.first_containing(".proj_in.weight");
    size_t proj_rank = proj.empty() ? 0 : k.shape(proj).size();
    bool label_emb = k.has(u + "label_emb.0.0.weight");
    int64_t adm = k.dim(u + "label_emb.0.0.weight", 1);
    int64_t depth = 0;
    for (const auto& key : k.all()) {
        auto pos = key.find(".transformer_blocks.");
        if (key.compare(0, u.size(), u) == 0 && pos != std::string::npos) {
            depth = std::max<int64_t>(depth, std::atoll(key.c_str() + pos + 20) + 1);
        }
    }

    bool te_sd1 = k.has_prefix("cond_stage_model.transformer.");
    bool te_sd2 = k.has_prefix("cond_stage_model.model.");
    bool te_xl0_open = k.has_prefix("conditioner.embedders.0.model.");

    if (label_emb) {
        bool refiner = te_xl0_open || (!k.has_prefix("conditioner.embedders.") && levels == 4);
        if (refiner) {
            fi.family = Family::sdxl_refiner;
            fi.name = "SDXL refiner";
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.0.model.");
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.0.transformer.");
        } else {
            fi.family = Family::sdxl_base;
            fi.name = "SDXL base";
            add_text_encoder(k, fi, "text_encoder", "conditioner.embedders.0.transformer.");
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.1.model.");
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.1.transformer.");
        }
        fi.latent_scale = 0.13025;
    } else if (te_sd2 || (proj_rank == 2 && !te_sd1)) {
        fi.family = Family::sd2;
        fi.name = "SD 2.x";
        fi.prediction = Prediction::v;
        fi.notes.push_back(
            "SD2: v-prediction (768-v models) and epsilon (512-base models) cannot be told from the weights; "
            "assuming v-prediction");
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.model.");
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.transformer.");
    } else if (te_sd1 && proj_rank == 2) {
        // A diffusers SD2 folder: its OpenCLIP-H text encoder is stored in the HF CLIPTextModel layout.
        fi.family = Family::sd2;
        fi.name = "SD 2.x";
        fi.prediction = Prediction::v;
        fi.notes.push_back(
            "SD2: v-prediction (768-v models) and epsilon (512-base models) cannot be told from the weights; "
            "assuming v-prediction");
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.transformer.");
    } else {
        fi.family = Family::sd1;
        fi.name = "SD 1.x";
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.transformer.");
        if (proj_rank == 0) {
            fi.notes.push_back("UNet has no attention layers; SD 1.x assumed");
        }
    }
    fi.components.push_back({"unet", "unet", u});
    fi.latent_channels = static_cast<int>(out_ch > 0 ? out_ch : 4);

    std::string desc = "in " + std::to_string(in_ch) + ", out " + std::to_string(out_ch) + ", model_channels " +
                       std::to_string(mc) + ", " + std::to_string(levels) + " levels, context_dim " +
                       std::to_string(context) + ", transformer depth " + std::to_string(depth) + ", proj_in " +
                       (proj_rank == 2 ? "linear" : proj_rank == 4 ? "conv" : "none");
    if (label_emb) {
        desc += ", adm_in_channels " + std::to_string(adm);
    }
    fi.summary.emplace_back("unet", desc);
    add_vae(k, fi, "first_stage_model.");

    if (in_ch == 9) {
        fi.notes.push_back("UNet takes 9 input channels: an inpainting model");
    } else if (in_ch == 8) {
        fi.notes.push_back("UNet takes 8 input channels: an instruct-pix2pix style model");
    } else if (in_ch == 5) {
        fi.notes.push_back("UNet takes 5 input channels: a depth-conditioned model");
    }
    for (const auto& c : fi.components) {
        if (c.role.rfind("text_encoder", 0) == 0 && context > 0 && fi.family != Family::sdxl_base) {
            int64_t w = text_width(k, c);
            if (w > 0 && w != context && fi.family != Family::sdxl_refiner) {
                fi.notes.push_back(c.role + " width " + std::to_string(w) + " differs from the UNet context_dim " +
                                   std::to_string(context));
            }
        }
    }
    if (!fi.find("text_encoder") && !fi.find("text_encoder_2")) {
        fi.notes.push_back("no text encoder in this file");
    }
    if (!fi.find("vae")) {
        fi.notes.push_back("no VAE in this file");
    }
    return fi;
}

// ---- transformers (SD3, FLUX, DiT) ---------------------------------------------------------------------

FamilyInfo detect_mmdit(const Keys& k) {
    const std::string u = kUnet;
    FamilyInfo fi;
    fi.family = Family::sd3;
    fi.prediction = Prediction::flow;
    fi.latent_scale = 1.5305;
    fi.latent_shift = 0.0609;
    int64_t hidden = k.dim(u + "x_embedder.proj.weight", 0);
    int64_t patch = k.dim(u + "x_embedder.proj.weight", 2);
    int64_t in_ch = k.dim(u + "x_embedder.proj.weight", 1);
    int64_t depth = k.count_indices(u + "joint_blocks.");
    bool qk = k.has(u + "joint_blocks.0.context_block.attn.ln_k.weight");
    int64_t x_layers = 0;
    for (int64_t i = 0; i < depth; ++i) {
        if (k.has(u + "joint_blocks." + std::to_string(i) + ".x_block.attn2.qkv.weight")) {
            ++x_layers;
        }
    }
    fi.name = x_layers > 0 ? "SD 3.5 medium (MMDiT-X)" : qk ? "SD 3.5 (MMDiT, qk-norm)" : "SD 3 (MMDiT)";
    add_text_encoder(k, fi, "text_encoder", "text_encoders.clip_l.transformer.");
    add_text_encoder(k, fi, "text_encoder_2", "text_encoders.clip_g.transformer.");
    add_text_encoder(k, fi, "text_encoder_3", "text_encoders.t5xxl.transformer.");
    fi.components.push_back({"transformer", "mmdit", u});
    add_vae(k, fi, "first_stage_model.");
    fi.latent_channels = static_cast<int>(in_ch);
    int64_t pos = k.dim(u + "pos_embed", 1);
    fi.summary.emplace_back(
        "transformer", "MMDiT depth " + std::to_string(depth) + ", hidden " + std::to_string(hidden) + ", patch " +
                           std::to_string(patch) + ", in " + std::to_string(in_ch) + ", pos_embed " +
                           std::to_string(pos) + " tokens, adm " +
                           std::to_string(k.dim(u + "y_embedder.mlp.0.weight", 1)) + ", context " +
                           std::to_string(k.dim(u + "context_embedder.weight", 1)) + (qk ? ", qk-norm" : "") +
                           (x_layers > 0 ? ", " + std::to_string(x_layers) + " MMDiT-X blocks" : ""));
    return fi;
}

FamilyInfo detect_flux(const Keys& k, const std::string& p) {
    FamilyInfo fi;
    bool dev = k.has(p + "guidance_in.in_layer.weight");
    fi.family = dev ? Family::flux_dev : Family::flux_schnell;
    fi.name = dev ? "FLUX.1 dev" : "FLUX.1 schnell";
    fi.prediction = Prediction::flow;
    fi.latent_scale = 0.3611;
    fi.latent_shift = 0.1159;
    fi.notes.push_back(dev ? "guidance_in present: guidance-distilled (dev-like); use distilled guidance, not CFG"
                           : "no guidance_in: timestep-distilled (schnell-like); few steps, no guidance");
    add_text_encoder(k, fi, "text_encoder", "text_encoders.clip_l.transformer.");
    add_text_encoder(k, fi, "text_encoder_2", "text_encoders.t5xxl.transformer.");
    fi.components.push_back({"transformer", "flux", p});
    add_vae(k, fi, "vae.");
    add_vae(k, fi, "first_stage_model.");
    int64_t hidden = k.dim(p + "img_in.weight", 0);
    int64_t in = k.dim(p + "img_in.weight", 1);
    fi.latent_channels = static_cast<int>(in > 0 ? in / 4 : 16);
    fi.summary.emplace_back("transformer",
                            "FLUX hidden " + std::to_string(hidden) + ", " +
                                std::to_string(k.count_indices(p + "double_blocks.")) + " double + " +
                                std::to_string(k.count_indices(p + "single_blocks.")) + " single blocks, in " +
                                std::to_string(in) + ", context " + std::to_string(k.dim(p + "txt_in.weight", 1)) +
                                ", vec " + std::to_string(k.dim(p + "vector_in.in_layer.weight", 1)) +
                                (dev ? ", guidance_in" : ""));
    return fi;
}

FamilyInfo detect_dit(const Keys& k) {
    FamilyInfo fi;
    fi.family = Family::dit;
    fi.name = "DiT";
    int64_t hidden = k.dim("x_embedder.proj.weight", 0);
    int64_t in = k.dim("x_embedder.proj.weight", 1);
    int64_t patch = k.dim("x_embedder.proj.weight", 2);
    int64_t out = k.dim("final_layer.linear.weight", 0);
    int64_t out_ch = patch > 0 ? out / (patch * patch) : -1;
    fi.components.push_back({"transformer", "dit", ""});
    fi.latent_channels = static_cast<int>(in);
    if (out_ch == 2 * in) {
        fi.notes.push_back("learn_sigma: the output carries epsilon and the variance interpolation");
    }
    fi.notes.push_back("class-conditional (ImageNet labels); decodes with the SD KL VAE (not in this file)");
    fi.summary.emplace_back("transformer", "DiT depth " + std::to_string(k.count_indices("blocks.")) + ", hidden " +
                                               std::to_string(hidden) + ", patch " + std::to_string(patch) +
                                               ", in " + std::to_string(in) + ", out " + std::to_string(out_ch) +
                                               ", classes " +
                                               std::to_string(k.dim("y_embedder.embedding_table.weight", 0) - 1));
    return fi;
}

// ---- TAESD ---------------------------------------------------------------------------------------------

FamilyInfo detect_taesd(const Keys& k) {
    FamilyInfo fi;
    fi.prediction = Prediction::none;
    fi.latent_scale = 1.0;
    int64_t n = k.count_indices("");
    bool pool = k.any_contains(".pool.0.weight");
    if (k.has("0.weight") && k.dim("0.weight", 1) == 3) {
        fi.family = Family::taesd_encoder;
        fi.name = "TAESD encoder";
        fi.components.push_back({"vae_encoder", "taesd_encoder", ""});
        fi.latent_channels = static_cast<int>(k.dim(std::to_string(n - 1) + ".weight", 0));
    } else {
        fi.family = Family::taesd_decoder;
        fi.name = "TAESD decoder";
        fi.components.push_back({"vae_decoder", "taesd_decoder", ""});
        fi.latent_channels = static_cast<int>(k.dim("1.weight", 1));
    }
    fi.notes.push_back("tiny autoencoder for previews: images in [0,1], raw (unscaled) latents");
    fi.summary.emplace_back(fi.components[0].role, std::to_string(n) + " layers, width " +
                                                       std::to_string(k.dim("1.conv.0.weight", 0) > 0
                                                                          ? k.dim("1.conv.0.weight", 0)
                                                                          : k.dim("3.conv.0.weight", 0)) +
                                                       ", latent " + std::to_string(fi.latent_channels) +
                                                       (pool ? ", pool branches (taef2)" : ""));
    return fi;
}

// ---- LoRA ----------------------------------------------------------------------------------------------

bool is_lora_key(const std::string& key) {
    for (const char* part : {"lora_down.", "lora_up.", ".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.",
                             "_lora.down.", "_lora.up.", ".hada_w1_a", ".lokr_w1"}) {
        if (key.find(part) != std::string::npos) {
            return true;
        }
    }
    return false;
}

FamilyInfo detect_lora(const Keys& k) {
    FamilyInfo fi;
    fi.family = Family::lora;
    fi.prediction = Prediction::none;
    std::string style;
    if (k.has_prefix("lora_unet_") || k.has_prefix("lora_te") || k.has_prefix("lora_transformer_")) {
        style = "kohya";
        for (const auto& [role, prefix] : std::vector<std::pair<std::string, std::string>>{
                 {"unet", "lora_unet_"},
                 {"transformer", "lora_transformer_"},
                 {"text_encoder", "lora_te_"},
                 {"text_encoder", "lora_te1_"},
                 {"text_encoder_2", "lora_te2_"},
                 {"text_encoder_3", "lora_te3_"}}) {
            if (k.has_prefix(prefix)) {
                fi.components.push_back({role, "lora", prefix});
            }
        }
    } else {
        style = k.any_contains(".lora_A.") ? "peft" : "diffusers";
        for (const auto& [role, prefix] : std::vector<std::pair<std::string, std::string>>{
                 {"unet", "unet."},
                 {"transformer", "transformer."},
                 {"text_encoder", "text_encoder."},
                 {"text_encoder_2", "text_encoder_2."},
                 {"model", "base_model.model."}}) {
            if (k.has_prefix(prefix)) {
                fi.components.push_back({role, "lora", prefix});
            }
        }
        if (fi.components.empty()) {
            fi.components.push_back({"model", "lora", ""});
        }
    }
    // Rank and target: the first down/A matrix; the cross-attention key projection's input width tells the base.
    int64_t modules = 0;
    int64_t rank = -1;
    int64_t context = -1;
    bool hada = false;
    for (const auto& key : k.all()) {
        bool down = key.find("lora_down.weight") != std::string::npos ||
                    key.find(".lora_A.weight") != std::string::npos || key.find("lora.down.weight") != std::string::npos;
        if (key.find(".hada_w1_a") != std::string::npos || key.find(".lokr_w1") != std::string::npos) {
            hada = true;
            ++modules;
        }
        if (!down) {
            continue;
        }
        ++modules;
        if (rank < 0) {
            rank = k.dim(key, 0);
        }
        if (context < 0 && (key.find("attn2_to_k") != std::string::npos || key.find("attn2.to_k") != std::string::npos ||
                            key.find("attn2.processor.to_k") != std::string::npos)) {
            context = k.dim(key, 1);
        }
    }
    std::string base;
    if (k.has_prefix("lora_te2_") || k.has_prefix("text_encoder_2.") || context == 2048) {
        base = "SDXL";
    } else if (k.any_contains("double_blocks") || k.any_contains("single_blocks") ||
               k.any_contains("single_transformer_blocks")) {
        base = "FLUX.1";
    } else if (k.any_contains("joint_blocks")) {
        base = "SD3";
    } else if (context == 1024) {
        base = "SD 2.x";
    } else if (context == 768) {
        base = "SD 1.x";
    }
    fi.name = std::string(hada ? "LyCORIS" : "LoRA") + " (" + style + (base.empty() ? "" : ", for " + base) + ")";
    fi.summary.emplace_back("lora", std::to_string(modules) + " modules, rank " + std::to_string(rank) +
                                        (context > 0 ? ", cross-attention width " + std::to_string(context) : ""));
    fi.notes.push_back("an adapter: apply it to a base model; it cannot generate alone");
    return fi;
}

// ---- components only (no denoiser) -------------------------------------------------------------------------

FamilyInfo detect_parts(const Keys& k) {
    FamilyInfo fi;
    if (k.has_prefix("conditioner.embedders.")) {
        bool refiner = k.has_prefix("conditioner.embedders.0.model.") && !k.has_prefix("conditioner.embedders.1.");
        fi.family = refiner ? Family::sdxl_refiner : Family::sdxl_base;
        fi.name = refiner ? "SDXL refiner" : "SDXL base";
        fi.latent_scale = 0.13025;
        if (refiner) {
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.0.model.");
        } else {
            add_text_encoder(k, fi, "text_encoder", "conditioner.embedders.0.transformer.");
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.1.model.");
            add_text_encoder(k, fi, "text_encoder_2", "conditioner.embedders.1.transformer.");
        }
    } else if (k.has_prefix("cond_stage_model.model.")) {
        fi.family = Family::sd2;
        fi.name = "SD 2.x";
        fi.prediction = Prediction::v;
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.model.");
    } else if (k.has_prefix("cond_stage_model.transformer.")) {
        fi.family = Family::sd1;
        fi.name = "SD 1.x";
        add_text_encoder(k, fi, "text_encoder", "cond_stage_model.transformer.");
    } else if (k.has("first_stage_model.decoder.conv_in.weight") || k.has("first_stage_model.encoder.conv_in.weight")) {
        fi.family = Family::vae;
        fi.name = "VAE";
        fi.prediction = Prediction::none;
    } else if (k.has("decoder.conv_in.weight") || k.has("encoder.conv_in.weight")) {
        fi.family = Family::vae;
        fi.name = "VAE";
        fi.prediction = Prediction::none;
        add_vae(k, fi, "");
    } else {
        return fi;  // no components: the caller reports
    }
    if (fi.family != Family::vae || fi.components.empty()) {
        add_vae(k, fi, "first_stage_model.");
    }
    if (fi.family == Family::vae) {
        const Component& c = fi.components.front();
        fi.latent_channels = static_cast<int>(std::max<int64_t>(k.dim(c.prefix + "decoder.conv_in.weight", 1), 1));
        if (fi.latent_channels == 16) {
            fi.notes.push_back("16-channel VAE (SD3 / FLUX.1 latent space): scale and shift depend on the model");
        } else {
            fi.notes.push_back("standalone VAE: the latent scale (0.18215 SD1/SD2, 0.13025 SDXL) depends on the "
                               "model it is used with");
        }
    } else {
        fi.notes.push_back("no denoiser (UNet) in this file: only " + std::string(fi.components.size() > 1 ? "parts" : "one part") +
                           " of a " + fi.name + " model");
    }
    return fi;
}

}  // namespace

const Component* FamilyInfo::find(const std::string& role) const {
    for (const auto& c : components) {
        if (c.role == role) {
            return &c;
        }
    }
    return nullptr;
}

FamilyInfo detect_family(const Checkpoint& ckpt) {
    Keys k(ckpt);
    const std::string u = kUnet;
    if (std::any_of(k.all().begin(), k.all().end(), is_lora_key)) {
        return detect_lora(k);
    }
    if (k.has("1.conv.0.weight") || k.has("3.conv.0.weight")) {
        return detect_taesd(k);
    }
    if (k.has(u + "input_blocks.0.0.weight")) {
        return detect_unet_family(k);
    }
    if (k.has(u + "x_embedder.proj.weight") && k.has_prefix(u + "joint_blocks.")) {
        return detect_mmdit(k);
    }
    if (k.has(u + "img_in.weight") && k.has_prefix(u + "double_blocks.")) {
        return detect_flux(k, u);
    }
    if (k.has("img_in.weight") && k.has_prefix("double_blocks.")) {
        return detect_flux(k, "");
    }
    if (k.has("x_embedder.proj.weight") && k.has_prefix("blocks.") && k.has("y_embedder.embedding_table.weight")) {
        return detect_dit(k);
    }
    FamilyInfo parts = detect_parts(k);
    if (!parts.components.empty()) {
        return parts;
    }
    std::ostringstream msg;
    msg << "cannot tell which model '" << ckpt.path().string() << "' holds (" << ckpt.size() << " tensors";
    const auto& all = k.all();
    for (size_t i = 0; i < std::min<size_t>(3, all.size()); ++i) {
        msg << (i == 0 ? ", e.g. " : ", ") << all[i];
    }
    msg << "). Looked for: SD1/SD2/SDXL UNet 'model.diffusion_model.input_blocks.0.0.weight'; "
           "SD3 MMDiT 'model.diffusion_model.joint_blocks.*'; FLUX.1 'double_blocks.*' + 'img_in.weight' "
           "(at the root or under 'model.diffusion_model.'); DiT 'blocks.*' + 'x_embedder.proj.weight' + "
           "'y_embedder.embedding_table.weight'; TAESD '1.conv.0.weight' / '3.conv.0.weight'; "
           "VAE 'encoder.conv_in.weight' / 'decoder.conv_in.weight' (at the root or under 'first_stage_model.'); "
           "text encoders 'cond_stage_model.transformer.', 'cond_stage_model.model.', 'conditioner.embedders.'; "
           "LoRA '*lora_down*', '*lora_A*', '*.lora.down*', '*hada_w1_a*', '*lokr_w1*'";
    throw Error(msg.str());
}

std::string to_string(Family family) {
    switch (family) {
        case Family::sd1: return "sd1";
        case Family::sd2: return "sd2";
        case Family::sdxl_base: return "sdxl_base";
        case Family::sdxl_refiner: return "sdxl_refiner";
        case Family::sd3: return "sd3";
        case Family::flux_dev: return "flux_dev";
        case Family::flux_schnell: return "flux_schnell";
        case Family::dit: return "dit";
        case Family::taesd_encoder: return "taesd_encoder";
        case Family::taesd_decoder: return "taesd_decoder";
        case Family::vae: return "vae";
        case Family::lora: return "lora";
    }
    return "unknown";
}

std::string to_string(Prediction prediction) {
    switch (prediction) {
        case Prediction::epsilon: return "epsilon";
        case Prediction::v: return "v";
        case Prediction::flow: return "flow";
        case Prediction::none: return "none";
    }
    return "unknown";
}

}  // namespace sf
