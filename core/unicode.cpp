// Unicode classes and mappings for the tokenizer (tables: unicode_data.inc, generated).
#include "core/unicode.h"

#include <algorithm>
#include <cstdint>

namespace sf::unicode {
namespace {

struct CodeRange {
    char32_t first;
    char32_t last;
};
struct CodeMap {
    char32_t from;
    char32_t to;
};
struct ClassRange {
    char32_t first;
    char32_t last;
    int ccc;
};
struct Composition {
    char32_t first;
    char32_t second;
    char32_t composed;
};

#include "core/unicode_data.inc"

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t cp) {
    auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                               [](char32_t v, const CodeRange& r) { return v < r.first; });
    return it != std::begin(table) && cp <= std::prev(it)->last;
}

char32_t lower_one(char32_t cp) {
    if (cp < 0x80) {
        return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    }
    auto it = std::lower_bound(std::begin(kLower), std::end(kLower), cp,
                               [](const CodeMap& m, char32_t v) { return m.from < v; });
    return (it != std::end(kLower) && it->from == cp) ? it->to : cp;
}

// Cased approximated as "is a letter" (CJK letters are not cased, but they never neighbour a sigma).
bool is_cased(char32_t cp) {
    return is_letter(cp);
}

// Case-ignorable approximation: marks, format characters and the apostrophe-like punctuation.
bool is_case_ignorable(char32_t cp) {
    return is_mark(cp) || cp == '\'' || cp == '.' || cp == ':' || cp == 0x00AD || cp == 0x2019 ||
           (cp >= 0x200B && cp <= 0x200F);
}

constexpr char32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr int kHangulVCount = 21, kHangulTCount = 28, kHangulSCount = 11172;

char32_t compose_pair(char32_t a, char32_t b) {
    if (a >= kHangulL && a < kHangulL + 19 && b >= kHangulV && b < kHangulV + kHangulVCount) {
        return kHangulS + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
    }
    if (a >= kHangulS && a < kHangulS + kHangulSCount && (a - kHangulS) % kHangulTCount == 0 &&
        b > kHangulT && b < kHangulT + kHangulTCount) {
        return a + (b - kHangulT);
    }
    auto it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), Composition{a, b, 0},
                               [](const Composition& x, const Composition& y) {
                                   return x.first != y.first ? x.first < y.first : x.second < y.second;
                               });
    if (it != std::end(kCompositions) && it->first == a && it->second == b) {
        return it->composed;
    }
    return 0;
}

}  // namespace

std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        auto b0 = static_cast<uint8_t>(s[i]);
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        }
        int n = 0;
        char32_t cp = 0, min = 0;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            n = 1, cp = b0 & 0x1F, min = 0x80;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            n = 2, cp = b0 & 0x0F, min = 0x800;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            n = 3, cp = b0 & 0x07, min = 0x10000;
        }
        bool ok = n > 0;
        if (ok) {
            for (int k = 1; k <= n; ++k) {
                if (i + k >= s.size()) {
                    ok = false;
                    break;
                }
                auto b = static_cast<uint8_t>(s[i + k]);
                if ((b & 0xC0) != 0x80) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (b & 0x3F);
            }
        }
        if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
            ok = false;
        }
        if (ok) {
            out.push_back(cp);
            i += n + 1;
        } else {
            out.push_back(0xFFFD);
            ++i;
        }
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t cp : text) {
        append_utf8(out, cp);
    }
    return out;
}

bool is_letter(char32_t cp) {
    if (cp < 0x80) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    }
    return in_ranges(kLetters, cp);
}

bool is_number(char32_t cp) {
    if (cp < 0x80) {
        return cp >= '0' && cp <= '9';
    }
    return in_ranges(kNumbers, cp);
}

bool is_mark(char32_t cp) {
    return cp >= 0x300 && in_ranges(kMarks, cp);
}

bool is_space(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool is_word(char32_t cp) {
    return cp == '_' || is_letter(cp) || is_number(cp);
}

int combining_class(char32_t cp) {
    if (cp < 0x300) {
        return 0;
    }
    auto it = std::upper_bound(std::begin(kCombiningClass), std::end(kCombiningClass), cp,
                               [](char32_t v, const ClassRange& r) { return v < r.first; });
    if (it == std::begin(kCombiningClass) || cp > std::prev(it)->last) {
        return 0;
    }
    return std::prev(it)->ccc;
}

std::u32string to_lower(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        char32_t cp = text[i];
        if (cp == 0x130) {
            out.push_back('i');
            out.push_back(0x307);
        } else if (cp == 0x3A3) {
            // Final sigma: preceded by a cased letter and not followed by one (case-ignorables skipped).
            bool before = false, after = false;
            for (size_t j = i; j-- > 0;) {
                if (!is_case_ignorable(text[j])) {
                    before = is_cased(text[j]);
                    break;
                }
            }
            for (size_t j = i + 1; j < text.size(); ++j) {
                if (!is_case_ignorable(text[j])) {
                    after = is_cased(text[j]);
                    break;
                }
            }
            out.push_back(before && !after ? 0x3C2 : 0x3C3);
        } else {
            out.push_back(lower_one(cp));
        }
    }
    return out;
}

std::u32string compose_nfc(std::u32string_view input) {
    std::u32string text(input);
    // Canonical ordering: stable-sort each run of non-starters by combining class.
    for (size_t i = 0; i < text.size();) {
        if (combining_class(text[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < text.size() && combining_class(text[j]) != 0) {
            ++j;
        }
        std::stable_sort(text.begin() + static_cast<std::ptrdiff_t>(i),
                         text.begin() + static_cast<std::ptrdiff_t>(j),
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    std::u32string out;
    out.reserve(text.size());
    size_t starter = std::u32string::npos;  // index in out
    int last_class = -1;
    for (char32_t cp : text) {
        int cc = combining_class(cp);
        if (starter != std::u32string::npos) {
            bool blocked = last_class != -1 && (last_class == 0 || last_class >= cc);
            if (!blocked) {
                char32_t c = compose_pair(out[starter], cp);
                if (c != 0) {
                    out[starter] = c;
                    continue;
                }
            }
        }
        if (cc == 0) {
            starter = out.size();
            last_class = -1;
        } else {
            last_class = cc;
        }
        out.push_back(cp);
    }
    return out;
}

}  // namespace sf::unicode
