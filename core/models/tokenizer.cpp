// Mirrors openai/CLIP clip/simple_tokenizer.py (bytes_to_unicode, get_pairs, basic_clean, whitespace_clean,
// SimpleTokenizer.bpe / encode) and open_clip's tokenize() framing.
#include "core/models/tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/inflate.h"
#include "core/json.h"
#include "core/text_fix.h"
#include "core/unicode.h"

namespace sf {

namespace fs = std::filesystem;

namespace {

constexpr int kMergeCount = 49152 - 256 - 2;  // 48894
constexpr size_t kCacheLimit = 1 << 16;

// GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to U+0100.. in byte order.
// Returns the code point of each byte, and the order the CLIP vocabulary lists them in.
struct ByteMap {
    std::array<char32_t, 256> code{};
    std::array<uint8_t, 256> order{};
};

ByteMap byte_map() {
    ByteMap m;
    std::array<bool, 256> printable{};
    int k = 0;
    for (int b = 0; b < 256; ++b) {
        printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }
    for (int b = 0; b < 256; ++b) {
        if (printable[b]) {
            m.code[b] = static_cast<char32_t>(b);
            m.order[k++] = static_cast<uint8_t>(b);
        }
    }
    int n = 0;
    for (int b = 0; b < 256; ++b) {
        if (!printable[b]) {
            m.code[b] = static_cast<char32_t>(256 + n++);
            m.order[k++] = static_cast<uint8_t>(b);
        }
    }
    return m;
}

std::string read_file(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw Error("cannot open " + path.string());
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

uint64_t pair_key(int a, int b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// Python str.strip() and re.sub(r'\s+', ' ', ...).strip().
std::u32string collapse_whitespace(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    bool pending = false;
    for (char32_t c : text) {
        if (unicode::is_space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending) {
            out.push_back(' ');
            pending = false;
        }
        out.push_back(c);
    }
    return out;
}

bool starts_with_at(std::u32string_view text, size_t pos, std::u32string_view lit) {
    return text.size() - pos >= lit.size() && text.compare(pos, lit.size(), lit) == 0;
}

}  // namespace

struct CLIPTokenizer::Impl {
    std::vector<std::string> decoder;
    std::unordered_map<std::string, int> encoder;
    std::unordered_map<uint64_t, std::pair<int, int>> merges;  // (a, b) -> (rank, merged id)
    std::array<int, 256> byte_id{};
    std::array<int, 256> byte_id_end{};
    std::array<std::string, 256> byte_text{};
    mutable std::mutex mutex;
    mutable std::unordered_map<std::string, std::vector<int>> cache;

    int id_of(const std::string& token, const char* source) const {
        auto it = encoder.find(token);
        if (it == encoder.end()) {
            throw Error(std::string("CLIP tokenizer: ") + source + ": token '" + token +
                        "' missing from vocabulary");
        }
        return it->second;
    }

    void finish(const char* source) {
        ByteMap bm = byte_map();
        for (int b = 0; b < 256; ++b) {
            unicode::append_utf8(byte_text[b], bm.code[b]);
            byte_id[b] = id_of(byte_text[b], source);
            byte_id_end[b] = id_of(byte_text[b] + "</w>", source);
        }
        if (static_cast<int>(decoder.size()) <= kEndOfText) {
            throw Error(std::string("CLIP tokenizer: ") + source + ": vocabulary has " +
                        std::to_string(decoder.size()) + " entries, expected 49408");
        }
    }

    void add_merge(const std::string& a, const std::string& b, int rank, const char* source) {
        int ia = id_of(a, source), ib = id_of(b, source), im = id_of(a + b, source);
        merges.emplace(pair_key(ia, ib), std::make_pair(rank, im));
    }

    // SimpleTokenizer.bpe on one pre-token (UTF-8 bytes), as ids.
    std::vector<int> bpe(const std::string& piece) const {
        {
            std::lock_guard lock(mutex);
            if (auto it = cache.find(piece); it != cache.end()) {
                return it->second;
            }
        }
        std::vector<int> word;
        word.reserve(piece.size());
        for (size_t i = 0; i < piece.size(); ++i) {
            auto b = static_cast<uint8_t>(piece[i]);
            word.push_back(i + 1 == piece.size() ? byte_id_end[b] : byte_id[b]);
        }
        std::vector<int> next;
        while (word.size() > 1) {
            int best_rank = INT_MAX, merged = -1, first = -1, second = -1;
            for (size_t i = 0; i + 1 < word.size(); ++i) {
                auto it = merges.find(pair_key(word[i], word[i + 1]));
                if (it != merges.end() && it->second.first < best_rank) {
                    best_rank = it->second.first;
                    merged = it->second.second;
                    first = word[i];
                    second = word[i + 1];
                }
            }
            if (merged < 0) {
                break;
            }
            next.clear();
            for (size_t i = 0; i < word.size();) {
                if (word[i] == first && i + 1 < word.size() && word[i + 1] == second) {
                    next.push_back(merged);
                    i += 2;
                } else {
                    next.push_back(word[i]);
                    i += 1;
                }
            }
            word.swap(next);
        }
        std::lock_guard lock(mutex);
        if (cache.size() >= kCacheLimit) {
            cache.clear();
        }
        cache.emplace(piece, word);
        return word;
    }

    // The pre-tokenization regex of simple_tokenizer.py, then BPE; ids appended to out.
    void encode(std::string_view text, bool special_text, std::vector<int>& out) const {
        std::u32string s = unicode::decode_utf8(CLIPTokenizer::clean(text));
        const std::u32string_view sot = special_text ? U"<|startoftext|>" : U"<start_of_text>";
        const std::u32string_view eot = special_text ? U"<|endoftext|>" : U"<end_of_text>";
        static constexpr std::u32string_view kContractions[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
        size_t i = 0;
        while (i < s.size()) {
            char32_t c = s[i];
            if (starts_with_at(s, i, sot)) {
                out.push_back(kStartOfText);
                i += sot.size();
                continue;
            }
            if (starts_with_at(s, i, eot)) {
                out.push_back(kEndOfText);
                i += eot.size();
                continue;
            }
            size_t end = i;
            if (c == '\'') {
                for (auto suffix : kContractions) {
                    bool match = s.size() - (i + 1) >= suffix.size();
                    for (size_t k = 0; match && k < suffix.size(); ++k) {
                        char32_t t = s[i + 1 + k];
                        match = t == suffix[k] || t == suffix[k] - 32;
                    }
                    if (match) {
                        end = i + 1 + suffix.size();
                        break;
                    }
                }
            }
            if (end == i) {
                if (unicode::is_letter(c)) {
                    end = i + 1;
                    while (end < s.size() && unicode::is_letter(s[end])) {
                        ++end;
                    }
                } else if (unicode::is_number(c)) {
                    end = i + 1;
                } else if (unicode::is_space(c)) {
                    ++i;
                    continue;
                } else {
                    end = i + 1;
                    while (end < s.size() && !unicode::is_space(s[end]) && !unicode::is_letter(s[end]) &&
                           !unicode::is_number(s[end])) {
                        ++end;
                    }
                }
            }
            auto ids = bpe(unicode::encode_utf8(std::u32string_view(s).substr(i, end - i)));
            out.insert(out.end(), ids.begin(), ids.end());
            i = end;
        }
    }
};

CLIPTokenizer CLIPTokenizer::from_vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
    auto impl = std::make_shared<Impl>();
    const std::string source = vocab_json.string();
    json::Value vocab;
    try {
        vocab = json::parse(read_file(vocab_json));
    } catch (const Error& e) {
        throw Error("CLIP tokenizer: " + source + ": " + e.what());
    }
    if (!vocab.is_object()) {
        throw Error("CLIP tokenizer: " + source + ": expected a JSON object token -> id");
    }
    impl->encoder.reserve(vocab.size());
    for (const auto& [token, id] : vocab.members()) {
        int64_t v = id.as_int();
        if (v < 0 || v > 10'000'000) {
            throw Error("CLIP tokenizer: " + source + ": bad id for '" + token + "'");
        }
        if (static_cast<size_t>(v) >= impl->decoder.size()) {
            impl->decoder.resize(static_cast<size_t>(v) + 1);
        }
        impl->decoder[static_cast<size_t>(v)] = token;
        impl->encoder.emplace(token, static_cast<int>(v));
    }
    impl->finish(source.c_str());
    std::string merges = read_file(merges_txt);
    std::istringstream lines(merges);
    std::string line;
    int rank = 0;
    bool first = true;
    impl->merges.reserve(kMergeCount);
    const std::string msource = merges_txt.string();
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (first) {
            first = false;
            if (line.rfind("#version", 0) == 0) {
                continue;
            }
        }
        if (line.empty()) {
            continue;
        }
        auto sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size()) {
            throw Error("CLIP tokenizer: " + msource + ": bad merge line " + std::to_string(rank + 2));
        }
        impl->add_merge(line.substr(0, sp), line.substr(sp + 1), rank++, msource.c_str());
    }
    return CLIPTokenizer(impl);
}

CLIPTokenizer CLIPTokenizer::from_bpe_gz(const fs::path& gz) {
    std::string raw = read_file(gz);
    std::string text =
        gunzip(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()), 64u << 20);
    const std::string source = gz.string();
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(kMergeCount);
    size_t pos = text.find('\n');
    if (pos == std::string::npos) {
        throw Error("CLIP tokenizer: " + source + ": no merges after the header line");
    }
    ++pos;
    while (static_cast<int>(merges.size()) < kMergeCount) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            throw Error("CLIP tokenizer: " + source + ": " + std::to_string(merges.size()) +
                        " merges, expected at least 48894");
        }
        std::string_view line(text.data() + pos, end - pos);
        auto sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size()) {
            throw Error("CLIP tokenizer: " + source + ": bad merge line " +
                        std::to_string(merges.size() + 2));
        }
        merges.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
        pos = end + 1;
    }
    auto impl = std::make_shared<Impl>();
    ByteMap bm = byte_map();
    auto add = [&](std::string token) {
        impl->encoder.emplace(token, static_cast<int>(impl->decoder.size()));
        impl->decoder.push_back(std::move(token));
    };
    impl->decoder.reserve(49408);
    impl->encoder.reserve(49408);
    for (int suffix = 0; suffix < 2; ++suffix) {
        for (uint8_t b : bm.order) {
            std::string t;
            unicode::append_utf8(t, bm.code[b]);
            add(suffix ? t + "</w>" : t);
        }
    }
    for (const auto& [a, b] : merges) {
        add(a + b);
    }
    add("<|startoftext|>");
    add("<|endoftext|>");
    impl->finish(source.c_str());
    impl->merges.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) {
        impl->add_merge(merges[r].first, merges[r].second, static_cast<int>(r), source.c_str());
    }
    return CLIPTokenizer(impl);
}

