// UNet throughput benchmark for `sfumato-cli bench`: a full-size UNet with random (detinit-like) weights,
// one classifier-free-guidance step (batch 2) per resolution after a warm-up.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/models/unet.h"

namespace sf::bench {

struct UNetBenchOptions {
    unet::UNetConfig config = unet::UNetConfig::sd15();
    /// Image sizes in pixels (square); the latent is size / 8.
    std::vector<int64_t> image_sizes = {256, 512};
    /// Untimed steps per size before the timed ones.
    int warmup = 1;
    /// Timed steps per size; the reported time is the best (least disturbed by other load).
    int repeats = 1;
    int64_t batch = 2;  ///< 2 = one CFG step (cond + uncond in one batch)
    torch::Device device = torch::kCPU;
    torch::Dtype dtype = torch::kFloat32;
    /// Run convolutions in channels_last memory format, as Pipeline::load does on the CPU in fp32 (sfumato-cli
    /// bench sets it so). Before the host memory cache it was slower there (22 s vs 14 s per 256² step).
    bool channels_last = false;
    /// Replay each step from a CUDA graph (core/cuda_graph.h) where the build supports it.
    bool cuda_graph = false;
    /// Time every variant instead of the one chosen above: NCHW and channels-last, each run eagerly and,
    /// where the build supports it, from a CUDA graph (for choosing what a GPU should run).
    bool all_variants = false;
    /// Also run the same step on the CPU in float32 at this image size (0: not) and report the relative
    /// difference of the outputs: how far this device and dtype are from the CPU reference computation.
    int64_t agree_size = 0;
    /// Called with a line of progress ("building", "256: 2.91 s", ...); may be empty.
    std::function<void(const std::string&)> progress;
};

/// Times of one resolution.
struct UNetBenchStep {
    std::string variant;  ///< "nchw eager", "channels-last graph", ...
    int64_t image_size = 0;
    int64_t latent_size = 0;
    double warmup_s = 0;
    double step_s = 0;                                                   ///< best timed step
    double median_s = 0;                                                 ///< median timed step
    double input_blocks_s = 0, middle_block_s = 0, output_blocks_s = 0;  ///< stages of the best step
};

struct UNetBenchResult {
    double build_s = 0;  ///< constructing the module tree (libtorch default init included)
    double fill_s = 0;   ///< filling random weights and moving to device/dtype
    int64_t parameters = 0;
    std::vector<UNetBenchStep> steps;
    /// With agree_size, per variant: ||out - out_cpu_fp32|| / ||out_cpu_fp32|| and the largest difference.
    struct Agreement {
        std::string variant;
        double rel_l2 = 0, max_abs = 0;
    };
    std::vector<Agreement> agreement;
    /// A few human-readable lines.
    std::string summary() const;
};

/// Builds the model, fills deterministic random weights, and times one step per image size.
UNetBenchResult bench_unet(const UNetBenchOptions& options = {});

}  // namespace sf::bench
