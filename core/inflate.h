// A small, bounds-checked DEFLATE decoder (RFC 1951) with the gzip wrapper (RFC 1952), so core can read
// `bpe_simple_vocab_16e6.txt.gz` without linking zlib.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sf {

/// Decompresses a raw DEFLATE stream; malformed or truncated input throws sf::Error (never reads or writes
/// out of bounds). max_output bounds the result size.
std::string inflate_raw(std::span<const uint8_t> data, size_t max_output = size_t{1} << 30);
/// Decompresses a gzip file image (all members concatenated); checks the header, CRC-32 and size.
std::string gunzip(std::span<const uint8_t> data, size_t max_output = size_t{1} << 30);

}  // namespace sf
