// Mirrors transformers models/clip/modeling_clip.py (CLIPTextModel) and openai/CLIP clip/model.py
// (Transformer, ResidualAttentionBlock): pre-norm blocks, causal mask, QuickGELU.
#include "core/models/clip.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace sf::clip {

namespace nn = torch::nn;


torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t heads) {
    const int64_t b = q.size(0);
    const int64_t t = q.size(1);
    const int64_t c = q.size(2);
    const int64_t d = c / heads;
    auto split = [&](const torch::Tensor& x) {
        return x.reshape({b, t, heads, d}).transpose(1, 2);  // [B, H, T, D]
    };
#if TORCH_VERSION_MAJOR >= 2
    // On a GPU, the fused kernel. On the CPU its causal kernel lands 1.7e-5 (relative L2) from the CLIP-L
    // emphasis case on libtorch 2.6, beyond the case's 1e-5; the explicit product below is within it, and at
    // 77 tokens costs nothing.
    if (!q.is_cpu()) {
        auto out = at::scaled_dot_product_attention(split(q), split(k), split(v), /*attn_mask=*/{},
                                                    /*dropout_p=*/0.0, /*is_causal=*/true);  // [B, H, T, D]
        return out.transpose(1, 2).reshape({b, t, c});
    }
#endif
    auto qh = split(q).reshape({b * heads, t, d});  // [B*H, T, D]
    auto kh = split(k).reshape({b * heads, t, d});
    auto vh = split(v).reshape({b * heads, t, d});
    auto mask = torch::full({t, t}, -std::numeric_limits<float>::infinity(), q.options()).triu(1);  // [T, T]
    auto scores = torch::baddbmm(mask.expand({b * heads, t, t}), qh, kh.transpose(1, 2), /*beta=*/1.0,
                                 /*alpha=*/1.0 / std::sqrt(static_cast<double>(d)));  // [B*H, T, T]
    auto out = torch::bmm(scores.softmax(-1), vh).reshape({b, heads, t, d});          // [B, H, T, D]
    return out.transpose(1, 2).reshape({b, t, c});  // [B, T, C]
}

torch::Tensor activation(const torch::Tensor& x, TextActivation act) {
    if (act == TextActivation::quick_gelu) {
        return x * torch::sigmoid(1.702 * x);
    }
    return torch::gelu(x);
}

CLIPAttentionImpl::CLIPAttentionImpl(int64_t width, int64_t heads)
    : heads(heads),
      q_proj(register_module("q_proj", layers::Linear(width, width))),
      k_proj(register_module("k_proj", layers::Linear(width, width))),
      v_proj(register_module("v_proj", layers::Linear(width, width))),
      out_proj(register_module("out_proj", layers::Linear(width, width))) {}

torch::Tensor CLIPAttentionImpl::forward(const torch::Tensor& x) {
    return out_proj(causal_attention(q_proj(x), k_proj(x), v_proj(x), heads));
}

CLIPMLPImpl::CLIPMLPImpl(int64_t width, int64_t hidden, TextActivation act)
    : act(act),
      fc1(register_module("fc1", layers::Linear(width, hidden))),
      fc2(register_module("fc2", layers::Linear(hidden, width))) {}

torch::Tensor CLIPMLPImpl::forward(const torch::Tensor& x) {
    return fc2(activation(fc1(x), act));
}

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const TextConfig& config)
    : self_attn(register_module("self_attn", CLIPAttention(config.width, config.heads))),
      layer_norm1(register_module("layer_norm1", text_layer_norm(config))),
      mlp(register_module("mlp", CLIPMLP(config.width, config.mlp_width(), config.act))),
      layer_norm2(register_module("layer_norm2", text_layer_norm(config))) {}

torch::Tensor CLIPEncoderLayerImpl::forward(const torch::Tensor& x) {
    auto h = x + self_attn(layer_norm1(x));
    return h + mlp(layer_norm2(h));
}

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const TextConfig& config)
    : token_embedding(register_module("token_embedding", layers::Embedding(config.vocab_size, config.width))),
      position_embedding(
          register_module("position_embedding", layers::Embedding(config.context_length, config.width))) {}

torch::Tensor CLIPTextEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
    const int64_t t = input_ids.size(1);
    if (t > position_embedding->weight.size(0)) {
        throw Error("CLIP text encoder: " + std::to_string(t) + " tokens exceed the context length " +
                    std::to_string(position_embedding->weight.size(0)));
    }
    return token_embedding(input_ids) + position_embedding->weight.slice(0, 0, t);  // [B, T, C]
}

