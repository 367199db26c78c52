// Configuration shared by the CLIP-style text encoders (sf::clip, sf::open_clip): both are the same pre-norm
// causal transformer and differ only in names, activation and the optional text projection.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/models/layers.h"

#include <cstdint>
#include <optional>
#include <string>

namespace sf {

/// The MLP activation of a text encoder block.
enum class TextActivation {
    quick_gelu,  ///< x * sigmoid(1.702 x): openai CLIP-L (SD1, SDXL embedder 0)
    gelu,        ///< exact (erf) GELU: OpenCLIP ViT-H (SD2) and ViT-bigG (SDXL embedder 1)
};

/// How an OpenCLIP text tower stores its projection.
enum class TextProjection {
    none,       ///< no projection tensor (pooled output unavailable)
    parameter,  ///< `text_projection` [width, embed_dim], used as x @ P (OpenCLIP layout)
    linear,     ///< `text_projection.weight` [embed_dim, width], used as x @ W^T (Linear layout, no bias)
};

/// Sizes of a CLIP-style text transformer. Presets give the real models; detect functions in clip.h and
/// open_clip.h read the sizes from a checkpoint's key shapes.
struct TextConfig {
    int64_t vocab_size = 49408;
    int64_t context_length = 77;
    int64_t width = 768;
    int64_t layers = 12;
    int64_t heads = 12;
    int64_t mlp_ratio = 4;
    double layer_norm_eps = 1e-5;
    TextActivation act = TextActivation::quick_gelu;
    TextProjection projection = TextProjection::none;
    int64_t embed_dim = 0;  ///< projection output size (0 when projection == none)

    int64_t head_dim() const { return width / heads; }
    int64_t mlp_width() const { return width * mlp_ratio; }

    /// openai CLIP ViT-L/14 text encoder: 768 wide, 12 layers, 12 heads, QuickGELU (SD1, SDXL embedder 0).
    static TextConfig clip_l();
    /// OpenCLIP ViT-H/14 text tower: 1024 wide, 24 layers, 16 heads, GELU, projection 1024 (SD2).
    static TextConfig open_clip_h();
    /// OpenCLIP ViT-bigG/14 text tower: 1280 wide, 32 layers, 20 heads, GELU, projection 1280 (SDXL).
    static TextConfig open_clip_bigg();

    /// Throws sf::Error when the sizes are inconsistent (heads not dividing width, ...); `what` names the
    /// model.
    void validate(const std::string& what) const;
};

/// Head count for a detected width: `heads` when given, else width / 64 (all real CLIP text encoders use
/// head_dim 64). Throws sf::Error naming `what` when width is not a multiple of 64 and no count is given.
int64_t text_heads_for_width(int64_t width, std::optional<int64_t> heads, const std::string& what);

/// LayerNorm over the text width with the config's eps (both text encoder layouts).
layers::LayerNorm text_layer_norm(const TextConfig& config);

/// The shape of `key`; throws sf::Error naming the checkpoint and key when it is absent or not 2-D.
std::vector<int64_t> text_weight_shape(const Checkpoint& ckpt, const std::string& key, const std::string& what);

}  // namespace sf
