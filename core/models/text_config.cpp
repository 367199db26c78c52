#include "core/models/text_config.h"

#include "core/error.h"

namespace sf {

TextConfig TextConfig::clip_l() {
    return TextConfig{.width = 768, .layers = 12, .heads = 12, .act = TextActivation::quick_gelu};
}

TextConfig TextConfig::open_clip_h() {
    return TextConfig{.width = 1024,
                      .layers = 24,
                      .heads = 16,
                      .act = TextActivation::gelu,
                      .projection = TextProjection::parameter,
                      .embed_dim = 1024};
}

TextConfig TextConfig::open_clip_bigg() {
    return TextConfig{.width = 1280,
                      .layers = 32,
                      .heads = 20,
                      .act = TextActivation::gelu,
                      .projection = TextProjection::parameter,
                      .embed_dim = 1280};
}

void TextConfig::validate(const std::string& what) const {
    auto fail = [&](const std::string& why) { throw Error(what + ": invalid text encoder config: " + why); };
    if (vocab_size <= 0 || context_length <= 0 || width <= 0 || layers <= 0 || mlp_ratio <= 0) {
        fail("sizes must be positive");
    }
    if (heads <= 0 || width % heads != 0) {
        fail("width " + std::to_string(width) + " is not divisible by " + std::to_string(heads) + " heads");
    }
    if ((projection == TextProjection::none) != (embed_dim == 0)) {
        fail("embed_dim must be set exactly when there is a text projection");
    }
}

int64_t text_heads_for_width(int64_t width, std::optional<int64_t> heads, const std::string& what) {
    if (heads) {
        if (*heads <= 0 || width % *heads != 0) {
            throw Error(what + ": " + std::to_string(*heads) + " attention heads do not divide width " +
                        std::to_string(width));
        }
        return *heads;
    }
    if (width % 64 != 0) {
        throw Error(what + ": cannot infer the attention head count for width " + std::to_string(width) +
                    " (not a multiple of 64); give it explicitly");
    }
    return width / 64;
}

layers::LayerNorm text_layer_norm(const TextConfig& config) {
    return layers::LayerNorm(torch::nn::LayerNormOptions({config.width}).eps(config.layer_norm_eps));
}

std::vector<int64_t> text_weight_shape(const Checkpoint& ckpt, const std::string& key, const std::string& what) {
    if (!ckpt.contains(key)) {
        throw Error("model '" + ckpt.path().string() + "': " + what + ": missing tensor " + key);
    }
    const auto& shape = ckpt.info(key).shape;
    if (shape.size() != 2) {
        throw Error("model '" + ckpt.path().string() + "': " + what + ": " + key + " has shape " +
                    c10::str(c10::IntArrayRef(shape)) + ", expected 2 dimensions");
    }
    return shape;
}

}  // namespace sf
