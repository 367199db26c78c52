// Mirrors transformers' models/clip/modeling_clip.py CLIPTextModel (the layout SD1 files carry under
// `cond_stage_model.transformer.` and SDXL files under `conditioner.embedders.0.transformer.`).
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/models/text_config.h"

namespace sf::clip {

/// Causal multi-head attention on packed q, k, v [B, T, C]; position i attends to 0..i. Uses
/// at::scaled_dot_product_attention on libtorch 2.x, a baddbmm/softmax path otherwise. Returns [B, T, C].
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t heads);

/// The block activation (QuickGELU or exact GELU).
torch::Tensor activation(const torch::Tensor& x, TextActivation act);

/// Self-attention with separate q/k/v projections (CLIPAttention).
struct CLIPAttentionImpl : torch::nn::Module {
    CLIPAttentionImpl(int64_t width, int64_t heads);
    /// [B, T, C] -> [B, T, C], causal.
    torch::Tensor forward(const torch::Tensor& x);

    int64_t heads;
    layers::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(CLIPAttention);

/// fc1 -> activation -> fc2 (CLIPMLP).
struct CLIPMLPImpl : torch::nn::Module {
    CLIPMLPImpl(int64_t width, int64_t hidden, TextActivation act);
    torch::Tensor forward(const torch::Tensor& x);

    TextActivation act;
    layers::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(CLIPMLP);

/// Pre-norm transformer block (CLIPEncoderLayer).
struct CLIPEncoderLayerImpl : torch::nn::Module {
    explicit CLIPEncoderLayerImpl(const TextConfig& config);
    torch::Tensor forward(const torch::Tensor& x);

    CLIPAttention self_attn{nullptr};
    layers::LayerNorm layer_norm1{nullptr};
    CLIPMLP mlp{nullptr};
    layers::LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

/// Token + position embeddings (CLIPTextEmbeddings). The `position_ids` buffer real files carry is not
/// registered: positions are always arange(T).
struct CLIPTextEmbeddingsImpl : torch::nn::Module {
    explicit CLIPTextEmbeddingsImpl(const TextConfig& config);
    /// input_ids [B, T] int64 -> [B, T, C].
    torch::Tensor forward(const torch::Tensor& input_ids);

    layers::Embedding token_embedding{nullptr};
    layers::Embedding position_embedding{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

/// The stack of blocks (CLIPEncoder).
struct CLIPEncoderImpl : torch::nn::Module {
    explicit CLIPEncoderImpl(const TextConfig& config);

    torch::nn::ModuleList layers;
};
TORCH_MODULE(CLIPEncoder);

/// embeddings -> encoder -> final_layer_norm (CLIPTextTransformer).
struct CLIPTextTransformerImpl : torch::nn::Module {
    explicit CLIPTextTransformerImpl(const TextConfig& config);

    CLIPTextEmbeddings embeddings{nullptr};
    CLIPEncoder encoder{nullptr};
    layers::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(CLIPTextTransformer);

/// The root module; load with prefix `cond_stage_model.transformer.` (SD1) or
/// `conditioner.embedders.0.transformer.` (SDXL).
struct CLIPTextModelImpl : torch::nn::Module {
    explicit CLIPTextModelImpl(const TextConfig& config = TextConfig::clip_l());

    /// Hidden states in the Hugging Face convention: [0] = embeddings, [i] = output of block i, no final
    /// norm; each [B, T, C]. Runs only the first `num_layers` blocks when given (then num_layers + 1
    /// entries).
    std::vector<torch::Tensor> forward(const torch::Tensor& input_ids,
                                       std::optional<int64_t> num_layers = {});
    /// final_layer_norm(x).
    torch::Tensor final_norm(const torch::Tensor& x);
    /// final_layer_norm(hidden_states[-clip_skip]): clip_skip 1 = last_hidden_state (SD1), 2 = "clip skip 2".
    /// Blocks after the chosen one are not run. [B, T, C].
    torch::Tensor encode(const torch::Tensor& input_ids, int64_t clip_skip = 1);
    /// hidden_states[-2] without the final norm (SDXL embedder 0 context). [B, T, C].
    torch::Tensor penultimate(const torch::Tensor& input_ids);

    const TextConfig& config() const { return config_; }

    CLIPTextTransformer text_model{nullptr};

private:
    TextConfig config_;
};
TORCH_MODULE(CLIPTextModel);

/// Sizes of the CLIPTextModel under `prefix` (e.g. "cond_stage_model.transformer.") read from key shapes
/// (works on header-only files). Heads: `heads` when given, else width / 64. Throws sf::Error naming the
/// missing key when the layout is not a CLIPTextModel.
TextConfig detect_config(const Checkpoint& ckpt, const std::string& prefix,
                         std::optional<int64_t> heads = std::nullopt);

/// Picks rows of x [B, T, C] at the first argmax of input_ids [B, T] (the first EOT): [B, C].
torch::Tensor gather_eot(const torch::Tensor& x, const torch::Tensor& input_ids);

}  // namespace sf::clip
