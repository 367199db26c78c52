// Diffusers folders → the original single-file key layout: one rename map per model family, in this one
// place (STYLE.md §2.9).
#pragma once

#include <filesystem>

#include "core/checkpoint/checkpoint.h"

namespace sf {

/// Opens a diffusers-format folder (model_index.json, unet/, vae/, text_encoder/, text_encoder_2/,
/// sharded *.safetensors.index.json) as a Checkpoint keyed like the single-file checkpoint of its family.
Checkpoint open_diffusers_folder(const std::filesystem::path& folder, Validation validation = Validation::full);

}  // namespace sf