CLIPTokenizer CLIPTokenizer::load(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (fs::exists(path / "vocab.json") && fs::exists(path / "merges.txt")) {
            return from_vocab_merges(path / "vocab.json", path / "merges.txt");
        }
        if (fs::exists(path / "bpe_simple_vocab_16e6.txt.gz")) {
            return from_bpe_gz(path / "bpe_simple_vocab_16e6.txt.gz");
        }
        throw Error("CLIP tokenizer: " + path.string() +
                    " holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz");
    }
    if (path.extension() == ".gz") {
        return from_bpe_gz(path);
    }
    throw Error("CLIP tokenizer: " + path.string() + " is not a tokenizer folder or a .gz vocabulary");
}

std::string CLIPTokenizer::clean(std::string_view text) {
    std::u32string s = fix_text(unicode::decode_utf8(text));
    s = html_unescape(html_unescape(s));
    s = collapse_whitespace(s);
    return unicode::encode_utf8(unicode::to_lower(s));
}

std::vector<int> CLIPTokenizer::encode(std::string_view text, bool special_text) const {
    std::vector<int> out;
    impl_->encode(text, special_text, out);
    return out;
}

std::vector<std::string> CLIPTokenizer::tokenize(std::string_view text, bool special_text) const {
    std::vector<std::string> out;
    for (int id : encode(text, special_text)) {
        out.push_back(token_text(id));
    }
    return out;
}

