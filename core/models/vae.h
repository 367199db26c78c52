// The KL autoencoder ("first stage"): mirrors ldm/models/autoencoder.py (AutoencoderKL) and
// ldm/modules/diffusionmodules/model.py (Encoder, Decoder, ResnetBlock, AttnBlock, Downsample, Upsample).
// Module names equal the checkpoint keys under `first_stage_model.` (STYLE.md §3.3).
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/models/layers.h"

namespace sf::vae {

/// Hyper-parameters of ldm's `ddconfig` plus `embed_dim`. Every VAE GroupNorm is 32 groups, eps 1e-6.
struct VAEConfig {
    int64_t in_channels = 3;
    int64_t out_ch = 3;
    int64_t ch = 128;
    std::vector<int64_t> ch_mult = {1, 2, 4, 4};
    int64_t num_res_blocks = 2;
    int64_t z_channels = 4;
    int64_t embed_dim = 4;
    bool double_z = true;
    /// quant_conv / post_quant_conv present (SD1/SD2/SDXL); absent in the SD3 and FLUX VAEs.
    bool use_quant_conv = true;
    /// Mid attention q/k/v/proj_out stored as Linear [C, C] (files converted from diffusers) instead of
    /// 1x1 conv kernels [C, C, 1, 1] (the original layout).
    bool linear_attention = false;

    /// SD 1.x / 2.x / SDXL VAE (identical architecture; 83.7 M parameters).
    static VAEConfig sd();
    /// SD3 / FLUX.1 VAE: 16 latent channels, no quant convs.
    static VAEConfig sd3();
    /// The tiny VAE of the conformance checkpoints (ch 32).
    static VAEConfig tiny();

    /// Spatial down-scaling factor (8 for four levels).
    int64_t downscale() const { return int64_t{1} << (ch_mult.size() - 1); }
};

/// Reads the config from tensor shapes under `prefix` (works on header-only checkpoints). Throws sf::Error
/// naming the checkpoint when no VAE is found there.
VAEConfig infer_vae_config(const Checkpoint& ckpt, const std::string& prefix = "first_stage_model.");

/// Which latent space a latent lives in: how the pipeline maps VAE latents to the diffusion model's.
enum class LatentSpace { sd, sdxl, sd3, flux };

/// z_model = (z_vae - shift) * scale; z_vae = z_model / scale + shift.
struct LatentScaling {
    double scale = 0.18215;
    double shift = 0.0;
};

/// 0.18215 for SD1/SD2, 0.13025 for SDXL, 1.5305/0.0609 for SD3, 0.3611/0.1159 for FLUX.1.
LatentScaling latent_scaling(LatentSpace space);
/// VAE latent → diffusion-model latent.
torch::Tensor to_model_latent(const torch::Tensor& z, LatentScaling s);
/// Diffusion-model latent → VAE latent (what decode() consumes).
torch::Tensor from_model_latent(const torch::Tensor& z, LatentScaling s);

/// GroupNorm(32, C, eps 1e-6, affine): the only normalisation in the VAE.
layers::GroupNorm vae_norm(int64_t channels);

/// Residual block without timestep (model.py ResnetBlock; dropout 0 has no weights).
struct ResnetBlockImpl : torch::nn::Module {
    ResnetBlockImpl(int64_t in_channels, int64_t out_channels);
    /// [N, Cin, H, W] → [N, Cout, H, W]
    torch::Tensor forward(const torch::Tensor& x);

    layers::GroupNorm norm1{nullptr};
    layers::Conv2d conv1{nullptr};
    layers::GroupNorm norm2{nullptr};
    layers::Conv2d conv2{nullptr};
    layers::Conv2d nin_shortcut{nullptr};  // 1x1, only when channels change
};
TORCH_MODULE(ResnetBlock);

/// A q/k/v/proj_out projection holding `weight` as [C, C, 1, 1] (1x1 conv) or [C, C] (Linear) and `bias`
/// [C]; both apply as a Linear over tokens.
struct ProjectionImpl : torch::nn::Module {
    ProjectionImpl(int64_t channels, bool linear);
    /// [N, T, C] → [N, T, C]
    torch::Tensor forward(const torch::Tensor& tokens);

