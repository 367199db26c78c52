// PNG encode/decode with libpng (errors via setjmp kept inside small C-style functions), plus an atomic
// temp-file-and-rename writer.
#include "io/png_io.h"

#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#include "core/error.h"

namespace sf::io {

namespace fs = std::filesystem;

bool utf8_to_latin1(const std::string& utf8, std::string& latin1) {
    latin1.clear();
    for (size_t i = 0; i < utf8.size();) {
        auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            latin1 += static_cast<char>(c);
            i += 1;
        } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size() &&
                   (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
            latin1 += static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F));
            i += 2;
        } else {
            return false;
        }
    }
    return true;
}

std::string latin1_to_utf8(const std::string& latin1) {
    std::string out;
    out.reserve(latin1.size());
    for (unsigned char c : latin1) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::string find_png_text(const std::vector<PngText>& texts, const std::string& key) {
    for (const auto& t : texts) {
        if (t.key == key) {
            return t.text;
        }
    }
    return {};
}

namespace {

// ---- encoding ----

struct EncodeState {
    std::vector<uint8_t> out;
    std::vector<png_bytep> rows;
    std::vector<png_text> chunks;
    std::vector<std::string> storage;  // keys and texts the chunks point into
    std::string error;
};

void on_png_error(png_structp png, png_const_charp message) {
    auto* error = static_cast<std::string*>(png_get_error_ptr(png));
    *error = message ? message : "libpng error";
    png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void on_png_write(png_structp png, png_bytep data, png_size_t size) {
    auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + size);
}

void on_png_flush(png_structp) {}

// Only C calls after setjmp; every C++ object lives in `st`, owned by the caller.
bool encode(EncodeState& st, int width, int height) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st.error, on_png_error, on_png_warning);
    if (!png) {
        st.error = "out of memory";
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : nullptr);
        return false;
    }
    png_set_write_fn(png, &st.out, on_png_write, on_png_flush);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!st.chunks.empty()) {
        png_set_text(png, info, st.chunks.data(), static_cast<int>(st.chunks.size()));
    }
    png_write_info(png, info);
    png_write_image(png, st.rows.data());
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

std::vector<uint8_t> encode_png(const Image& image, const std::vector<PngText>& texts, const fs::path& path) {
    if (image.width <= 0 || image.height <= 0 ||
        image.rgb.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3) {
        throw Error("cannot write '" + path.string() + "': the image is empty or its size does not match its pixels");
    }
    EncodeState st;
    st.storage.reserve(texts.size() * 2);
    for (const auto& t : texts) {
        std::string key;
        if (!utf8_to_latin1(t.key, key) || key.empty() || key.size() > 79) {
            throw Error("cannot write '" + path.string() + "': PNG text key '" + t.key +
                        "' must be 1-79 Latin-1 characters");
        }
        std::string latin1;
        const bool is_latin1 = utf8_to_latin1(t.text, latin1);
        st.storage.push_back(key);
        const char* k = st.storage.back().c_str();
        st.storage.push_back(is_latin1 ? latin1 : t.text);
        png_text chunk{};
        chunk.key = const_cast<char*>(k);
        chunk.text = const_cast<char*>(st.storage.back().c_str());
        chunk.compression = is_latin1 ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
        if (is_latin1) {
            chunk.text_length = st.storage.back().size();
        } else {
            chunk.itxt_length = st.storage.back().size();
            chunk.lang = const_cast<char*>("");
            chunk.lang_key = const_cast<char*>("");
        }
        st.chunks.push_back(chunk);
    }
    auto* pixels = const_cast<uint8_t*>(image.rgb.data());
    for (int y = 0; y < image.height; ++y) {
        st.rows.push_back(pixels + static_cast<size_t>(y) * static_cast<size_t>(image.width) * 3);
    }
    st.out.reserve(image.rgb.size() / 2 + 1024);
    if (!encode(st, image.width, image.height)) {
        throw Error("cannot write '" + path.string() + "': " + st.error);
    }
    return std::move(st.out);
}

// ---- decoding ----

struct DecodeState {
    std::string data;
    size_t offset = 0;
    Image image;
    std::vector<png_bytep> rows;
    std::vector<PngText> texts;
    std::string error;
};

void on_png_read(png_structp png, png_bytep out, png_size_t size) {
    auto* st = static_cast<DecodeState*>(png_get_io_ptr(png));
    if (st->data.size() - st->offset < size) {
        png_error(png, "the file ends early (truncated PNG)");
    }
    std::memcpy(out, st->data.data() + st->offset, size);
    st->offset += size;
}

