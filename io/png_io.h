// PNG files with text chunks, through libpng: our pictures carry A1111's `parameters` text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/image.h"

namespace sf::io {

/// One PNG text chunk. `text` is UTF-8 in memory whatever chunk type carried it.
struct PngText {
    std::string key;   ///< 1-79 Latin-1 characters (written as UTF-8 here), e.g. "parameters"
    std::string text;  ///< UTF-8
};

/// Writes an 8-bit RGB PNG atomically: a temporary file in the same folder, renamed over `path` once
/// complete. Each text goes in a tEXt chunk when it is Latin-1 representable, else in an uncompressed
/// iTXt chunk (UTF-8), as PIL does for A1111. On any failure (folder missing, disk full, ...) the
/// temporary file is removed and sf::Error names `path`; an existing file at `path` is left untouched.
void write_png(const std::filesystem::path& path, const Image& image, const std::vector<PngText>& texts = {});

/// Every tEXt, zTXt and iTXt chunk of a PNG (before and after the image data), in file order, as UTF-8.
/// Throws sf::Error naming the file when it cannot be read or is not a valid PNG.
std::vector<PngText> read_png_text(const std::filesystem::path& path);

/// The text of the first chunk named `key`, or "" when there is none.
std::string find_png_text(const std::vector<PngText>& texts, const std::string& key);

/// Reads a PNG as 8-bit RGB (palette, grey and 16-bit expanded or reduced; alpha dropped).
/// Throws sf::Error naming the file.
Image read_png(const std::filesystem::path& path);

/// One past the highest leading number among the folder's files ("00012-42.png" → 13); 0 when none or when
/// the folder does not exist. A1111's numbering, shared by the app and the command line.
int next_sequence_number(const std::filesystem::path& dir);

/// The next free "<dir>/NNNNN-<seed>.png" (NNNNN from next_sequence_number, skipping names that exist).
/// Callers in one process are serialised, so two jobs finishing together get different numbers.
std::filesystem::path numbered_png_path(const std::filesystem::path& dir, int64_t seed);

/// UTF-8 → Latin-1 bytes; false when a character is above U+00FF or the UTF-8 is malformed.
bool utf8_to_latin1(const std::string& utf8, std::string& latin1);
/// Latin-1 bytes → UTF-8.
std::string latin1_to_utf8(const std::string& latin1);

}  // namespace sf::io