    torch::Tensor weight;
    torch::Tensor bias;
};
TORCH_MODULE(Projection);

/// Single-head self-attention over all H*W positions, scale C^-0.5 (model.py AttnBlock).
struct AttnBlockImpl : torch::nn::Module {
    AttnBlockImpl(int64_t channels, bool linear);
    /// [N, C, H, W] → [N, C, H, W]
    torch::Tensor forward(const torch::Tensor& x);

    layers::GroupNorm norm{nullptr};
    Projection q{nullptr};
    Projection k{nullptr};
    Projection v{nullptr};
    Projection proj_out{nullptr};
};
TORCH_MODULE(AttnBlock);

/// Single-head attention on [N, T, C] tokens, softmax(q k^T / sqrt(C)) v; SDPA on libtorch 2, else
/// matmul/softmax sliced over query rows so the score matrix stays under ~256 MB.
torch::Tensor single_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

/// Zero-pad right and bottom by one, then conv 3x3 stride 2 padding 0 (the VAE's asymmetric Downsample,
/// unlike the UNet's padded `op`).
struct DownsampleImpl : torch::nn::Module {
    explicit DownsampleImpl(int64_t channels);
    /// [N, C, H, W] → [N, C, H/2, W/2]
    torch::Tensor forward(const torch::Tensor& x);

    layers::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample);

/// Nearest x2, then conv 3x3 padding 1.
struct UpsampleImpl : torch::nn::Module {
    explicit UpsampleImpl(int64_t channels);
    /// [N, C, H, W] → [N, C, 2H, 2W]
    torch::Tensor forward(const torch::Tensor& x);

    layers::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample);

/// One encoder level (`down.i`): `block.j` ResnetBlocks, then `downsample` except at the last level.
struct DownLevelImpl : torch::nn::Module {
    DownLevelImpl(int64_t in_channels, int64_t out_channels, int64_t num_blocks, bool downsample);
    torch::Tensor forward(torch::Tensor x);

    torch::nn::ModuleList block{nullptr};
    Downsample downsample{nullptr};
};
TORCH_MODULE(DownLevel);

/// One decoder level (`up.i`): `block.j` ResnetBlocks, then `upsample` except at level 0.
struct UpLevelImpl : torch::nn::Module {
    UpLevelImpl(int64_t in_channels, int64_t out_channels, int64_t num_blocks, bool upsample);
    torch::Tensor forward(torch::Tensor x);

    torch::nn::ModuleList block{nullptr};
    Upsample upsample{nullptr};
};
TORCH_MODULE(UpLevel);

/// `mid`: block_1, attn_1, block_2.
struct MidImpl : torch::nn::Module {
    MidImpl(int64_t channels, bool linear_attention);
    torch::Tensor forward(const torch::Tensor& x);

    ResnetBlock block_1{nullptr};
    AttnBlock attn_1{nullptr};
    ResnetBlock block_2{nullptr};
};
TORCH_MODULE(Mid);

/// Image → 2*z_channels (double_z) feature map at 1/downscale resolution.
struct EncoderImpl : torch::nn::Module {
    explicit EncoderImpl(const VAEConfig& config);
    /// [N, 3, H, W] → [N, 2z, H/8, W/8]
    torch::Tensor forward(const torch::Tensor& x);

    layers::Conv2d conv_in{nullptr};
    torch::nn::ModuleList down{nullptr};  // of DownLevel, high → low resolution
    Mid mid{nullptr};
    layers::GroupNorm norm_out{nullptr};
    layers::Conv2d conv_out{nullptr};
};
TORCH_MODULE(Encoder);

/// z → image. `up` is stored high → low resolution (`self.up.insert(0, up)`) and runs up.3 first.
struct DecoderImpl : torch::nn::Module {
    explicit DecoderImpl(const VAEConfig& config);
    /// [N, z, h, w] → [N, 3, 8h, 8w] (not clamped); = tail(head(z)).
    torch::Tensor forward(const torch::Tensor& z);
    /// conv_in and mid at latent resolution: [N, z, h, w] → [N, C, h, w].
    torch::Tensor head(const torch::Tensor& z);
    /// The up levels and the output: [N, C, h, w] → [N, 3, 8h, 8w].
    torch::Tensor tail(torch::Tensor h);

