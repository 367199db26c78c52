// A model's tensors under their original single-file key names, whatever files they come from: one
// .safetensors file, or a diffusers folder whose keys are renamed through one map per family (keymap.h).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint/safetensors.h"

namespace sf {

class Checkpoint {
public:
    Checkpoint() = default;

    /// A single .safetensors file, or a diffusers folder (model_index.json, unet/, vae/, ...), which opens as
    /// the same keys the single file would have. Throws sf::Error naming the path.
    static Checkpoint open(const std::filesystem::path& path, Validation validation = Validation::full);

    /// Adds every tensor of `file`, renamed by `rename` (identity when empty; an empty result drops the
    /// tensor). A name already present is an error naming both files.
    void add_file(const std::shared_ptr<SafetensorsFile>& file,
                  const std::function<std::string(const std::string&)>& rename = {});

    bool contains(const std::string& name) const { return entries_.count(name) != 0; }
    /// All names, sorted.
    std::vector<std::string> keys() const;
    size_t size() const { return entries_.size(); }
    const TensorInfo& info(const std::string& name) const;
    /// The tensor on the CPU in its stored dtype; throws sf::Error naming the checkpoint and key.
    torch::Tensor get(const std::string& name) const;
    /// Drops the tensor's pages from resident memory once a converted copy holds it (SafetensorsFile::release).
    void release(const std::string& name) const;
    /// The file a key comes from.
    const std::filesystem::path& file_of(const std::string& name) const;

    /// Where it was opened from (file or folder), for messages.
    const std::filesystem::path& path() const { return path_; }
    void set_path(std::filesystem::path p) { path_ = std::move(p); }
    /// Metadata of all files merged (first file wins).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    bool has_data() const;
    /// Sum of the bytes of all tensors.
    uint64_t total_bytes() const;

private:
    struct Entry {
        std::shared_ptr<SafetensorsFile> file;
        std::string file_key;
    };
    std::filesystem::path path_;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> metadata_;
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
};

}  // namespace sf
