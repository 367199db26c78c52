// Mirrors open_clip src/open_clip/transformer.py and model.py (encode_text), and the SD2 / SDXL wrappers:
// Stability-AI/stablediffusion ldm/modules/encoders/modules.py
// FrozenOpenCLIPEmbedder.encode_with_transformer, Stability-AI/generative-models
// sgm/modules/encoders/modules.py FrozenOpenCLIPEmbedder2.
#include "core/models/open_clip.h"

#include <cmath>

#include "core/error.h"
#include "core/models/clip.h"
#include "core/models/onednn.h"

namespace sf::open_clip {

namespace nn = torch::nn;


MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t width, int64_t heads)
    : heads(heads),
      in_proj_weight(register_parameter("in_proj_weight", layers::parameter({3 * width, width}, [](torch::Tensor& w) {
                                            nn::init::xavier_uniform_(w);
                                        }))),
      in_proj_bias(register_parameter("in_proj_bias",
                                      layers::parameter({3 * width}, [](torch::Tensor& b) { b.zero_(); }))),
      out_proj(register_module("out_proj", layers::Linear(width, width))) {}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x) {
    auto qkv = onednn::linear(x, in_proj_weight, in_proj_bias).chunk(3, -1);  // 3 x [B, T, C]
    return out_proj(clip::causal_attention(qkv[0], qkv[1], qkv[2], heads));
}

MlpImpl::MlpImpl(int64_t width, int64_t hidden, TextActivation act)
    : act(act),
      c_fc(register_module("c_fc", layers::Linear(width, hidden))),
      c_proj(register_module("c_proj", layers::Linear(hidden, width))) {}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
    return c_proj(clip::activation(c_fc(x), act));
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(const TextConfig& config)
    : ln_1(register_module("ln_1", text_layer_norm(config))),
      attn(register_module("attn", MultiheadAttention(config.width, config.heads))),
      ln_2(register_module("ln_2", text_layer_norm(config))),
      mlp(register_module("mlp", Mlp(config.width, config.mlp_width(), config.act))) {}

torch::Tensor ResidualAttentionBlockImpl::forward(const torch::Tensor& x) {
    auto h = x + attn(ln_1(x));
    return h + mlp(ln_2(h));
}

TransformerImpl::TransformerImpl(const TextConfig& config)
    : resblocks(register_module("resblocks", nn::ModuleList())) {
    for (int64_t i = 0; i < config.layers; ++i) {
        resblocks->push_back(ResidualAttentionBlock(config));
    }
}

TextTransformerImpl::TextTransformerImpl(const TextConfig& config) : config_(config) {
    config_.validate("OpenCLIP text model");
    token_embedding = register_module("token_embedding", layers::Embedding(config_.vocab_size, config_.width));
    positional_embedding = register_parameter(
        "positional_embedding",
        layers::parameter({config_.context_length, config_.width}, [](torch::Tensor& p) { p.normal_(0, 0.01); }));
    transformer = register_module("transformer", Transformer(config_));
    ln_final = register_module("ln_final", text_layer_norm(config_));
    if (config_.projection == TextProjection::parameter) {
        text_projection =
            register_parameter("text_projection", layers::parameter({config_.width, config_.embed_dim}, [&](torch::Tensor& p) {
                                   p.normal_(0, 1.0 / std::sqrt(double(config_.width)));
                               }));
    } else if (config_.projection == TextProjection::linear) {
        // Registered as `text_projection` so the key is `text_projection.weight` ([embed_dim, C], no bias).
        text_projection_linear = register_module(
            "text_projection", layers::Linear(nn::LinearOptions(config_.width, config_.embed_dim).bias(false)));
    }
}

