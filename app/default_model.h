// Where the embedded default model lives: <prefix>/share/sfumato/models beside <prefix>/bin, found from the
// executable's own path. The build tree mirrors that layout (<build>/share/sfumato/models links to
// resources/models, made at configure time), so one rule serves both.
#pragma once

#include <filesystem>
#include <vector>

namespace sf::cli {

/// This process's executable (/proc/self/exe on Linux); empty when it cannot be found.
std::filesystem::path executable_path();

/// The folders searched for the default model, in order: $SFUMATO_MODELS_DIR when set, then
/// <exe_dir>/../share/sfumato/models.
std::vector<std::filesystem::path> default_model_dirs(const std::filesystem::path& executable);

/// The first model in `dir`: default.safetensors when present, else the first *.safetensors by name, else
/// the first sub-folder holding model_index.json (a diffusers folder); empty when there is none.
std::filesystem::path find_model_in(const std::filesystem::path& dir);

/// The embedded default model; throws sf::Error listing the folders searched when there is none.
std::filesystem::path find_default_model(const std::filesystem::path& executable = executable_path());

}  // namespace sf::cli
