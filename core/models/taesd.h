// Tiny AutoEncoder (TAESD): mirrors madebyollin/taesd taesd.py (Encoder/Decoder as nn.Sequential, so the
// keys are Sequential indices like `1.conv.0.weight`; the flux_2 variant adds `pool` to the mid blocks).
// Used for live previews and fast img2img encodes. Images are in [0, 1] on both ends.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>

#include "core/checkpoint/checkpoint.h"

namespace sf::taesd {

struct TAESDConfig {
    /// 4 (taesd, taesdxl), 16 (taesd3, taef1), 32 (taef2).
    int64_t latent_channels = 4;
    /// Mid blocks (encoder 11-13, decoder 3-5) carry the GroupNorm `pool` branch (taef2 files).
    bool midblock_gn = false;

    static TAESDConfig sd() { return {}; }
    static TAESDConfig flux1() { return {.latent_channels = 16}; }
    static TAESDConfig flux2() { return {.latent_channels = 32, .midblock_gn = true}; }
};

/// Reads the config from an encoder and/or decoder file's shapes under `prefix` (works header-only).
/// Throws sf::Error when neither part is found.
TAESDConfig infer_taesd_config(const Checkpoint& ckpt, const std::string& prefix = "");

/// `tanh(x / 3) * 3`: the decoder's first op (no weights).
struct ClampImpl : torch::nn::Module {
    torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(Clamp);

/// 64 → 64 block: relu(conv(x) + x), conv = 0 conv, 1 ReLU, 2 conv, 3 ReLU, 4 conv; with `pool`
/// (1x1 conv 64→256 no bias, GroupNorm(4, 256, eps 1e-5), ReLU, 1x1 conv 256→64 no bias) x += pool(x) first.
struct BlockImpl : torch::nn::Module {
    BlockImpl(int64_t channels, bool pool);
    /// [N, 64, H, W] → [N, 64, H, W]
    torch::Tensor forward(torch::Tensor x);

    torch::nn::Sequential conv{nullptr};
    torch::nn::Sequential pool{nullptr};  // only with midblock_gn
};
TORCH_MODULE(Block);

/// Encoder as an nn::Sequential (children "0" .. "14"): [N, 3, H, W] in [0, 1] → raw latents [N, C, H/8, W/8].
torch::nn::Sequential make_encoder(const TAESDConfig& config);
/// Decoder as an nn::Sequential (children "0" .. "19"): raw latents → [N, 3, 8h, 8w] (unclamped, ~[0, 1]).
torch::nn::Sequential make_decoder(const TAESDConfig& config);

/// An encoder and/or decoder, each loaded from its own file (keys `0.weight`, `1.conv.0.weight`, ...).
class TAESD {
public:
    TAESD() = default;
    /// Wraps built (and loaded) halves; either may be empty (nullptr). On the CPU their convolution weights
    /// become channels-last, and encode/decode run channels-last: oneDNN then computes the 64-channel 3x3
    /// convolutions without reordering activations around each one (a 512² decode on the 2-core development
    /// machine: 0.40 s instead of 0.49 s).
    TAESD(TAESDConfig config, torch::nn::Sequential encoder, torch::nn::Sequential decoder);

    /// Loads the parts whose paths are given (an empty path skips that part); config inferred from the
    /// files. Strict: every key of each file must be consumed.
    static TAESD load(const std::filesystem::path& encoder_path, const std::filesystem::path& decoder_path,
                      torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat32);
    /// Loads from already opened checkpoints (either may be null), keys under `prefix`.
    static TAESD load(const Checkpoint* encoder_ckpt, const Checkpoint* decoder_ckpt,
                      torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat32,
                      const std::string& prefix = "");

    bool has_encoder() const { return !encoder_.is_empty(); }
    bool has_decoder() const { return !decoder_.is_empty(); }
    const TAESDConfig& config() const { return config_; }

    /// Image in [0, 1], [N, 3, H, W] (H, W multiples of 8) → raw latents. Throws without an encoder.
    /// Input of another dtype or device is converted to the weights'; the result has the input's dtype.
    torch::Tensor encode(const torch::Tensor& image);
    /// Raw latents → image, ~[0, 1], unclamped. Throws without a decoder. Dtypes as encode.
    torch::Tensor decode(const torch::Tensor& latent);

    torch::nn::Sequential& encoder() { return encoder_; }
    torch::nn::Sequential& decoder() { return decoder_; }

private:
    TAESDConfig config_;
    torch::nn::Sequential encoder_{nullptr};
    torch::nn::Sequential decoder_{nullptr};
};

/// The dtype live previews decode in on the CPU: bfloat16 where the processor computes it natively
/// (AVX512-BF16, through oneDNN: a 512² decode in 0.20 s instead of 0.40 s on the development machine, with
/// errors of about one level of an 8-bit preview) and oneDNN's channels-last kernels are trusted
/// (onednn::channels_last_trusted), else float32. Final images never use it.
torch::Dtype cpu_preview_dtype();

/// clamp(x / (2 * 3) + 0.5, 0, 1): raw latents → [0, 1] (for storing latents as 8-bit images).
torch::Tensor scale_latents(const torch::Tensor& x);
/// (y - 0.5) * 6: the inverse of scale_latents inside [0, 1].
torch::Tensor unscale_latents(const torch::Tensor& y);

/// FLOPs (2 per multiply-add) of the decoder for an h x w latent (convs only). For benchmarks.
double decode_flops(const TAESDConfig& config, int64_t latent_h, int64_t latent_w);

}  // namespace sf::taesd
