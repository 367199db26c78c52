// The A1111 `parameters` text ("infotext"): how a picture was made, written into its PNG and read back.
// Mirrors AUTOMATIC1111 stable-diffusion-webui modules/processing.py create_infotext (writing) and
// modules/infotext_utils.py parse_generation_parameters / quote / unquote / re_param (reading).
//
//   a red fox in the snow, "golden hour"
//   Negative prompt: blurry
//   Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42, Size: 512x512,
//   Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: sfumato 0.1.0, Device: cpu, ...
//
// (the last line is one line in the file). Qt- and OpenCV-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/request.h"

namespace sf {

/// What the request alone does not say but reproducibility needs: the model, the program, and our own
/// extra keys (the device, precision, seed mode, attention backend and libtorch that made the picture).
/// Empty fields are left out of the text.
struct InfotextInfo {
    std::string model_hash;     ///< "Model hash": first 10 hex digits of the file's SHA-256 (A1111 short hash)
    std::string model_name;     ///< "Model": the checkpoint's file stem
    std::string version;        ///< "Version": e.g. "sfumato 0.1.0"
    std::string device;         ///< "Device": the device the job ran on ("cpu", "cuda:0")
    std::string dtype;          ///< "Dtype": the compute precision ("fp32", "fp16", "bf16")
    std::string seed_mode;      ///< "Seed mode": how seeds become noise (the RNG: "cpu", "cuda", ...)
    std::string attention;      ///< "Attention": the attention backend ("math", "sdpa", ...)
    std::string torch_version;  ///< "Libtorch": the libtorch version, e.g. "1.13.0"
};

/// The text for image `index` of `request` (its own seed and guidance scale when the request is a batch).
std::string format_parameters(const GenerateRequest& request, const InfotextInfo& info, int index = 0);

/// One `Key: value` pair as A1111 writes it: the value JSON-quoted when it holds `,`, `:` or a newline.
std::string format_parameter(std::string_view key, std::string_view value);
/// A1111's quote(): the value itself, or a JSON string (UTF-8 kept) when it holds `,`, `:` or a newline.
std::string quote_parameter(std::string_view value);
/// A1111's unquote(): a value in double quotes is read as a JSON string; anything else is returned as is.
std::string unquote_parameter(std::string_view value);
/// Every `Key: value` pair of one line, in order, values unquoted (A1111's re_param.findall).
std::vector<std::pair<std::string, std::string>> split_parameter_line(std::string_view line);

/// A parameters text read back.
struct ParsedParameters {
    GenerateRequest request;  ///< fields not in the text keep GenerateRequest's defaults
    InfotextInfo info;
    bool img2img = false;  ///< a "Denoising strength" was present
    /// Keys this program does not map onto the request (A1111's "Hires upscale", "VAE hash", ...), and
    /// known keys whose value could not be read, values unquoted.
    std::map<std::string, std::string> extra;
};

/// Parses A1111's infotexts and ours. Never throws: what cannot be read stays in `extra` (or in the prompt,
/// exactly as A1111 does when the last line has fewer than 3 pairs).
ParsedParameters parse_parameters(std::string_view text);

/// A1111's short model hash: the first 10 hex digits of the file's SHA-256 ("" for a folder).
/// Throws sf::Error when the file cannot be read.
std::string short_model_hash(const std::filesystem::path& model);

/// Shortest text that reads back as the same double ("7", "7.5", "0.75").
std::string format_number(double value);

}  // namespace sf
