#include "core/checkpoint/checkpoint.h"

#include "core/checkpoint/keymap.h"
#include "core/error.h"

namespace sf {

Checkpoint Checkpoint::open(const std::filesystem::path& path, Validation validation) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return open_diffusers_folder(path, validation);
    }
    if (!std::filesystem::exists(path, ec)) {
        throw Error("model file '" + path.string() + "' does not exist");
    }
    Checkpoint ckpt;
    ckpt.path_ = path;
    ckpt.add_file(SafetensorsFile::open(path, validation));
    return ckpt;
}

void Checkpoint::add_file(const std::shared_ptr<SafetensorsFile>& file,
                          const std::function<std::string(const std::string&)>& rename) {
    files_.push_back(file);
    for (const auto& [k, v] : file->metadata()) {
        metadata_.emplace(k, v);
    }
    for (const auto& t : file->tensors()) {
        std::string name = rename ? rename(t.name) : t.name;
        if (name.empty()) {
            continue;
        }
        auto [it, inserted] = entries_.emplace(name, Entry{file, t.name});
        if (!inserted) {
            throw Error("tensor '" + name + "' appears twice: in '" + it->second.file->path().string() + "' and in '" +
                        file->path().string() + "'");
        }
    }
}

std::vector<std::string> Checkpoint::keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [k, e] : entries_) {
        out.push_back(k);
    }
    return out;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        throw Error("model '" + path_.string() + "' has no tensor '" + name + "'");
    }
    return it->second.file->info(it->second.file_key);
}

torch::Tensor Checkpoint::get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        throw Error("model '" + path_.string() + "' has no tensor '" + name + "'");
    }
    return it->second.file->tensor(it->second.file_key);
}

void Checkpoint::release(const std::string& name) const {
    if (auto it = entries_.find(name); it != entries_.end()) {
        it->second.file->release(it->second.file->info(it->second.file_key));
    }
}

const std::filesystem::path& Checkpoint::file_of(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        throw Error("model '" + path_.string() + "' has no tensor '" + name + "'");
    }
    return it->second.file->path();
}

bool Checkpoint::has_data() const {
    for (const auto& f : files_) {
        if (!f->has_data()) {
            return false;
        }
    }
    return true;
}

uint64_t Checkpoint::total_bytes() const {
    uint64_t n = 0;
    for (const auto& [k, e] : entries_) {
        const auto& ti = e.file->info(e.file_key);
        n += ti.end - ti.begin;
    }
    return n;
}

}  // namespace sf