void collect_texts(png_structp png, png_infop info, DecodeState& st) {
    png_textp text = nullptr;
    int count = 0;
    png_get_text(png, info, &text, &count);
    for (int i = 0; i < count; ++i) {
        std::string key = latin1_to_utf8(text[i].key ? text[i].key : "");
        const bool itxt = text[i].compression == PNG_ITXT_COMPRESSION_NONE || text[i].compression == PNG_ITXT_COMPRESSION_zTXt;
        size_t length = itxt ? text[i].itxt_length : text[i].text_length;
        std::string value = text[i].text ? std::string(text[i].text, length) : std::string();
        st.texts.push_back({std::move(key), itxt ? std::move(value) : latin1_to_utf8(value)});
    }
}

void allocate_rows(DecodeState& st, int width, int height) {
    st.image.width = width;
    st.image.height = height;
    st.image.rgb.assign(static_cast<size_t>(width) * static_cast<size_t>(height) * 3, 0);
    st.rows.clear();
    for (int y = 0; y < height; ++y) {
        st.rows.push_back(st.image.rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3);
    }
}

bool decode(DecodeState& st) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st.error, on_png_error, on_png_warning);
    if (!png) {
        st.error = "out of memory";
        return false;
    }
    png_infop info = png_create_info_struct(png);
    png_infop end_info = info ? png_create_info_struct(png) : nullptr;
    if (!info || !end_info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : nullptr, end_info ? &end_info : nullptr);
        return false;
    }
    png_set_read_fn(png, &st, on_png_read);
    png_read_info(png, info);
    png_set_expand(png);  // palette → RGB, grey < 8 bits → 8, tRNS → alpha
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != png_get_image_width(png, info) * 3) {
        png_error(png, "unsupported pixel layout");
    }
    collect_texts(png, info, st);
    allocate_rows(st, static_cast<int>(png_get_image_width(png, info)), static_cast<int>(png_get_image_height(png, info)));
    png_read_image(png, st.rows.data());
    png_read_end(png, end_info);
    collect_texts(png, end_info, st);
    png_destroy_read_struct(&png, &info, &end_info);
    return true;
}

DecodeState decode_file(const fs::path& path) {
    DecodeState st;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("cannot read '" + path.string() + "': " + std::strerror(errno));
    }
    st.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (st.data.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(st.data.data()), 0, 8) != 0) {
        throw Error("cannot read '" + path.string() + "': not a PNG file");
    }
    if (!decode(st)) {
        throw Error("cannot read '" + path.string() + "': " + st.error);
    }
    return st;
}

fs::path temp_path_for(const fs::path& path) {
    static std::atomic<unsigned> counter{0};
    fs::path dir = path.parent_path();
    std::string name = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1));
    return dir.empty() ? fs::path(name) : dir / name;
}

}  // namespace

void write_png(const fs::path& path, const Image& image, const std::vector<PngText>& texts) {
    const std::vector<uint8_t> bytes = encode_png(image, texts, path);
    const fs::path temp = temp_path_for(path);
    auto fail = [&](const std::string& why) {
        std::error_code ec;
        fs::remove(temp, ec);
        throw Error("cannot write '" + path.string() + "': " + why);
    };
    std::FILE* f = std::fopen(temp.c_str(), "wbx");
    if (!f) {
        throw Error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    int err = errno;
    const bool flushed = written && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    if (written && !flushed) {
        err = errno;
    }
    const bool closed = std::fclose(f) == 0;
    if (written && flushed && !closed) {
        err = errno;
    }
    if (!written || !flushed || !closed) {
        fail(std::strerror(err ? err : EIO));
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) {
        fail(ec.message());
    }
}

std::vector<PngText> read_png_text(const fs::path& path) { return decode_file(path).texts; }

Image read_png(const fs::path& path) { return std::move(decode_file(path).image); }

int next_sequence_number(const std::filesystem::path& dir) {
    int highest = -1;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string stem = entry.path().stem().string();
        size_t n = 0;
        while (n < stem.size() && std::isdigit(static_cast<unsigned char>(stem[n]))) {
            ++n;
        }
        if (n == 0 || n > 9 || (n < stem.size() && stem[n] != '-')) {
            continue;
        }
        highest = std::max(highest, std::stoi(stem.substr(0, n)));
    }
    return highest + 1;
}

std::filesystem::path numbered_png_path(const std::filesystem::path& dir, int64_t seed) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::error_code ec;
    for (int n = next_sequence_number(dir);; ++n) {
        char name[64];
        std::snprintf(name, sizeof name, "%05d-%lld.png", n, static_cast<long long>(seed));
        auto path = dir / name;
        if (!std::filesystem::exists(path, ec)) {
            return path;
        }
    }
}

}  // namespace sf::io
