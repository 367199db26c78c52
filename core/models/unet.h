// core/models/unet.h: mirrors ldm/modules/diffusionmodules/openaimodel.py (UNetModel, ResBlock, Downsample,
// Upsample, TimestepEmbedSequential) and ldm/modules/attention.py (SpatialTransformer, BasicTransformerBlock,
// CrossAttention, GEGLU, FeedForward); sgm's variant adds label_emb (SDXL) and per-level transformer depth.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/models/layers.h"

namespace sf::unet {

/// Every architecture number of a UNet; aggregates with presets (STYLE.md §2.13).
struct UNetConfig {
    int64_t in_channels = 4;
    int64_t out_channels = 4;
    int64_t model_channels = 320;
    std::vector<int64_t> channel_mult = {1, 2, 4, 4};
    int64_t num_res_blocks = 2;
    /// Transformer blocks per SpatialTransformer at each level; 0 = no attention at that level.
    std::vector<int64_t> transformer_depth = {1, 1, 1, 0};
    /// Transformer blocks in the middle block's SpatialTransformer.
    int64_t transformer_depth_middle = 1;
    int64_t context_dim = 768;
    /// Head count (SD1) when num_head_channels <= 0.
    int64_t num_heads = 8;
    /// Head width (SD2, SDXL: 64); when > 0, heads = channels / num_head_channels.
    int64_t num_head_channels = -1;
    /// proj_in/proj_out are Linear on tokens (SD2, SDXL) instead of 1x1 convs (SD1).
    bool use_linear_projection = false;
    /// Width of the vector conditioning y (SDXL base 2816, refiner 2560); 0 = no label_emb.
    int64_t adm_in_channels = 0;

    static UNetConfig sd15();
    static UNetConfig sd21();
    static UNetConfig sdxl_base();
    static UNetConfig sdxl_refiner();

    /// (heads, head width) of a SpatialTransformer with `channels` channels.
    std::pair<int64_t, int64_t> heads_for(int64_t channels) const;
    /// One line for logs: "mc 320, mult 1,2,4,4, depth 1,1,1,0/1, ctx 768, 8 heads, conv proj".
    std::string summary() const;
    bool operator==(const UNetConfig&) const = default;
};

/// Reads every architecture number from the tensor shapes under `prefix` (works on header-only files).
/// Heads cannot be read from shapes: linear proj_in ⇒ head width 64 (SD2/SDXL), conv proj_in ⇒ 8 heads (SD1);
/// callers with better knowledge (a tiny test model's config) override num_heads / num_head_channels.
/// Throws sf::Error naming the checkpoint when the keys do not form a UNet.
UNetConfig infer_unet_config(const Checkpoint& ckpt, const std::string& prefix = "model.diffusion_model.");

/// Sinusoidal embedding of (possibly fractional) timesteps [N] → [N, dim]: [cos(t f), sin(t f)],
/// f_i = exp(-ln(max_period) i / (dim/2)), all in float32 exactly as ldm's util.timestep_embedding.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, double max_period = 10000.0);

/// Residual block with timestep embedding (openaimodel.ResBlock).
struct ResBlockImpl : torch::nn::Module {
    ResBlockImpl(int64_t channels, int64_t emb_channels, int64_t out_channels);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

    torch::nn::Sequential in_layers;             // 0 GroupNorm, 1 SiLU, 2 Conv2d
    torch::nn::Sequential emb_layers;            // 0 SiLU, 1 Linear
    torch::nn::Sequential out_layers;            // 0 GroupNorm, 1 SiLU, 2 Dropout, 3 Conv2d
    layers::Conv2d skip_connection{nullptr};  // only when channels != out_channels
};
TORCH_MODULE(ResBlock);

/// Conv 3x3 stride 2, symmetric padding 1 (openaimodel.Downsample, use_conv=True).
struct DownsampleImpl : torch::nn::Module {
    DownsampleImpl(int64_t channels, int64_t out_channels);
    torch::Tensor forward(const torch::Tensor& x);

    layers::Conv2d op{nullptr};
};
TORCH_MODULE(Downsample);

/// Nearest x2, then conv 3x3 (openaimodel.Upsample, use_conv=True).
struct UpsampleImpl : torch::nn::Module {
    UpsampleImpl(int64_t channels, int64_t out_channels);
    torch::Tensor forward(const torch::Tensor& x);

    layers::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample);

/// Multi-head attention with separate projections, no bias on q/k/v (attention.CrossAttention).
struct CrossAttentionImpl : torch::nn::Module {
    CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t heads, int64_t dim_head);
    /// x [B, T, C], context [B, S, Cc] (undefined: self-attention) → [B, T, C].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

