#include "core/models/onednn.h"

namespace sf::onednn {

bool prefer_channels_last(const torch::Device& device, torch::Dtype dtype) {
    return device.is_cpu() && dtype == torch::kFloat32 && channels_last_trusted();
}

bool applies(const torch::Tensor& t) {
    static const bool available = channels_last_trusted() && at::hasMKLDNN();
    return available && t.device().is_cpu() && t.scalar_type() == torch::kFloat32;
}

torch::Tensor rows_as_image(const torch::Tensor& rows) {
    return rows.view({1, rows.size(0), 1, rows.size(1)}).permute({0, 3, 1, 2});
}

torch::Tensor image_as_rows(const torch::Tensor& image) {
    return image.permute({0, 2, 3, 1}).reshape({image.size(2), image.size(1)});
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    if (!applies(x) || !applies(weight)) {
        return torch::linear(x, weight, bias);
    }
    const int64_t k = x.size(-1);
    const int64_t n = weight.size(0);
    auto rows = x.reshape({-1, k}).contiguous();
    auto out = image_as_rows(torch::conv2d(rows_as_image(rows), weight.reshape({n, k, 1, 1}), bias));
    auto shape = x.sizes().vec();
    shape.back() = n;
    return out.reshape(shape);
}

}  // namespace sf::onednn
