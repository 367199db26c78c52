#include "core/checkpoint/keymap.h"

#include "core/error.h"

namespace sf {

Checkpoint open_diffusers_folder(const std::filesystem::path& folder, Validation validation) {
    throw Error("diffusers folder '" + folder.string() + "': not supported yet");
}

}  // namespace sf
