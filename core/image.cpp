#include "core/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace sf {

Image image_from_tensor(const torch::Tensor& t) {
    auto x = t.dim() == 4 ? t[0] : t;  // [3, H, W]
    if (x.dim() != 3 || x.size(0) != 3) {
        throw Error("image_from_tensor: expected [3, H, W] or [1, 3, H, W], got " + c10::str(t.sizes()));
    }
    // A1111 and the CompVis scripts: u8 = trunc(255 * clamp((x + 1) / 2, 0, 1)), truncation, not rounding.
    auto u8 = (((x.detach().to(torch::kCPU, torch::kFloat32) + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0)
                  .to(torch::kUInt8)
                  .permute({1, 2, 0})  // [H, W, 3]
                  .contiguous();
    Image img;
    img.height = static_cast<int>(u8.size(0));
    img.width = static_cast<int>(u8.size(1));
    img.rgb.resize(u8.numel());
    std::memcpy(img.rgb.data(), u8.data_ptr<uint8_t>(), img.rgb.size());
    return img;
}

torch::Tensor tensor_from_image(const Image& image) {
    auto t = torch::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, torch::kUInt8);
    return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(127.5).sub(1.0);  // [1, 3, H, W]
}

double psnr(const torch::Tensor& ours, const torch::Tensor& ref, double range) {
    const auto diff = ours.to(torch::kCPU, torch::kFloat64) - ref.to(torch::kCPU, torch::kFloat64);
    const double mse = diff.pow(2).mean().item<double>();
    return 10.0 * std::log10(range * range / std::max(mse, 1e-20));
}

}  // namespace sf
