// Mirrors mlfoundations/open_clip src/open_clip/transformer.py (TextTransformer, ResidualAttentionBlock) as
// SD2 files carry it under `cond_stage_model.model.` and SDXL files under `conditioner.embedders.1.model.`.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/models/text_config.h"

namespace sf::open_clip {

/// torch.nn.MultiheadAttention as OpenCLIP stores it: packed `in_proj_weight` [3C, C] (rows q;k;v),
/// `in_proj_bias` [3C], `out_proj`. Causal self-attention only.
struct MultiheadAttentionImpl : torch::nn::Module {
    MultiheadAttentionImpl(int64_t width, int64_t heads);
    /// [B, T, C] -> [B, T, C].
    torch::Tensor forward(const torch::Tensor& x);

    int64_t heads;
    torch::Tensor in_proj_weight, in_proj_bias;
    layers::Linear out_proj{nullptr};
};
TORCH_MODULE(MultiheadAttention);

/// c_fc -> GELU -> c_proj (the block's `mlp` Sequential; the activation has no parameters).
struct MlpImpl : torch::nn::Module {
    MlpImpl(int64_t width, int64_t hidden, TextActivation act);
    torch::Tensor forward(const torch::Tensor& x);

    TextActivation act;
    layers::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

/// Pre-norm block: x += attn(ln_1(x)); x += mlp(ln_2(x)).
struct ResidualAttentionBlockImpl : torch::nn::Module {
    explicit ResidualAttentionBlockImpl(const TextConfig& config);
    torch::Tensor forward(const torch::Tensor& x);

    layers::LayerNorm ln_1{nullptr};
    MultiheadAttention attn{nullptr};
    layers::LayerNorm ln_2{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

/// The block stack (`transformer.resblocks.N`).
struct TransformerImpl : torch::nn::Module {
    explicit TransformerImpl(const TextConfig& config);

    torch::nn::ModuleList resblocks;
};
TORCH_MODULE(Transformer);

/// SDXL embedder 1 outputs.
struct SdxlTextOutput {
    torch::Tensor context;  ///< output of the penultimate block, no ln_final: [B, T, C]
    torch::Tensor pooled;   ///< ln_final(last block)[argmax ids] @ text_projection: [B, embed_dim]
};

/// The text tower (open_clip CLIP.encode_text). Files carry all blocks, including those SD2/SDXL
/// conditioning never runs; `config.projection` chooses between `text_projection` and
/// `text_projection.weight`.
struct TextTransformerImpl : torch::nn::Module {
    explicit TextTransformerImpl(const TextConfig& config = TextConfig::open_clip_h());

    /// Hidden states: [0] = embeddings, [i] = output of block i, no ln_final; each [B, T, C]. Runs only the
    /// first `num_layers` blocks when given.
    std::vector<torch::Tensor> forward(const torch::Tensor& input_ids,
                                       std::optional<int64_t> num_layers = {});
    /// ln_final(x).
    torch::Tensor final_norm(const torch::Tensor& x);
    /// x [B, T, C] (already ln_final-normed) at the first argmax(input_ids), projected: [B, embed_dim].
    torch::Tensor pool(const torch::Tensor& x, const torch::Tensor& input_ids);
    /// SD2 conditioning: ln_final(output of the penultimate block). The last block is not run. [B, T, C].
    torch::Tensor encode_sd2(const torch::Tensor& input_ids);
    /// SDXL context (penultimate, no ln_final) and pooled vector (which runs the last block).
    SdxlTextOutput encode_sdxl(const torch::Tensor& input_ids);

    const TextConfig& config() const { return config_; }

    layers::Embedding token_embedding{nullptr};
    torch::Tensor positional_embedding;  // [context_length, C]
    Transformer transformer{nullptr};
    layers::LayerNorm ln_final{nullptr};
    torch::Tensor text_projection;                      // TextProjection::parameter: [C, embed_dim]
    layers::Linear text_projection_linear{nullptr};  // TextProjection::linear: weight [embed_dim, C]

private:
    TextConfig config_;
};
TORCH_MODULE(TextTransformer);

/// Sizes of the text tower under `prefix` (e.g. "cond_stage_model.model.") read from key shapes (works on
/// header-only files): layers from `transformer.resblocks.N`, projection kind and embed_dim from
/// `text_projection` or `text_projection.weight`. Heads: `heads` when given, else width / 64.
TextConfig detect_config(const Checkpoint& ckpt, const std::string& prefix,
                         std::optional<int64_t> heads = std::nullopt);

}  // namespace sf::open_clip
