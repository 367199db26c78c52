// SDXL conditioning assembly: mirrors sgm/modules/encoders/modules.py GeneralConditioner.forward with the
// embedder lists of configs/inference/sd_xl_base.yaml and sd_xl_refiner.yaml (ConcatTimestepEmbedderND, 256
// wide).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace sf::sdxl {

/// Each scalar of `values` [N, K] embedded by timestep_embedding(v, 256) and laid side by side → [N, K·256]
/// (sgm ConcatTimestepEmbedderND: per sample emb(first), emb(second), ...).
torch::Tensor concat_timestep_embedding(const torch::Tensor& values, int64_t outdim = 256);

/// SDXL base y [N, 2816] = [bigG pooled (1280) | emb(orig h, w) | emb(crop top, left) | emb(target h, w)].
/// original_size_hw, crop_coords_top_left, target_size_hw: [N, 2] as (height, width) / (top, left).
torch::Tensor base_vector(const torch::Tensor& bigg_pooled, const torch::Tensor& original_size_hw,
                          const torch::Tensor& crop_coords_top_left, const torch::Tensor& target_size_hw);

/// SDXL refiner y [N, 2560] = [bigG pooled (1280) | emb(orig h, w) | emb(crop top, left) | emb(aesthetic
/// score)]; aesthetic_score [N] or [N, 1] (sgm defaults: 6.0 for the prompt, 2.5 for the negative prompt).
torch::Tensor refiner_vector(const torch::Tensor& bigg_pooled, const torch::Tensor& original_size_hw,
                             const torch::Tensor& crop_coords_top_left, const torch::Tensor& aesthetic_score);

/// SDXL base cross-attention context: [CLIP-L penultimate (768) | bigG penultimate (1280)] → [N, 77, 2048].
torch::Tensor base_context(const torch::Tensor& clip_l_penultimate, const torch::Tensor& bigg_penultimate);

/// The [N, 2] tensor holding one (a, b) pair for every sample, float32 (helper for sizes and crops).
torch::Tensor pairs(int64_t n, double a, double b);

}  // namespace sf::sdxl