std::vector<torch::Tensor> TextTransformerImpl::forward(const torch::Tensor& input_ids,
                                                        std::optional<int64_t> num_layers) {
    auto& blocks = transformer->resblocks;
    const int64_t n = num_layers.value_or(static_cast<int64_t>(blocks->size()));
    if (n < 0 || n > static_cast<int64_t>(blocks->size())) {
        throw Error("OpenCLIP text encoder: cannot run " + std::to_string(n) + " of " +
                    std::to_string(blocks->size()) + " blocks");
    }
    const int64_t t = input_ids.size(1);
    if (t > positional_embedding.size(0)) {
        throw Error("OpenCLIP text encoder: " + std::to_string(t) + " tokens exceed the context length " +
                    std::to_string(positional_embedding.size(0)));
    }
    auto ids = input_ids.to(positional_embedding.device(), torch::kLong);
    std::vector<torch::Tensor> hidden_states;
    hidden_states.reserve(n + 1);
    hidden_states.push_back(token_embedding(ids) + positional_embedding.slice(0, 0, t));  // [B, T, C]
    for (int64_t i = 0; i < n; ++i) {
        hidden_states.push_back(blocks->at<ResidualAttentionBlockImpl>(i).forward(hidden_states.back()));
    }
    return hidden_states;
}

torch::Tensor TextTransformerImpl::final_norm(const torch::Tensor& x) {
    return ln_final(x);
}

torch::Tensor TextTransformerImpl::pool(const torch::Tensor& x, const torch::Tensor& input_ids) {
    auto eot = clip::gather_eot(x, input_ids);  // [B, C]
    switch (config_.projection) {
        case TextProjection::parameter:
            return torch::matmul(eot, text_projection);  // [B, embed_dim]
        case TextProjection::linear:
            return text_projection_linear(eot);  // [B, embed_dim]
        case TextProjection::none:
            break;
    }
    throw Error("OpenCLIP text encoder: this model has no text_projection, so it has no pooled output");
}

torch::Tensor TextTransformerImpl::encode_sd2(const torch::Tensor& input_ids) {
    return final_norm(forward(input_ids, config_.layers - 1).back());
}

SdxlTextOutput TextTransformerImpl::encode_sdxl(const torch::Tensor& input_ids) {
    auto hidden = forward(input_ids);
    SdxlTextOutput out;
    out.context = hidden[hidden.size() - 2];
    out.pooled = pool(final_norm(hidden.back()), input_ids);
    return out;
}

TextConfig detect_config(const Checkpoint& ckpt, const std::string& prefix, std::optional<int64_t> heads) {
    const std::string what = "OpenCLIP text model under '" + prefix + "'";
    TextConfig config;
    auto tok = text_weight_shape(ckpt, prefix + "token_embedding.weight", what);
    auto pos = text_weight_shape(ckpt, prefix + "positional_embedding", what);
    config.vocab_size = tok.at(0);
    config.width = tok.at(1);
    config.context_length = pos.at(0);
    const std::string blocks = prefix + "transformer.resblocks.";
    int64_t layers = 0;
    while (ckpt.contains(blocks + std::to_string(layers) + ".ln_1.weight")) {
        ++layers;
    }
    if (layers == 0) {
        text_weight_shape(ckpt, blocks + "0.ln_1.weight", what);  // throws naming the key
    }
    config.layers = layers;
    auto c_fc = text_weight_shape(ckpt, blocks + "0.mlp.c_fc.weight", what);
    if (c_fc.at(0) % config.width != 0) {
        throw Error("model '" + ckpt.path().string() + "': " + what + ": MLP width " +
                    std::to_string(c_fc.at(0)) + " is not a multiple of width " +
                    std::to_string(config.width));
    }
    config.mlp_ratio = c_fc.at(0) / config.width;
    config.heads = text_heads_for_width(config.width, heads, what);
    config.act = TextActivation::gelu;
    if (ckpt.contains(prefix + "text_projection")) {
        config.projection = TextProjection::parameter;
        config.embed_dim = text_weight_shape(ckpt, prefix + "text_projection", what).at(1);
    } else if (ckpt.contains(prefix + "text_projection.weight")) {
        config.projection = TextProjection::linear;
        config.embed_dim = text_weight_shape(ckpt, prefix + "text_projection.weight", what).at(0);
    }
    config.validate(what);
    return config;
}

}  // namespace sf::open_clip
