// Timing of the autoencoders for `sfumato-cli bench`: full-size SD VAE decode and TAESD decode, after
// warm-up, with achieved GFLOP/s from an analytic FLOP count. Random weights (speed does not depend on them).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace sf::bench {

struct VaeBenchOptions {
    torch::Device device = torch::kCPU;
    torch::Dtype dtype = torch::kFloat32;
    /// Output image edges to time (square), multiples of 8.
    std::vector<int64_t> sizes = {256, 512};
    int warmup = 1;
    int runs = 3;
    bool sd_vae = true;  ///< time the full SD VAE decode
    bool taesd = true;   ///< time the TAESD decode
};

/// One timed configuration: the best and median wall time of `runs` calls.
struct BenchResult {
    std::string name;    ///< e.g. "sd_vae_decode 512x512"
    int64_t size = 0;    ///< output edge in pixels
    double best_s = 0;
    double median_s = 0;
    double gflop = 0;    ///< work of one call
    double gflops = 0;   ///< gflop / best_s
};

/// Builds the SD VAE decoder (and the TAESD decoder) once on the device, then times decode at each size.
std::vector<BenchResult> bench_vae(const VaeBenchOptions& options = {});

/// The attainable compute rate: the best of a few square matrix products (4096² on a GPU, 2048² on the CPU) in
/// `dtype`, as a BLAS call reaches it. Decode time over gflop / this is "× the compute bound" when the device's
/// theoretical peak is not given.
BenchResult bench_matmul(torch::Device device, torch::Dtype dtype);

/// One line per result: name, best/median seconds, GFLOP, GFLOP/s.
std::string format_results(const std::vector<BenchResult>& results);

}  // namespace sf::bench