std::array<int, 77> CLIPTokenizer::frame_77(std::span<const int> ids, int pad_id) {
    std::array<int, 77> out;
    out.fill(pad_id);
    out[0] = kStartOfText;
    size_t n = std::min<size_t>(ids.size(), kMaxPromptTokens);
    std::copy_n(ids.begin(), n, out.begin() + 1);
    out[n + 1] = kEndOfText;
    return out;
}

std::array<int, 77> CLIPTokenizer::encode_77(std::string_view text, FixedForm form) const {
    return frame_77(encode(text, form.special_text), form.pad_id);
}

int CLIPTokenizer::token_id(std::string_view token) const {
    auto it = impl_->encoder.find(std::string(token));
    return it == impl_->encoder.end() ? -1 : it->second;
}

const std::string& CLIPTokenizer::token_text(int id) const {
    static const std::string empty;
    if (id < 0 || static_cast<size_t>(id) >= impl_->decoder.size()) {
        return empty;
    }
    return impl_->decoder[static_cast<size_t>(id)];
}

int CLIPTokenizer::vocab_size() const {
    return static_cast<int>(impl_->decoder.size());
}

fs::path user_tokenizer_dir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] != '\0') {
        return fs::path(xdg) / "sfumato" / "tokenizer";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
        return fs::path(home) / ".local" / "share" / "sfumato" / "tokenizer";
    }
    return fs::path(".local") / "share" / "sfumato" / "tokenizer";
}

CLIPTokenizer find_tokenizer(const fs::path& model) {
    std::error_code ec;
    fs::path dir = fs::is_directory(model, ec) ? model : model.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    auto holds_vocab = [](const fs::path& d) {
        std::error_code e;
        return (fs::exists(d / "vocab.json", e) && fs::exists(d / "merges.txt", e)) ||
               fs::exists(d / "bpe_simple_vocab_16e6.txt.gz", e);
    };
    const fs::path user = user_tokenizer_dir();
    for (const fs::path& candidate : {dir / "tokenizer", dir, user}) {
        if (holds_vocab(candidate)) {
            return CLIPTokenizer::load(candidate);
        }
    }
    throw Error(
        "No CLIP tokenizer vocabulary found for " + model.string() +
        ". Single-file checkpoints do not carry one: put vocab.json and merges.txt (the tokenizer/ folder "
        "of a diffusers model such as openai/clip-vit-large-patch14) or bpe_simple_vocab_16e6.txt.gz (from "
        "openai/CLIP, clip/) into " +
        user.string() + " (or into " + (dir / "tokenizer").string() + " next to the model). Looked in: " +
        (dir / "tokenizer").string() + ", " + dir.string() + ", " + user.string() + ".");
}

}  // namespace sf