CLIPEncoderImpl::CLIPEncoderImpl(const TextConfig& config)
    : layers(register_module("layers", nn::ModuleList())) {
    for (int64_t i = 0; i < config.layers; ++i) {
        layers->push_back(CLIPEncoderLayer(config));
    }
}

CLIPTextTransformerImpl::CLIPTextTransformerImpl(const TextConfig& config)
    : embeddings(register_module("embeddings", CLIPTextEmbeddings(config))),
      encoder(register_module("encoder", CLIPEncoder(config))),
      final_layer_norm(register_module("final_layer_norm", text_layer_norm(config))) {}

CLIPTextModelImpl::CLIPTextModelImpl(const TextConfig& config) : config_(config) {
    config_.validate("CLIP text model");
    text_model = register_module("text_model", CLIPTextTransformer(config_));
}

std::vector<torch::Tensor> CLIPTextModelImpl::forward(const torch::Tensor& input_ids,
                                                      std::optional<int64_t> num_layers) {
    auto& layers = text_model->encoder->layers;
    const int64_t n = num_layers.value_or(static_cast<int64_t>(layers->size()));
    if (n < 0 || n > static_cast<int64_t>(layers->size())) {
        throw Error("CLIP text encoder: cannot run " + std::to_string(n) + " of " +
                    std::to_string(layers->size()) + " layers");
    }
    const auto device = text_model->final_layer_norm->weight.device();
    std::vector<torch::Tensor> hidden_states;
    hidden_states.reserve(n + 1);
    hidden_states.push_back(text_model->embeddings(input_ids.to(device, torch::kLong)));  // [B, T, C]
    for (int64_t i = 0; i < n; ++i) {
        hidden_states.push_back(layers->at<CLIPEncoderLayerImpl>(i).forward(hidden_states.back()));
    }
    return hidden_states;
}

torch::Tensor CLIPTextModelImpl::final_norm(const torch::Tensor& x) {
    return text_model->final_layer_norm(x);
}

torch::Tensor CLIPTextModelImpl::encode(const torch::Tensor& input_ids, int64_t clip_skip) {
    if (clip_skip < 1 || clip_skip > config_.layers) {
        throw Error("clip skip " + std::to_string(clip_skip) + " is outside 1.." +
                    std::to_string(config_.layers));
    }
    return final_norm(forward(input_ids, config_.layers - clip_skip + 1).back());
}

torch::Tensor CLIPTextModelImpl::penultimate(const torch::Tensor& input_ids) {
    return forward(input_ids, config_.layers - 1).back();
}

TextConfig detect_config(const Checkpoint& ckpt, const std::string& prefix, std::optional<int64_t> heads) {
    const std::string what = "CLIP text model under '" + prefix + "'";
    const std::string root = prefix + "text_model.";
    TextConfig config;
    auto tok = text_weight_shape(ckpt, root + "embeddings.token_embedding.weight", what);
    auto pos = text_weight_shape(ckpt, root + "embeddings.position_embedding.weight", what);
    config.vocab_size = tok.at(0);
    config.width = tok.at(1);
    config.context_length = pos.at(0);
    int64_t layers = 0;
    while (ckpt.contains(root + "encoder.layers." + std::to_string(layers) + ".layer_norm1.weight")) {
        ++layers;
    }
    if (layers == 0) {
        text_weight_shape(ckpt, root + "encoder.layers.0.layer_norm1.weight", what);  // throws naming the key
    }
    config.layers = layers;
    auto fc1 = text_weight_shape(ckpt, root + "encoder.layers.0.mlp.fc1.weight", what);
    if (fc1.at(0) % config.width != 0) {
        throw Error("model '" + ckpt.path().string() + "': " + what + ": MLP width " +
                    std::to_string(fc1.at(0)) + " is not a multiple of width " +
                    std::to_string(config.width));
    }
    config.mlp_ratio = fc1.at(0) / config.width;
    config.heads = text_heads_for_width(config.width, heads, what);
    config.act = TextActivation::quick_gelu;
    config.validate(what);
    return config;
}

torch::Tensor gather_eot(const torch::Tensor& x, const torch::Tensor& input_ids) {
    auto idx = input_ids.to(x.device(), torch::kLong).argmax(-1);    // [B]
    return x.index({torch::arange(x.size(0), idx.options()), idx});  // [B, C]
}

}  // namespace sf::clip