    int64_t heads;
    layers::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
    torch::nn::Sequential to_out;  // 0 Linear, 1 Dropout
};
TORCH_MODULE(CrossAttention);

/// Linear(C → 2·inner); value half times exact GELU of the gate half (attention.GEGLU).
struct GEGLUImpl : torch::nn::Module {
    GEGLUImpl(int64_t dim_in, int64_t dim_out);
    torch::Tensor forward(const torch::Tensor& x);

    layers::Linear proj{nullptr};
};
TORCH_MODULE(GEGLU);

/// GEGLU feed-forward, inner width 4C (attention.FeedForward with glu=True).
struct FeedForwardImpl : torch::nn::Module {
    explicit FeedForwardImpl(int64_t dim);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::Sequential net;  // 0 GEGLU, 1 Dropout, 2 Linear
};
TORCH_MODULE(FeedForward);

/// Self-attention, cross-attention, feed-forward, each pre-LayerNorm and residual (attention.py).
struct BasicTransformerBlockImpl : torch::nn::Module {
    BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head, int64_t context_dim);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

    CrossAttention attn1{nullptr};
    FeedForward ff{nullptr};
    CrossAttention attn2{nullptr};
    layers::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

/// GroupNorm (eps 1e-6), proj_in, transformer blocks over (h w) tokens, proj_out, residual.
struct SpatialTransformerImpl : torch::nn::Module {
    SpatialTransformerImpl(int64_t channels, int64_t heads, int64_t dim_head, int64_t depth,
                           int64_t context_dim, bool use_linear);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

    bool use_linear;
    layers::GroupNorm norm{nullptr};
    // Registered as "proj_in" / "proj_out": Conv2d 1x1 (SD1) or Linear (SD2, SDXL), the other stays null.
    layers::Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
    layers::Linear proj_in_linear{nullptr}, proj_out_linear{nullptr};
    torch::nn::ModuleList transformer_blocks;
};
TORCH_MODULE(SpatialTransformer);

/// openaimodel.TimestepEmbedSequential: children "0", "1", ... called with what each needs.
struct TimestepEmbedSequentialImpl : torch::nn::Module {
    void push_back(layers::Conv2d m);
    void push_back(ResBlock m);
    void push_back(SpatialTransformer m);
    void push_back(Downsample m);
    void push_back(Upsample m);
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& emb, const torch::Tensor& context);

private:
    std::vector<
        std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>>
        steps_;
};
TORCH_MODULE(TimestepEmbedSequential);

/// Optional look inside one forward: intermediates for conformance, stage times for benchmarks.
struct UNetTrace {
    torch::Tensor t_emb;  // [N, model_channels]
    torch::Tensor emb;    // [N, 4 model_channels] = time_embed(t_emb) (+ label_emb(y))
    torch::Tensor mid;    // middle_block output
    double input_blocks_s = 0, middle_block_s = 0, output_blocks_s = 0;
};

/// The diffusion UNet of SD 1.x, 2.x and SDXL (base and refiner).
struct UNetModelImpl : torch::nn::Module {
    explicit UNetModelImpl(UNetConfig config);
    /// x [N, in, H, W] (H, W multiples of 2^(levels-1)), timesteps [N] (int or float), context [N, S,
    /// context_dim], y [N, adm_in_channels] (SDXL only) → eps or v [N, out, H, W], as the weights were
    /// trained.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timesteps,
                          const torch::Tensor& context, const torch::Tensor& y = {},
                          UNetTrace* trace = nullptr);

    const UNetConfig& config() const { return config_; }

    torch::nn::Sequential time_embed;          // 0 Linear, 1 SiLU, 2 Linear
    torch::nn::ModuleList label_emb{nullptr};  // SDXL: 0 Sequential(0 Linear, 1 SiLU, 2 Linear)
    torch::nn::ModuleList input_blocks;
    TimestepEmbedSequential middle_block{nullptr};
    torch::nn::ModuleList output_blocks;
    torch::nn::Sequential out;  // 0 GroupNorm, 1 SiLU, 2 Conv2d

private:
    UNetConfig config_;
    torch::nn::Sequential label_mlp_{nullptr};               // label_emb[0]
    std::vector<TimestepEmbedSequential> inputs_, outputs_;  // typed views of input_blocks / output_blocks
};
TORCH_MODULE(UNetModel);

}  // namespace sf::unet
