#include "core/models/attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/models/onednn.h"

namespace sf {

namespace {

/// softmax(q kᵀ · scale) v for every group at once through oneDNN, for the CPU in fp32, where libtorch's bmm
/// goes to the system BLAS (OpenBLAS: 14-18 GFLOP/s on SD's attention shapes here, the grouped convolutions
/// 30-36). Each of the G = batch x heads groups is one group of a 1x1 convolution over the query rows:
/// the queries [rows, G, D] are a channels-last [1, G*D, rows, 1] image, the keys its weight [G*Tk, D, 1, 1],
/// the scores come out as [rows, G, Tk] (softmax over the last axis), which is again such an image for the
/// second convolution, whose weight is vᵀ [G*Dv, Tk, 1, 1].
class OneDnnAttention {
public:
    OneDnnAttention(const torch::Tensor& k3, const torch::Tensor& v3, double scale)
        : groups_(k3.size(0)), keys_(k3.size(1)), dv_(v3.size(2)), scale_(scale),
          k_weight_(k3.reshape({groups_ * keys_, k3.size(2), 1, 1}).contiguous()),
          v_weight_(v3.transpose(1, 2).contiguous().view({groups_ * dv_, keys_, 1, 1})) {}

    /// q3 [G, rows, D] → [G, rows, Dv]
    torch::Tensor operator()(const torch::Tensor& q3) const {
        const int64_t rows = q3.size(1);
        auto queries = q3.transpose(0, 1).contiguous().view({rows, -1});  // [rows, G*D]
        auto scores = onednn::image_as_rows(conv(onednn::rows_as_image(queries), k_weight_));
        auto weights = scores.view({rows, groups_, keys_}).mul_(scale_).softmax(-1).view({rows, groups_ * keys_});
        auto out = onednn::image_as_rows(conv(onednn::rows_as_image(weights), v_weight_));
        return out.view({rows, groups_, dv_}).transpose(0, 1);
    }

private:
    torch::Tensor conv(const torch::Tensor& image, const torch::Tensor& weight) const {
        return torch::conv2d(image, weight, torch::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0},
                             at::IntArrayRef{1, 1}, groups_);
    }
    int64_t groups_, keys_, dv_;
    double scale_;
    torch::Tensor k_weight_, v_weight_;
};

}  // namespace

torch::Tensor sliced_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t max_score_elements) {
    const auto b = q.size(0), h = q.size(1), tq = q.size(2), d = q.size(3), tk = k.size(2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    auto q3 = q.reshape({b * h, tq, d});                  // [BH, Tq, D]
    auto kt = k.reshape({b * h, tk, d}).transpose(1, 2);  // [BH, D, Tk]
    auto v3 = v.reshape({b * h, tk, v.size(3)});          // [BH, Tk, Dv]
    const int64_t rows = std::clamp<int64_t>(max_score_elements / std::max<int64_t>(b * h * tk, 1), 1, tq);
    // As ldm: sim = (q k^T) * scale, softmax over keys, then weights @ v.
    std::optional<OneDnnAttention> grouped;
    if (onednn::applies(q)) {
        grouped.emplace(k.reshape({b * h, tk, d}), v3, scale);
    }
    auto attend = [&](const torch::Tensor& qs) {
        if (grouped) {
            return (*grouped)(qs);
        }
        auto scores = torch::bmm(qs, kt).mul_(scale);  // [BH, rows, Tk]
        return torch::bmm(scores.softmax(-1), v3);     // [BH, rows, Dv]
    };
    if (rows >= tq) {
        return attend(q3).reshape({b, h, tq, v.size(3)});
    }
    auto out = torch::empty({b * h, tq, v.size(3)}, q.options());  // [BH, Tq, Dv]
    for (int64_t start = 0; start < tq; start += rows) {
        const int64_t end = std::min(start + rows, tq);
        out.slice(1, start, end).copy_(attend(q3.slice(1, start, end)));
    }
    return out.reshape({b, h, tq, v.size(3)});
}

torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
    return at::scaled_dot_product_attention(q, k, v);
#else
    return sliced_attention(q, k, v);
#endif
}

}  // namespace sf
