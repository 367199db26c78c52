#include "app/default_model.h"

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "core/error.h"

namespace sf::cli {

namespace fs = std::filesystem;

fs::path executable_path() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p;
}

std::vector<fs::path> default_model_dirs(const fs::path& executable) {
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("SFUMATO_MODELS_DIR"); env && *env) {
        dirs.emplace_back(env);
        return dirs;  // set: the only place searched
    }
    if (!executable.empty()) {
        dirs.push_back((executable.parent_path() / ".." / "share" / "sfumato" / "models").lexically_normal());
    }
    return dirs;
}

fs::path find_model_in(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return {};
    }
    if (fs::is_regular_file(dir / "default.safetensors", ec)) {
        return dir / "default.safetensors";
    }
    std::vector<fs::path> files;
    std::vector<fs::path> folders;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto& p = entry.path();
        if (entry.is_regular_file(ec) && p.extension() == ".safetensors") {
            files.push_back(p);
        } else if (entry.is_directory(ec) && fs::exists(p / "model_index.json", ec)) {
            folders.push_back(p);
        }
    }
    std::sort(files.begin(), files.end());
    std::sort(folders.begin(), folders.end());
    if (!files.empty()) {
        return files.front();
    }
    return folders.empty() ? fs::path() : folders.front();
}

fs::path find_default_model(const fs::path& executable) {
    std::string searched;
    for (const auto& dir : default_model_dirs(executable)) {
        if (auto model = find_model_in(dir); !model.empty()) {
            return model;
        }
        searched += (searched.empty() ? "" : ", ") + dir.string();
    }
    throw Error("no default model found (searched: " + (searched.empty() ? std::string("nothing") : searched) +
                "); pass --model PATH");
}

}  // namespace sf::cli
