// What a UNet predicts (eps or v). Files carry no such flag: SD 2.x 768 models are v, 512-base is eps.
// Decided from a sidecar config when one sits beside the file, else by AUTOMATIC1111's probe
// (modules/sd_models_config.py, is_using_v_parameterization_for_sd2).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/models/unet.h"

namespace sf::unet {

enum class Prediction { eps, v };

/// "eps" or "v".
const char* prediction_name(Prediction p);

/// Parses a yaml line `parameterization: "v"` (ldm config) or a JSON `"prediction_type": "v_prediction"`
/// (diffusers scheduler config); nullopt when the text says neither.
std::optional<Prediction> parse_prediction_config(const std::string& text);

/// Looks for <stem>.yaml / .yml / .json beside a single file, or scheduler/scheduler_config.json and
/// config.json inside a diffusers folder, and returns the first decision found.
std::optional<Prediction> prediction_from_sidecar(const std::filesystem::path& model_path);

/// A1111's probe: with x = context = 0.5 everywhere, t = 999, a v-model's output sits far below x
/// (mean(out - x) < -1), an eps-model's does not. One forward on an 8x8 latent.
Prediction probe_prediction(UNetModel& unet);

/// Sidecar when present; else the probe for SD 2.x-shaped UNets (linear projections, no vector
/// conditioning); else eps (SD 1.x, SDXL). Logs the decision and why.
Prediction detect_prediction(const std::filesystem::path& model_path, UNetModel& unet);

}  // namespace sf::unet
