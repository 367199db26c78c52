// An 8-bit RGB picture, the one image type that crosses from core to the app, CLI and files.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace sf {

struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;  ///< row-major, 3 bytes per pixel

    bool empty() const { return rgb.empty(); }
};

/// [3, H, W] or [1, 3, H, W] float in [-1, 1] (any device/dtype) → Image (clamped, truncated as A1111 saves).
Image image_from_tensor(const torch::Tensor& t);
/// Image → [1, 3, H, W] float32 in [-1, 1] on the CPU.
torch::Tensor tensor_from_image(const Image& image);

/// Peak signal-to-noise ratio of `ours` against `ref` in dB, for values in a range `range` wide (1 for
/// [0, 1], 2 for [-1, 1]); computed in float64 on the CPU. Identical inputs give a finite 200 dB and more.
double psnr(const torch::Tensor& ours, const torch::Tensor& ref, double range);

}  // namespace sf
