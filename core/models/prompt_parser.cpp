// Mirrors AUTOMATIC1111 modules/prompt_parser.py (re_attention, re_break, parse_prompt_attention) and
// modules/sd_hijack_clip.py (FrozenCLIPEmbedderWithCustomWords.tokenize_line, without textual inversion).
#include "core/models/prompt_parser.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/unicode.h"

namespace sf {
namespace {

constexpr double kRoundMultiplier = 1.1;
constexpr double kSquareMultiplier = 1 / 1.1;
constexpr int kChunkLength = 75;

bool is_ascii_digit(char32_t c) {
    return c >= '0' && c <= '9';
}

// Python float() of a `[+-]?[.\d]+` match: digits with at most one '.', at least one digit.
std::optional<double> parse_weight(const std::string& s) {
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    int digits = 0, dots = 0;
    for (size_t k = i; k < s.size(); ++k) {
        if (s[k] == '.') {
            ++dots;
        } else {
            ++digits;
        }
    }
    if (digits == 0 || dots > 1) {
        return std::nullopt;
    }
    std::string t = s.substr(s[0] == '+' ? 1 : 0);
    double v = 0;
    auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
        return std::nullopt;
    }
    return v;
}

// `:\s*([+-]?[.\d]+)\s*\)` at pos: returns the match end and the weight text, or nullopt.
std::optional<std::pair<size_t, std::string>> match_weight(std::u32string_view s, size_t pos) {
    size_t i = pos + 1;
    while (i < s.size() && unicode::is_space(s[i])) {
        ++i;
    }
    size_t start = i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        ++i;
    }
    size_t num = i;
    while (i < s.size() && (s[i] == '.' || is_ascii_digit(s[i]))) {
        ++i;
    }
    if (i == num) {
        return std::nullopt;
    }
    size_t end = i;
    while (i < s.size() && unicode::is_space(s[i])) {
        ++i;
    }
    if (i >= s.size() || s[i] != ')') {
        return std::nullopt;
    }
    return std::make_pair(i + 1, unicode::encode_utf8(s.substr(start, end - start)));
}

// re.split(r"\s*\bBREAK\b\s*", text).
std::vector<std::u32string> split_break(std::u32string_view s) {
    static constexpr std::u32string_view kBreak = U"BREAK";
    std::vector<std::u32string> parts;
    size_t piece_start = 0;
    size_t search = 0;
    while (true) {
        size_t at = s.find(kBreak, search);
        if (at == std::u32string_view::npos) {
            break;
        }
        size_t after = at + kBreak.size();
        bool left = at == 0 || !unicode::is_word(s[at - 1]);
        bool right = after == s.size() || !unicode::is_word(s[after]);
        if (!left || !right) {
            search = at + 1;
            continue;
        }
        size_t begin = at;
        while (begin > piece_start && unicode::is_space(s[begin - 1])) {
            --begin;
        }
        size_t end = after;
        while (end < s.size() && unicode::is_space(s[end])) {
            ++end;
        }
        parts.emplace_back(s.substr(piece_start, begin - piece_start));
        piece_start = end;
        search = end;
    }
    parts.emplace_back(s.substr(piece_start));
    return parts;
}

}  // namespace

