// Mirrors ftfy (fixes.py: fix_encoding, fix_c1_controls, fix_latin_ligatures, fix_character_width,
// uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars) and CPython
// html/__init__.py.
#include "core/text_fix.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "core/unicode.h"

namespace sf {
namespace {

struct NamedEntity {
    std::string_view name;
    std::string_view value;
};
struct CharRef {
    char32_t from;
    char32_t to;
};

#include "core/html_entities.inc"

const NamedEntity* find_entity(std::string_view name) {
    auto it = std::lower_bound(std::begin(kEntities), std::end(kEntities), name,
                               [](const NamedEntity& e, std::string_view n) { return e.name < n; });
    return (it != std::end(kEntities) && it->name == name) ? &*it : nullptr;
}

bool is_hex(char32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_dec(char32_t c) {
    return c >= '0' && c <= '9';
}

// Windows-1252 bytes 0x80..0x9F; 0 where undefined (ftfy's "sloppy" codec keeps those as the C1 character).
constexpr std::array<char32_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// The byte a character has in sloppy Windows-1252, or nullopt.
std::optional<uint8_t> sloppy_cp1252_byte(char32_t c) {
    if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) {
        return static_cast<uint8_t>(c);
    }
    if (c >= 0x80 && c <= 0x9F) {
        return kCp1252High[c - 0x80] == 0 ? std::optional<uint8_t>(static_cast<uint8_t>(c)) : std::nullopt;
    }
    for (size_t i = 0; i < kCp1252High.size(); ++i) {
        if (kCp1252High[i] == c) {
            return static_cast<uint8_t>(0x80 + i);
        }
    }
    return std::nullopt;
}

// UTF-8 that was decoded as Windows-1252 / Latin-1 ("cafÃ©", "â€™"): re-decode each complete, valid
// multi-byte sequence found among characters that map back to single bytes.
std::u32string fix_mojibake(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        auto lead = sloppy_cp1252_byte(text[i]);
        int n = 0;
        if (lead && *lead >= 0xC2 && *lead <= 0xDF) {
            n = 1;
        } else if (lead && *lead >= 0xE0 && *lead <= 0xEF) {
            n = 2;
        } else if (lead && *lead >= 0xF0 && *lead <= 0xF4) {
            n = 3;
        }
        if (n > 0 && i + static_cast<size_t>(n) < text.size()) {
            std::string bytes(1, static_cast<char>(*lead));
            bool ok = true;
            for (int k = 1; k <= n && ok; ++k) {
                auto b = sloppy_cp1252_byte(text[i + k]);
                ok = b && (*b & 0xC0) == 0x80;
                if (ok) {
                    bytes.push_back(static_cast<char>(*b));
                }
            }
            if (ok) {
                auto decoded = unicode::decode_utf8(bytes);
                if (decoded.size() == 1 && decoded[0] != 0xFFFD) {
                    out.push_back(decoded[0]);
                    i += n + 1;
                    continue;
                }
            }
        }
        out.push_back(text[i]);
        ++i;
    }
    return out;
}

char32_t fix_c1(char32_t c) {
    if (c >= 0x80 && c <= 0x9F && kCp1252High[c - 0x80] != 0) {
        return kCp1252High[c - 0x80];
    }
    return c;
}

// ftfy LIGATURES: NFKC of these Latin ligatures.
std::u32string_view ligature(char32_t c) {
    switch (c) {
        case 0x0132:
            return U"IJ";
        case 0x0133:
            return U"ij";
        case 0x0149:
            return U"\u02BCn";
        case 0x01C4:
            return U"D\u017D";
        case 0x01C5:
            return U"D\u017E";
        case 0x01C6:
            return U"d\u017E";
        case 0x01C7:
            return U"LJ";
        case 0x01C8:
            return U"Lj";
        case 0x01C9:
            return U"lj";
        case 0x01CA:
            return U"NJ";
        case 0x01CB:
            return U"Nj";
        case 0x01CC:
            return U"nj";
        case 0x01F1:
            return U"DZ";
        case 0x01F2:
            return U"Dz";
        case 0x01F3:
            return U"dz";
        case 0xFB00:
            return U"ff";
        case 0xFB01:
            return U"fi";
        case 0xFB02:
            return U"fl";
        case 0xFB03:
            return U"ffi";
        case 0xFB04:
            return U"ffl";
        case 0xFB05:
            return U"\u017Ft";
        case 0xFB06:
            return U"st";
        default:
            return {};
    }
}

// ftfy fix_character_width: full-width ASCII and the ideographic space to ASCII, full-width symbols.
char32_t fix_width(char32_t c) {
    if (c >= 0xFF01 && c <= 0xFF5E) {
        return c - 0xFF01 + 0x21;
    }
    switch (c) {
        case 0x3000:
            return 0x20;
        case 0xFF5F:
            return 0x2985;
        case 0xFF60:
            return 0x2986;
        case 0xFFE0:
            return 0xA2;
        case 0xFFE1:
            return 0xA3;
        case 0xFFE2:
            return 0xAC;
        case 0xFFE3:
            return 0xAF;
        case 0xFFE4:
            return 0xA6;
        case 0xFFE5:
            return 0xA5;
        case 0xFFE6:
            return 0x20A9;
        default:
            return c;
    }
}

bool is_removed_control(char32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string fix_step(std::u32string_view in) {
    std::u32string text(in);
    if (text.find_first_of(U"<>") == std::u32string::npos) {
        text = html_unescape(text);
    }
    text = fix_mojibake(text);
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        char32_t c = fix_c1(text[i]);
        if (auto lig = ligature(c); !lig.empty()) {
            out.append(lig);
            continue;
        }
        c = fix_width(c);
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) {
            c = '\'';
        } else if (c >= 0x201C && c <= 0x201F) {
            c = '"';
        }
        if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            c = '\n';
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            c = '\n';
        }
        if (c == 0x1B && i + 1 < text.size() &&
            text[i + 1] == '[') {  // terminal escape: ESC [ [0-9;]* letter
            size_t j = i + 2;
            while (j < text.size() && (is_dec(text[j]) || text[j] == ';')) {
                ++j;
            }
            if (j < text.size() && text[j] < 0x80 && unicode::is_letter(text[j])) {
                i = j;
                continue;
            }
        }
        if (is_removed_control(c)) {
            continue;
        }
        out.push_back(c);
    }
    return unicode::compose_nfc(out);
}

}  // namespace

