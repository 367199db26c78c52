// Matrix products on the CPU through oneDNN. libtorch's own linear / matmul / bmm on the CPU go to the system
// BLAS, which on the development machine's OpenBLAS reaches 7-20 GFLOP/s on the models' shapes, while oneDNN's
// 1x1 convolution computes the same products at 65-220 GFLOP/s. A row-major [M, K] matrix is a channels-last
// [1, K, M, 1] image without a copy, so its product with an [N, K] weight is one 1x1 convolution, and a batch of
// independent products is one grouped convolution.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

namespace sf::onednn {

/// Whether this libtorch's oneDNN is one whose channels-last kernels the conformance cases have checked at every
/// shape the models use: libtorch 1.x, with oneDNN 2.x. libtorch 2.x brings oneDNN 3.x, and Debian 13's
/// (libtorch 2.6 on oneDNN 3.7.2) computes some channels-last 1x1 convolutions wrongly with more than one
/// thread on an AVX-512 CPU (its brgconv_1x1 kernel: SD1.5's [256, 320] x [320, 2560] product as a 1x1
/// convolution, or the 2560 → 1280 skip convolution at 4x4, miss by a relative L2 of 6e-2), while the same
/// convolutions in NCHW are right. Where this is false, CPU convolutions run NCHW and products stay libtorch's.
constexpr bool channels_last_trusted() { return TORCH_VERSION_MAJOR < 2; }

/// Whether a model on `device` in `dtype` should run its convolutions channels-last: on the CPU in float32, where
/// oneDNN then reorders neither activations nor weights around each convolution, and its kernels are trusted.
bool prefer_channels_last(const torch::Device& device, torch::Dtype dtype);

/// Whether products on `t` take this route: a CPU float32 tensor, in a libtorch built with oneDNN whose
/// channels-last kernels are trusted.
bool applies(const torch::Tensor& t);

/// Rows [M, K], contiguous, as the channels-last image [1, K, M, 1] (a view).
torch::Tensor rows_as_image(const torch::Tensor& rows);

/// A channels-last image [1, N, M, 1] (what the convolution returns for such an input) back as rows [M, N].
torch::Tensor image_as_rows(const torch::Tensor& image);

/// x [..., K] · weightᵀ (+ bias) with weight [N, K], bias [N] or undefined: torch::linear's result, through
/// oneDNN where it applies to both x and weight, else torch::linear itself.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

}  // namespace sf::onednn