std::vector<WeightedText> parse_prompt_attention(std::string_view text) {
    const std::u32string s = unicode::decode_utf8(text);
    std::vector<std::pair<std::u32string, double>> res;
    std::vector<size_t> round_brackets, square_brackets;

    auto multiply_range = [&](size_t start, double multiplier) {
        for (size_t p = start; p < res.size(); ++p) {
            res[p].second *= multiplier;
        }
    };
    auto append_text = [&](std::u32string_view piece) {
        auto parts = split_break(piece);
        for (size_t i = 0; i < parts.size(); ++i) {
            if (i > 0) {
                res.emplace_back(U"BREAK", -1.0);
            }
            res.emplace_back(std::move(parts[i]), 1.0);
        }
    };

    size_t pos = 0;
    while (pos < s.size()) {
        char32_t c = s[pos];
        if (c == '\\') {
            // \( \) \[ \] \\ are literals; a lone backslash is dropped.
            if (pos + 1 < s.size() && (s[pos + 1] == '(' || s[pos + 1] == ')' || s[pos + 1] == '[' ||
                                       s[pos + 1] == ']' || s[pos + 1] == '\\')) {
                res.emplace_back(std::u32string(1, s[pos + 1]), 1.0);
                pos += 2;
            } else {
                res.emplace_back(U"", 1.0);
                pos += 1;
            }
        } else if (c == '(') {
            round_brackets.push_back(res.size());
            ++pos;
        } else if (c == '[') {
            square_brackets.push_back(res.size());
            ++pos;
        } else if (c == ':') {
            auto m = match_weight(s, pos);
            std::optional<double> weight = m ? parse_weight(m->second) : std::nullopt;
            if (m && weight && !round_brackets.empty()) {
                multiply_range(round_brackets.back(), *weight);
                round_brackets.pop_back();
                pos = m->first;
            } else if (m && weight) {
                append_text(std::u32string_view(s).substr(pos, m->first - pos));
                pos = m->first;
            } else {
                // A lone ':' (an unparsable number such as "1.2.3" is read as text too).
                append_text(U":");
                ++pos;
            }
        } else if (c == ')' && !round_brackets.empty()) {
            multiply_range(round_brackets.back(), kRoundMultiplier);
            round_brackets.pop_back();
            ++pos;
        } else if (c == ']' && !square_brackets.empty()) {
            multiply_range(square_brackets.back(), kSquareMultiplier);
            square_brackets.pop_back();
            ++pos;
        } else if (c == ')' || c == ']') {
            append_text(std::u32string(1, c));
            ++pos;
        } else {
            size_t end = pos;
            while (end < s.size() && s[end] != '\\' && s[end] != '(' && s[end] != ')' && s[end] != '[' &&
                   s[end] != ']' && s[end] != ':') {
                ++end;
            }
            append_text(std::u32string_view(s).substr(pos, end - pos));
            pos = end;
        }
    }
    for (size_t p : round_brackets) {
        multiply_range(p, kRoundMultiplier);
    }
    for (size_t p : square_brackets) {
        multiply_range(p, kSquareMultiplier);
    }
    if (res.empty()) {
        res.emplace_back(U"", 1.0);
    }
    for (size_t i = 0; i + 1 < res.size();) {
        if (res[i].second == res[i + 1].second) {
            res[i].first += res[i + 1].first;
            res.erase(res.begin() + static_cast<std::ptrdiff_t>(i + 1));
        } else {
            ++i;
        }
    }
    std::vector<WeightedText> out;
    out.reserve(res.size());
    for (auto& [t, w] : res) {
        out.emplace_back(unicode::encode_utf8(t), w);
    }
    return out;
}

PromptChunksF64 chunk_prompt_f64(const CLIPTokenizer& tokenizer, std::string_view text,
                                 const ChunkOptions& options) {
    std::vector<WeightedText> parsed =
        options.emphasis ? parse_prompt_attention(text) : std::vector<WeightedText>{{std::string(text), 1.0}};
    const int comma = tokenizer.token_id(",</w>");

    PromptChunksF64 out;
    std::vector<int> chunk_tokens;
    std::vector<double> chunk_mults;
    int last_comma = -1;

    auto next_chunk = [&](bool is_last) {
        out.token_count += is_last ? static_cast<int>(chunk_tokens.size()) : kChunkLength;
        std::array<int, 77> t;
        std::array<double, 77> m;
        t.fill(CLIPTokenizer::kEndOfText);
        m.fill(1.0);
        t[0] = CLIPTokenizer::kStartOfText;
        std::copy(chunk_tokens.begin(), chunk_tokens.end(), t.begin() + 1);
        std::copy(chunk_mults.begin(), chunk_mults.end(), m.begin() + 1);
        out.tokens.push_back(t);
        out.multipliers.push_back(m);
        chunk_tokens.clear();
        chunk_mults.clear();
        last_comma = -1;
    };

    for (const auto& [piece, weight] : parsed) {
        if (piece == "BREAK" && weight == -1) {
            next_chunk(false);
            continue;
        }
        for (int token : tokenizer.encode(piece)) {
            const int length = static_cast<int>(chunk_tokens.size());
            if (token == comma) {
                last_comma = length;
            } else if (options.comma_padding_backtrack != 0 && length == kChunkLength && last_comma != -1 &&
                       length - last_comma <= options.comma_padding_backtrack) {
                auto split = static_cast<std::ptrdiff_t>(last_comma + 1);
                std::vector<int> reloc_tokens(chunk_tokens.begin() + split, chunk_tokens.end());
                std::vector<double> reloc_mults(chunk_mults.begin() + split, chunk_mults.end());
                chunk_tokens.resize(static_cast<size_t>(split));
                chunk_mults.resize(static_cast<size_t>(split));
                next_chunk(false);
                chunk_tokens = std::move(reloc_tokens);
                chunk_mults = std::move(reloc_mults);
            }
            if (static_cast<int>(chunk_tokens.size()) == kChunkLength) {
                next_chunk(false);
            }
            chunk_tokens.push_back(token);
            chunk_mults.push_back(weight);
        }
    }
    if (!chunk_tokens.empty() || out.tokens.empty()) {
        next_chunk(true);
    }
    return out;
}

PromptChunks chunk_prompt(const CLIPTokenizer& tokenizer, std::string_view text,
                          const ChunkOptions& options) {
    PromptChunksF64 d = chunk_prompt_f64(tokenizer, text, options);
    PromptChunks out;
    out.tokens = std::move(d.tokens);
    out.token_count = d.token_count;
    for (const auto& m : d.multipliers) {
        std::array<float, 77> f;
        std::transform(m.begin(), m.end(), f.begin(), [](double v) { return static_cast<float>(v); });
        out.multipliers.push_back(f);
    }
    return out;
}

}  // namespace sf
