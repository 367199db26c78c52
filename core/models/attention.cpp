#include "core/models/attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>

namespace sf {

torch::Tensor sliced_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t max_score_elements) {
    const auto b = q.size(0), h = q.size(1), tq = q.size(2), d = q.size(3), tk = k.size(2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    auto q3 = q.reshape({b * h, tq, d});                  // [BH, Tq, D]
    auto kt = k.reshape({b * h, tk, d}).transpose(1, 2);  // [BH, D, Tk]
    auto v3 = v.reshape({b * h, tk, v.size(3)});          // [BH, Tk, Dv]
    const int64_t rows = std::clamp<int64_t>(max_score_elements / std::max<int64_t>(b * h * tk, 1), 1, tq);
    // As ldm: sim = (q k^T) * scale, softmax over keys, then weights @ v.
    auto attend = [&](const torch::Tensor& qs) {
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
