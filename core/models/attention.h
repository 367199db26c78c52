// Scaled dot-product attention shared by the UNet (ldm attention.py CrossAttention) and the VAE mid block.
// libtorch 2.x: at::scaled_dot_product_attention; libtorch 1.x: softmax(q k^T * scale) v computed in slices
// of query rows, so the [T_q, T_k] score matrix of a large latent never exists whole.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace sf {

/// softmax(q k^T / sqrt(D)) v for q [B, H, Tq, D], k and v [B, H, Tk, D] → [B, H, Tq, D]. No mask.
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v);

/// The sliced path on its own (used when SDPA is unavailable; exposed for tests and benchmarks).
/// `max_score_elements` bounds the size of one slice's score matrix [B*H, rows, Tk].
torch::Tensor sliced_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t max_score_elements = int64_t{1} << 26);

}  // namespace sf
