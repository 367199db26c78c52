// The reverse process end to end — the only file that knows the order tokenize → encode → sample → decode
// (STYLE.md §3.2). Shared by the app and the command line through sf::Worker.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.h"
#include "core/device.h"
#include "core/image.h"
#include "core/request.h"
#include "core/worker.h"

namespace sf {

/// The text side of a family, resolved from the checkpoint.
enum class TextStack { clip_l, open_clip_h, sdxl };

/// What a file cannot tell about itself (tiny test models); real checkpoints need none of it.
struct PipelineOptions {
    std::optional<int64_t> text_heads;  ///< text encoder heads (default: metadata `sfumato.text_heads`, else width/64)
    /// On CUDA (libtorch 2.x), replay each UNet call from a CUDA graph captured on the first step of each
    /// batch shape (core/cuda_graph.h). Off: every step launches its kernels one by one.
    bool cuda_graphs = true;
};

/// A loaded model, ready to generate. Built once per (file, device, dtype) and reused across jobs.
class Pipeline {
public:
    /// Loads every component of a single file or diffusers folder onto `device` in `dtype` (the VAE stays
    /// in float32 unless dtype is bfloat16: the SD VAE overflows in float16). Throws sf::Error naming the
    /// file and what was expected.
    static std::shared_ptr<Pipeline> load(const std::filesystem::path& path, DeviceChoice device,
                                          const PipelineOptions& options = {});
    ~Pipeline();

    const std::filesystem::path& path() const;
    const DeviceChoice& device() const;
    /// "SD 1.x", "SD 2.x", "SDXL", or the embedded model's name.
    const std::string& family_name() const;
    /// The default picture size of this model (512 SD1, 768 SD2, 1024 SDXL, 64 the embedded model).
    int default_size() const;
    /// First 10 hex digits of the file's SHA-256 (A1111's "Model hash"), computed once on first call.
    std::string model_hash();

    /// Cross-attention context of one prompt with A1111 emphasis and 75-token chunks: [1, 77*chunks, C];
    /// `pooled` receives the SDXL pooled vector when the family has one.
    torch::Tensor encode_prompt(const std::string& prompt, int clip_skip, torch::Tensor* pooled = nullptr);
    /// Image [N, 3, H, W] in [-1, 1] → model-space latent [N, C, H/8, W/8] (posterior sampled with a CPU
    /// generator seeded per image, as A1111 does with seed + 1).
    torch::Tensor encode_image(const torch::Tensor& image, const std::vector<int64_t>& seeds);
    /// Model-space latent → image [N, 3, H, W] in about [-1, 1] (tiled above 1024² pixels).
    torch::Tensor decode_latent(const torch::Tensor& latent);
    /// Cheap RGB preview of a latent, [N, 3, h, w] in [-1, 1] on the CPU (latent→RGB approximation).
    torch::Tensor preview(const torch::Tensor& latent) const;

    /// The whole request: txt2img, or img2img when request.init_image is set. Reports progress (step,
    /// steps, the current denoised latent) through ctx and stops within one step of a cancel.
    std::vector<Image> run(GenerateRequest& request, JobContext& ctx);
    /// As run(), returning the final model-space latents and decoded images [N, 3, H, W] (tests, bench).
    struct Output {
        torch::Tensor latent;
        torch::Tensor image;
    };
    Output run_tensors(GenerateRequest& request, JobContext& ctx);

    struct Impl;

private:
    explicit Pipeline(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Keeps the last loaded pipeline: asking for another file, device or dtype unloads the old one first.
class PipelineCache {
public:
    std::shared_ptr<Pipeline> get(const std::filesystem::path& path, const DeviceChoice& device);
    void clear();

private:
    std::mutex mutex_;
    std::shared_ptr<Pipeline> current_;
};

/// The picture size a model is made for, from its header alone: metadata `sfumato.default_size`, else by
/// family (SD 1.x 512, SD 2.x 768, SDXL 1024). Cheap: reads no tensor data.
int model_default_size(const Checkpoint& ckpt);
int model_default_size(const std::filesystem::path& model);

/// Resolves a request's "auto"/"cpu"/"cuda" device and "auto"/"fp16"/... dtype.
DeviceChoice resolve_device(const GenerateRequest& request);

/// The JobRunner for sf::Worker: loads request.model (or `default_model` when empty) through `cache`.
JobRunner make_job_runner(std::shared_ptr<PipelineCache> cache, std::filesystem::path default_model);

/// Checks a request before it is queued: sizes (multiples of 8, 64..4096), steps, batch, known sampler and
/// schedule, strength in [0, 1]. Throws sf::Error with a message for the user.
void validate_request(const GenerateRequest& request);

}  // namespace sf
