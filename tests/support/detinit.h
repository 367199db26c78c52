// Deterministic weights for full-size cases (../shared/conformance/DETINIT.md): each tensor rebuilt from its
// key name and shape.
#pragma once

#include <torch/torch.h>

#include <string>

#include "core/checkpoint/checkpoint.h"
#include "core/json.h"

namespace sf::test {

/// The detinit tensor for a full key name and shape (float32).
torch::Tensor detinit(const std::string& key, c10::IntArrayRef shape);

/// Fills every parameter and buffer of `module` with detinit(prefix + name, shape). Keys named in
/// `exceptions` (the case's `detinit_exceptions` metadata) are left to the caller.
void detinit_module(torch::nn::Module& module, const std::string& prefix);

/// Builds a header-only safetensors file from a `*_manifest.json` (every key, dtype and shape of a real
/// checkpoint), the data section cut off: enough for family detection and key checks. Returns its path.
std::filesystem::path header_only_from_manifest(const std::filesystem::path& manifest,
                                                const std::filesystem::path& out_dir);

}  // namespace sf::test