std::u32string html_unescape(std::u32string_view s) {
    if (s.find(U'&') == std::u32string_view::npos) {
        return std::u32string(s);
    }
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] != '&' || i + 1 >= s.size()) {
            out.push_back(s[i++]);
            continue;
        }
        size_t j = i + 1;
        if (s[j] == '#') {
            bool hex = j + 1 < s.size() && (s[j + 1] == 'x' || s[j + 1] == 'X');
            size_t k = j + (hex ? 2 : 1);
            size_t digits_start = k;
            while (k < s.size() && (hex ? is_hex(s[k]) : is_dec(s[k]))) {
                ++k;
            }
            if (k == digits_start) {
                out.push_back(s[i++]);
                continue;
            }
            // Saturating parse: anything past U+10FFFF is replaced by U+FFFD below.
            uint64_t num = 0;
            for (size_t d = digits_start; d < k; ++d) {
                char32_t c = s[d];
                uint64_t v = is_dec(c) ? c - '0' : (c | 0x20) - 'a' + 10;
                num = std::min<uint64_t>(num * (hex ? 16 : 10) + v, 0x7FFFFFFF);
            }
            if (k < s.size() && s[k] == ';') {
                ++k;
            }
            i = k;
            auto inv = std::find_if(std::begin(kInvalidCharRefs), std::end(kInvalidCharRefs),
                                    [&](const CharRef& r) { return r.from == num; });
            if (inv != std::end(kInvalidCharRefs)) {
                out.push_back(inv->to);
            } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
                out.push_back(0xFFFD);
            } else if (std::find(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints),
                                 static_cast<char32_t>(num)) != std::end(kInvalidCodepoints)) {
                // dropped
            } else {
                out.push_back(static_cast<char32_t>(num));
            }
            continue;
        }
        // Named: [^\t\n\f <&#;]{1,32};?
        size_t k = j;
        while (k < s.size() && k - j < 32 && s[k] != '\t' && s[k] != '\n' && s[k] != '\f' && s[k] != ' ' &&
               s[k] != '<' && s[k] != '&' && s[k] != '#' && s[k] != ';') {
            ++k;
        }
        if (k == j) {
            out.push_back(s[i++]);
            continue;
        }
        if (k < s.size() && s[k] == ';') {
            ++k;
        }
        std::string name = unicode::encode_utf8(s.substr(j, k - j));
        if (const auto* e = find_entity(name)) {
            out.append(unicode::decode_utf8(e->value));
            i = k;
            continue;
        }
        // Longest prefix (at least 2 characters) that is an entity name.
        std::u32string_view ref = s.substr(j, k - j);
        bool found = false;
        for (size_t x = ref.size() - 1; x > 1; --x) {
            if (const auto* e = find_entity(unicode::encode_utf8(ref.substr(0, x)))) {
                out.append(unicode::decode_utf8(e->value));
                out.append(ref.substr(x));
                found = true;
                break;
            }
        }
        if (!found) {
            out.push_back('&');
            out.append(ref);
        }
        i = k;
    }
    return out;
}

std::u32string fix_text(std::u32string_view text) {
    std::u32string cur(text);
    for (int iter = 0; iter < 8; ++iter) {
        std::u32string next = fix_step(cur);
        if (next == cur) {
            break;
        }
        cur = std::move(next);
    }
    return cur;
}

}  // namespace sf
