// Filling a torch::nn::Module from a Checkpoint: the module tree mirrors the key names, so loading is a
// lookup (STYLE.md §3.3).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/checkpoint/checkpoint.h"

namespace sf {

/// Keys under a prefix that no module consumes but that real files carry (EMA copies, loss buffers,
/// position_ids, schedule buffers). Returns true to ignore.
using KeyFilter = std::function<bool(const std::string& key)>;

/// The keys every family ignores: model_ema.*, *.loss.*, *.logit_scale, *.position_ids, schedule buffers.
bool ignore_known_extras(const std::string& key);

struct LoadOptions {
    torch::Device device = torch::kCPU;
    /// Floating-point parameters are converted to this dtype (integer buffers keep theirs).
    torch::Dtype dtype = torch::kFloat32;
    KeyFilter ignore = ignore_known_extras;
    /// Convolution weights (4-d tensors) are loaded channels-last, in the same pass as the dtype conversion
    /// (a copy even where the file's dtype matches). For models run channels-last on the CPU.
    bool channels_last = false;
};

/// Replaces every parameter and buffer of `module` with the tensor `prefix + name` of `ckpt`, converted to
/// the options' device and dtype. Strict: a missing key, a shape mismatch, or a key under `prefix` that is
/// neither consumed nor ignored throws sf::Error naming the checkpoint and the first offending keys.
/// Ignored keys are reported at debug level.
void load_module(torch::nn::Module& module, const Checkpoint& ckpt, const std::string& prefix,
                 const LoadOptions& options = {});

}  // namespace sf
