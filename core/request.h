// What the user asks for: the one request type shared by the app, the CLI and the pipeline.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sf {

/// Most images one request may batch.
inline constexpr int kMaxBatch = 64;

/// How many images a grid batches into one request at width x height unless told: as many as 8 pictures of
/// 512x512 (what a batch of 8 costs in SD 1.x), at least 1 and at most kMaxBatch. A 4x3 seed x guidance grid
/// of the embedded model (64x64) is one request, of SD 1.x at 512x512 two.
inline int default_grid_batch(int width, int height) {
    const int64_t pixels = std::max<int64_t>(1, static_cast<int64_t>(width) * height);
    return static_cast<int>(std::clamp<int64_t>(8LL * 512 * 512 / pixels, 1, kMaxBatch));
}

struct GenerateRequest {
    std::string prompt;
    std::string negative_prompt;
    std::filesystem::path model;        ///< empty: the embedded default model
    int width = 512;
    int height = 512;
    int steps = 20;
    double cfg_scale = 7.0;
    std::string sampler = "Euler a";    ///< A1111 names: "Euler", "DPM++ 2M", "DDIM", ...
    std::string schedule = "Automatic"; ///< "Automatic", "Karras", "Exponential", ...
    int64_t seed = -1;                  ///< -1: random (the chosen seed is reported back)
    int batch_size = 1;                 ///< images per run; seeds seed .. seed+batch_size-1
    int clip_skip = 1;
    /// Per-image guidance scales for a batched grid row (empty: cfg_scale for every image).
    std::vector<double> cfg_scales;
    /// Explicit per-image seeds (empty: seed + index).
    std::vector<int64_t> seeds;

    // img2img: the reference image already fitted to width x height, [1, 3, H, W] float in [-1, 1] on the
    // CPU (io/ reads and fits files with OpenCV; core never touches image files). Undefined: txt2img.
    torch::Tensor init_image;
    std::filesystem::path init_image_path;  ///< for metadata only
    std::string fit = "crop";               ///< "crop", "fit" (pad) or "stretch": how init_image was fitted
    double strength = 0.75;

    std::string device = "auto";  ///< "auto", "cpu", "cuda", "cuda:N"
    std::string dtype = "auto";   ///< "auto", "fp32", "fp16", "bf16"
    std::string preview = "latent";  ///< preview mode: "none", "latent" (latent→RGB), "taesd"
};

}  // namespace sf
