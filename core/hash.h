// Checksums: CRC-32 (the detinit weight rule) and SHA-256 (A1111's model hash).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sf {

/// CRC-32 (IEEE 802.3, as zlib's crc32) of the bytes.
uint32_t crc32(std::string_view bytes);

/// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    /// Lower-case hex digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

/// SHA-256 of a whole file, hex; throws sf::Error when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace sf
