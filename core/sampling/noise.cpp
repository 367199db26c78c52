// CPU seed parity: at::CPUGeneratorImpl is MT19937 with init_genrand(seed); randn uses 24-bit uniforms and a
// 16-wide Box-Muller, exactly what torch.randn does on the CPU.
#include "core/sampling/noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace sf::sampling {

namespace {

torch::Tensor randn_with(at::Generator& gen, c10::IntArrayRef shape) {
    // randn takes the generator's mutex itself.
    return at::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
}

}  // namespace

torch::Tensor seed_noise(uint64_t seed, c10::IntArrayRef shape) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return randn_with(gen, shape);
}

torch::Tensor batch_noise(uint64_t seed, int64_t batch, c10::IntArrayRef per_image,
                          const torch::Device& device) {
    return CpuNoise(seed, batch).initial(per_image, device);
}

CpuNoise::CpuNoise(std::vector<uint64_t> seeds) {
    if (seeds.empty()) {
        throw Error("CpuNoise: no seeds");
    }
    for (uint64_t s : seeds) {
        generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(s));
    }
}

CpuNoise::CpuNoise(uint64_t seed, int64_t batch) {
    if (batch < 1) {
        throw Error("CpuNoise: batch must be at least 1");
    }
    for (int64_t i = 0; i < batch; ++i) {
        generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<uint64_t>(i)));
    }
}

torch::Tensor CpuNoise::draw(c10::IntArrayRef per_image, const torch::Device& device,
                             torch::ScalarType dtype) {
    std::vector<torch::Tensor> rows;
    rows.reserve(generators_.size());
    for (auto& g : generators_) {
        rows.push_back(randn_with(g, per_image));
    }
    return torch::stack(rows).to(device, dtype);
}

torch::Tensor CpuNoise::initial(c10::IntArrayRef per_image, const torch::Device& device) {
    return draw(per_image, device, torch::kFloat32);
}

torch::Tensor CpuNoise::next(const torch::Tensor& like, double, double) {
    if (like.size(0) != static_cast<int64_t>(generators_.size())) {
        throw Error("CpuNoise: batch " + std::to_string(like.size(0)) + " but " +
                    std::to_string(generators_.size()) + " seeds");
    }
    return draw(like.sizes().slice(1), like.device(), like.scalar_type());
}

}  // namespace sf::sampling
