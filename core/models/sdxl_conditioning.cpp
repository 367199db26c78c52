// Mirrors sgm/modules/encoders/modules.py (GeneralConditioner, ConcatTimestepEmbedderND).
#include "core/models/sdxl_conditioning.h"

#include "core/models/unet.h"

namespace sf::sdxl {

torch::Tensor concat_timestep_embedding(const torch::Tensor& values, int64_t outdim) {
    auto v = values.dim() == 1 ? values.unsqueeze(1) : values;  // [N, K]
    const int64_t n = v.size(0), k = v.size(1);
    auto emb = unet::timestep_embedding(v.reshape({n * k}), outdim);  // [N K, outdim]
    return emb.reshape({n, k * outdim});                              // [N, K outdim]
}

torch::Tensor base_vector(const torch::Tensor& bigg_pooled, const torch::Tensor& original_size_hw,
                          const torch::Tensor& crop_coords_top_left, const torch::Tensor& target_size_hw) {
    return torch::cat(
        {bigg_pooled.to(torch::kFloat32), concat_timestep_embedding(original_size_hw),
         concat_timestep_embedding(crop_coords_top_left), concat_timestep_embedding(target_size_hw)},
        1);  // [N, 1280 + 3 * 512]
}

torch::Tensor refiner_vector(const torch::Tensor& bigg_pooled, const torch::Tensor& original_size_hw,
                             const torch::Tensor& crop_coords_top_left,
                             const torch::Tensor& aesthetic_score) {
    return torch::cat({bigg_pooled.to(torch::kFloat32), concat_timestep_embedding(original_size_hw),
                       concat_timestep_embedding(crop_coords_top_left),
                       concat_timestep_embedding(aesthetic_score.reshape({-1, 1}))},
                      1);  // [N, 1280 + 2 * 512 + 256]
}

torch::Tensor base_context(const torch::Tensor& clip_l_penultimate, const torch::Tensor& bigg_penultimate) {
    return torch::cat({clip_l_penultimate, bigg_penultimate}, 2);  // [N, 77, 768 + 1280]
}

torch::Tensor pairs(int64_t n, double a, double b) {
    return torch::tensor({a, b}, torch::kFloat32).unsqueeze(0).expand({n, 2}).contiguous();
}

}  // namespace sf::sdxl
