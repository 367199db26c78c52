// Seed → noise on the CPU with libtorch's MT19937 generator (torch.manual_seed(s); torch.randn(shape)), so
// a seed gives the same latent as other tools that draw on the CPU, and the per-step noise of the ancestral /
// SDE samplers behind one interface.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace sf::sampling {

/// torch.manual_seed(seed); torch.randn(shape): float32 on the CPU.
torch::Tensor seed_noise(uint64_t seed, c10::IntArrayRef shape);
/// One draw per image: image i is seed_noise(seed + i, per_image) → [batch, *per_image] on `device`.
torch::Tensor batch_noise(uint64_t seed, int64_t batch, c10::IntArrayRef per_image,
                          const torch::Device& device = torch::kCPU);

/// Where ancestral / SDE samplers get their per-step noise (k-diffusion's noise_sampler(sigma, sigma_next)).
class NoiseSource {
public:
    virtual ~NoiseSource() = default;
    /// Unit normal noise shaped like `like` (same dtype and device) for the step sigma → sigma_next.
    virtual torch::Tensor next(const torch::Tensor& like, double sigma, double sigma_next) = 0;
};

/// Per-image CPU generators: image i draws from a generator seeded with seeds[i], so an image of a batch
/// equals the same seed run alone. `initial` and `next` share each image's stream (initial noise first).
class CpuNoise : public NoiseSource {
public:
    /// One generator per seed.
    explicit CpuNoise(std::vector<uint64_t> seeds);
    /// Seeds seed..seed+batch-1.
    CpuNoise(uint64_t seed, int64_t batch);
    /// The starting noise: [batch, *per_image] float32 on `device` (same values as batch_noise).
    torch::Tensor initial(c10::IntArrayRef per_image, const torch::Device& device = torch::kCPU);
    torch::Tensor next(const torch::Tensor& like, double sigma, double sigma_next) override;

private:
    torch::Tensor draw(c10::IntArrayRef per_image, const torch::Device& device, torch::ScalarType dtype);
    std::vector<at::Generator> generators_;
};

}  // namespace sf::sampling
