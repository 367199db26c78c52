// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header,
// then the raw tensor bytes. Reading memory-maps the file and validates the header before any use.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sf {

/// One tensor's entry in a safetensors header.
struct TensorInfo {
    std::string name;
    std::string dtype;            // as written in the file: "F32", "F16", "BF16", "F8_E4M3", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0;           // byte offsets into the data section
    uint64_t end = 0;

    int64_t numel() const;
    /// The dtype a tensor gets when loaded (F8 formats become F16, which holds them exactly).
    torch::Dtype torch_dtype() const;
};

/// How strictly open() checks the file against its header.
enum class Validation {
    full,         ///< every tensor's bytes must lie inside the file
    header_only,  ///< a file cut after its header (as built from a manifest) is accepted; tensors can't be read
};

/// A memory-mapped, validated safetensors file. Tensors it hands out view the mapping (no copy) when the
/// dtype is native and the data aligned; they keep the mapping alive. Thread-safe for reading.
class SafetensorsFile {
public:
    /// Opens and validates; throws sf::Error naming the file (and the tensor) on any violation.
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path,
                                                 Validation validation = Validation::full);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    /// Tensor entries in header order.
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    /// The entry, or throws sf::Error naming the file and tensor.
    const TensorInfo& info(const std::string& name) const;
    /// True when every tensor's bytes are present (false only for Validation::header_only files).
    bool has_data() const { return has_data_; }

    /// The tensor on the CPU in its stored dtype (F8 converted to F16). Writable copy-on-write view.
    torch::Tensor tensor(const std::string& name) const;
    /// Raw bytes of a tensor (for hashing and copying).
    const uint8_t* data(const TensorInfo& info) const;
    /// Drops a tensor's pages from this process's resident memory, for when a converted copy now holds it:
    /// the page cache keeps them, and a later read maps them back in. Only whole pages inside the tensor go,
    /// so neighbouring tensors that parameters still view stay resident.
    void release(const TensorInfo& info) const;
    uint64_t file_size() const { return size_; }

private:
    SafetensorsFile() = default;
    std::filesystem::path path_;
    uint8_t* map_ = nullptr;
    uint64_t size_ = 0;
    uint64_t data_start_ = 0;
    bool has_data_ = true;
    std::map<std::string, std::string> metadata_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t> index_;
    std::weak_ptr<SafetensorsFile> self_;
};

/// Writes tensors (any device; stored contiguous, CPU) and string metadata. The file appears atomically:
/// it is written to a temporary name beside the target and renamed, so no half-written file is left.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// The safetensors dtype name for a torch dtype ("F32", ...); throws for unsupported dtypes.
std::string safetensors_dtype(torch::Dtype dtype);

}  // namespace sf
