// Which model a checkpoint holds, told from its key names and shapes alone, and where each of its parts
// lives: the one place that knows the per-family key prefixes (STYLE.md §3.3 rule 6).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/checkpoint/checkpoint.h"

namespace sf {

/// The model families Sfumato can tell apart.
enum class Family {
    sd1,            ///< Stable Diffusion 1.x (CLIP-L, UNet with conv proj_in)
    sd2,            ///< Stable Diffusion 2.x (OpenCLIP-H, UNet with linear proj_in)
    sdxl_base,      ///< SDXL base (CLIP-L + OpenCLIP-bigG, UNet with label_emb)
    sdxl_refiner,   ///< SDXL refiner (OpenCLIP-bigG only, 4-level UNet with label_emb)
    sd3,            ///< SD3 / SD3.5 MMDiT (and MMDiT-X)
    flux_dev,       ///< FLUX.1 with guidance embedding (dev)
    flux_schnell,   ///< FLUX.1 without guidance embedding (schnell)
    dit,            ///< class-conditional DiT (facebookresearch/DiT)
    taesd_encoder,  ///< tiny autoencoder, encoder half
    taesd_decoder,  ///< tiny autoencoder, decoder half
    vae,            ///< standalone KL autoencoder (encoder.* / decoder.* at the root)
    lora,           ///< LoRA / LyCORIS adapter
};

/// What a model predicts, as the sampler's denoiser must interpret it.
enum class Prediction { epsilon, v, flow, none };

/// One part of a checkpoint.
struct Component {
    std::string role;    ///< "text_encoder", "text_encoder_2", "text_encoder_3", "unet", "transformer", "vae", ...
    std::string kind;    ///< key layout: "clip_text" (HF CLIPTextModel), "open_clip_text", "t5", "unet", "mmdit",
                         ///< "flux", "dit", "autoencoder_kl", "taesd_encoder", "taesd_decoder", "lora"
    std::string prefix;  ///< every key of the component starts with it ("" = the file's root)
};

/// The result of detect_family().
struct FamilyInfo {
    Family family = Family::sd1;
    std::string name;                    ///< display name, e.g. "SDXL base", "FLUX.1 dev", "SD 3.5 medium (MMDiT-X)"
    std::vector<Component> components;   ///< the parts present, in pipeline order
    int latent_channels = 4;
    Prediction prediction = Prediction::epsilon;  ///< the default (see notes where weights cannot tell)
    double latent_scale = 0.18215;       ///< latent = (vae latent - shift) * scale
    double latent_shift = 0.0;
    std::vector<std::string> notes;      ///< caveats for the user ("SD2: v-prediction cannot be told ...")
    std::vector<std::pair<std::string, std::string>> summary;  ///< coarse architecture facts for display

    /// The component with this role, or nullptr.
    const Component* find(const std::string& role) const;
};

/// Identifies the model family from key names and shapes (no tensor data needed). Throws sf::Error listing
/// what was looked for when nothing matches.
FamilyInfo detect_family(const Checkpoint& ckpt);

/// Short identifier of a family ("sd1", "sdxl_base", ...).
std::string to_string(Family family);
/// "epsilon", "v", "flow" or "none".
std::string to_string(Prediction prediction);

}  // namespace sf