    layers::Conv2d conv_in{nullptr};
    Mid mid{nullptr};
    torch::nn::ModuleList up{nullptr};  // of UpLevel, index 0 = highest resolution
    layers::GroupNorm norm_out{nullptr};
    layers::Conv2d conv_out{nullptr};
};
TORCH_MODULE(Decoder);

/// The encoder's posterior: channels [0, z) mean, [z, 2z) logvar clamped to [-30, 20].
struct DiagonalGaussian {
    torch::Tensor mean;    ///< [N, z, h, w]
    torch::Tensor logvar;  ///< [N, z, h, w], clamped
    /// The moments as quant_conv gave them (unclamped), [N, 2z, h, w].
    torch::Tensor moments;

    /// mean + exp(0.5 logvar) * noise; noise drawn in float32 on the CPU from `generator` (reproducible
    /// across devices), or from the default generator when it is undefined.
    torch::Tensor sample(std::optional<at::Generator> generator = std::nullopt) const;
    /// The mean (deterministic encode).
    const torch::Tensor& mode() const { return mean; }
};

/// Splits [N, 2z, h, w] moments into mean and clamped logvar.
DiagonalGaussian posterior_from_moments(const torch::Tensor& moments);

/// Tile sizes for tiled decode (in latent pixels) and tiled encode (in image pixels).
struct TileOptions {
    int64_t tile = 64;     ///< tile edge
    int64_t overlap = 16;  ///< overlap between neighbouring tiles, feathered linearly
    /// Decode only: run conv_in and the mid block (attention, GroupNorm) on the whole latent, and tile
    /// only the up levels. Closer to decode(), but the mid attention costs O((h*w)^2) compute.
    bool global_mid = false;
};

/// The KL autoencoder: encoder + quant_conv, post_quant_conv + decoder.
struct AutoencoderKLImpl : torch::nn::Module {
    explicit AutoencoderKLImpl(const VAEConfig& config);

    /// Image in [-1, 1], [N, 3, H, W] (H, W multiples of 8) → moments [N, 2*embed_dim, H/8, W/8].
    torch::Tensor encode_moments(const torch::Tensor& image);
    /// Image in [-1, 1] → posterior (mean, logvar). No latent scale factor is applied.
    DiagonalGaussian encode(const torch::Tensor& image);
    /// VAE latent [N, embed_dim, h, w] (already divided by the scale factor) → image [N, 3, 8h, 8w], unclamped.
    torch::Tensor decode(const torch::Tensor& latent);

    /// decode() over overlapping tiles of `tile` latent pixels, blended with linear feathering across the
    /// overlap; memory is bounded by one tile's decode. Falls back to decode() when one tile covers it.
    torch::Tensor decode_tiled(const torch::Tensor& latent, TileOptions tiles = {64, 16, false});
    /// encode_moments() over overlapping image tiles (`tile`, `overlap` in image pixels, multiples of 8),
    /// moments blended the same way. Falls back to encode_moments() when one tile covers it.
    DiagonalGaussian encode_tiled(const torch::Tensor& image, TileOptions tiles = {512, 64, false});

    const VAEConfig& config() const { return config_; }

    Encoder encoder{nullptr};
    Decoder decoder{nullptr};
    layers::Conv2d quant_conv{nullptr};       // 1x1, 2z → 2*embed_dim (when use_quant_conv)
    layers::Conv2d post_quant_conv{nullptr};  // 1x1, embed_dim → z (when use_quant_conv)

private:
    VAEConfig config_;
};
TORCH_MODULE(AutoencoderKL);

/// Runs `fn` over overlapping spatial tiles of `input` ([N, C, H, W]) and blends the outputs, whose spatial
/// size is `scale` times the input's, with weights that ramp linearly across each internal overlap.
/// Exposed for tests; decode_tiled / encode_tiled use it.
torch::Tensor run_tiled(const torch::Tensor& input, int64_t tile, int64_t overlap, double scale,
                        const std::function<torch::Tensor(const torch::Tensor&)>& fn);

/// Forward FLOPs (2 per multiply-add) of Decoder(post_quant_conv(z)) for an h x w latent: convs, norms
/// ignored, attention matmuls included. For benchmarks.
double decode_flops(const VAEConfig& config, int64_t latent_h, int64_t latent_w);

}  // namespace sf::vae
