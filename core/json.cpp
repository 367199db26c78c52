#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "core/error.h"

namespace sf::json {
namespace {

const char* kind_name(Value::Kind k) {
    switch (k) {
        case Value::Kind::null: return "null";
        case Value::Kind::boolean: return "a boolean";
        case Value::Kind::number: return "a number";
        case Value::Kind::string: return "a string";
        case Value::Kind::array: return "an array";
        case Value::Kind::object: return "an object";
    }
    return "?";
}

[[noreturn]] void mismatch(Value::Kind want, Value::Kind got) {
    throw Error(std::string("JSON: expected ") + kind_name(want) + ", found " + kind_name(got));
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Parser {
public:
    Parser(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

    Value document() {
        skip_ws();
        Value v = value(0);
        skip_ws();
        if (pos_ != s_.size()) {
            fail("unexpected data after the JSON value");
        }
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error("JSON: " + what + " at byte " + std::to_string(pos_));
    }

    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool consume(std::string_view word) {
        if (s_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return true;
        }
        return false;
    }

    Value value(int depth) {
        if (depth > max_depth_) {
            fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
        }
        if (pos_ >= s_.size()) {
            fail("unexpected end of input");
        }
        char c = s_[pos_];
        if (c == '{') {
            return object(depth);
        }
        if (c == '[') {
            return array(depth);
        }
        if (c == '"') {
            return Value(string());
        }
        if (consume("true")) {
            return Value(true);
        }
        if (consume("false")) {
            return Value(false);
        }
        if (consume("null")) {
            return Value();
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            return number();
        }
        fail(std::string("unexpected character '") + c + "'");
    }

    Value object(int depth) {
        ++pos_;  // '{'
        std::vector<Value::Member> members;
        std::unordered_set<std::string> seen;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return Value::object(std::move(members));
        }
        for (;;) {
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != '"') {
                fail("expected a member name");
            }
            std::string key = string();
            if (!seen.insert(key).second) {
                fail("duplicate key \"" + key + "\"");
            }
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != ':') {
                fail("expected ':'");
            }
            ++pos_;
            skip_ws();
            members.emplace_back(std::move(key), value(depth + 1));
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '}') {
                ++pos_;
                return Value::object(std::move(members));
            }
            fail("expected ',' or '}'");
        }
    }

    Value array(int depth) {
        ++pos_;  // '['
        std::vector<Value> items;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return Value::array(std::move(items));
        }
        for (;;) {
            skip_ws();
            items.push_back(value(depth + 1));
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                return Value::array(std::move(items));
            }
            fail("expected ',' or ']'");
        }
    }

    uint32_t hex4() {
        if (pos_ + 4 > s_.size()) {
            fail("truncated \\u escape");
        }
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= c - '0';
            } else if (c >= 'a' && c <= 'f') {
                v |= c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                v |= c - 'A' + 10;
            } else {
                fail("bad hex digit in \\u escape");
            }
        }
        return v;
    }

    std::string string() {
        ++pos_;  // '"'
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) {
                fail("unterminated string");
            }
            unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) {
                fail("control character in string");
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++pos_;
                continue;
            }
            ++pos_;
            if (pos_ >= s_.size()) {
                fail("unterminated escape");
            }
            char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (!consume("\\u")) {
                            fail("unpaired surrogate in \\u escape");
                        }
                        uint32_t lo = hex4();
                        if (lo < 0xDC00 || lo > 0xDFFF) {
                            fail("unpaired surrogate in \\u escape");
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        fail("unpaired surrogate in \\u escape");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: fail(std::string("bad escape '\\") + e + "'");
            }
        }
    }

    Value number() {
        size_t start = pos_;
        bool integral = true;
        if (s_[pos_] == '-') {
            ++pos_;
        }
        auto digits = [&] {
            size_t d = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
                ++pos_;
            }
            return pos_ - d;
        };
        if (pos_ < s_.size() && s_[pos_] == '0') {
            ++pos_;
        } else if (digits() == 0) {
            fail("bad number");
        }
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            integral = false;
            if (digits() == 0) {
                fail("bad number");
            }
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            integral = false;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
                ++pos_;
            }
            if (digits() == 0) {
                fail("bad number");
            }
        }
        std::string text(s_.substr(start, pos_ - start));
        if (integral) {
            int64_t i = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
            if (ec == std::errc() && ptr == text.data() + text.size()) {
                return Value(i);
            }
        }
        return Value(std::strtod(text.c_str(), nullptr));
    }

    std::string_view s_;
    size_t pos_ = 0;
    int max_depth_;
};

void dump_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

void dump_to(std::string& out, const Value& v) {
    switch (v.kind()) {
        case Value::Kind::null: out += "null"; break;
        case Value::Kind::boolean: out += v.as_bool() ? "true" : "false"; break;
        case Value::Kind::number: {
            if (v.is_integer()) {
                out += std::to_string(v.as_int());
            } else if (!std::isfinite(v.as_double())) {
                out += "null";
            } else {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.17g", v.as_double());
                out += buf;
            }
            break;
        }
        case Value::Kind::string: dump_string(out, v.as_string()); break;
        case Value::Kind::array: {
            out += '[';
            for (size_t i = 0; i < v.items().size(); ++i) {
                if (i) {
                    out += ',';
                }
                dump_to(out, v.items()[i]);
            }
            out += ']';
            break;
        }
        case Value::Kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [k, m] : v.members()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                dump_string(out, k);
                out += ':';
                dump_to(out, m);
            }
            out += '}';
            break;
        }
    }
}

}  // namespace

Value Value::array(std::vector<Value> items) {
    Value v;
    v.kind_ = Kind::array;
    v.items_ = std::move(items);
    return v;
}

Value Value::object(std::vector<Member> members) {
    Value v;
    v.kind_ = Kind::object;
    v.members_ = std::move(members);
    return v;
}

bool Value::as_bool() const {
    if (kind_ != Kind::boolean) {
        mismatch(Kind::boolean, kind_);
    }
    return bool_;
}

double Value::as_double() const {
    if (kind_ != Kind::number) {
        mismatch(Kind::number, kind_);
    }
    return number_;
}

int64_t Value::as_int() const {
    if (kind_ != Kind::number) {
        mismatch(Kind::number, kind_);
    }
    if (is_int_) {
        return int_;
    }
    if (number_ != std::floor(number_) || std::abs(number_) > 9.007199254740992e15) {
        throw Error("JSON: expected an integer, found " + std::to_string(number_));
    }
    return static_cast<int64_t>(number_);
}

const std::string& Value::as_string() const {
    if (kind_ != Kind::string) {
        mismatch(Kind::string, kind_);
    }
    return string_;
}

const std::vector<Value>& Value::items() const {
    if (kind_ != Kind::array) {
        mismatch(Kind::array, kind_);
    }
    return items_;
}

const std::vector<Value::Member>& Value::members() const {
    if (kind_ != Kind::object) {
        mismatch(Kind::object, kind_);
    }
    return members_;
}

const Value* Value::find(std::string_view key) const {
    if (kind_ != Kind::object) {
        return nullptr;
    }
    for (const auto& [k, v] : members_) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

const Value& Value::at(std::string_view key) const {
    if (kind_ != Kind::object) {
        mismatch(Kind::object, kind_);
    }
    const Value* v = find(key);
    if (!v) {
        throw Error("JSON: missing key \"" + std::string(key) + "\"");
    }
    return *v;
}

const Value& Value::at(size_t index) const {
    const auto& list = items();
    if (index >= list.size()) {
        throw Error("JSON: index " + std::to_string(index) + " out of range (size " + std::to_string(list.size()) + ")");
    }
    return list[index];
}

size_t Value::size() const {
    if (kind_ == Kind::array) {
        return items_.size();
    }
    if (kind_ == Kind::object) {
        return members_.size();
    }
    return 0;
}

double Value::get(std::string_view key, double fallback) const {
    const Value* v = find(key);
    return v && v->is_number() ? v->as_double() : fallback;
}

int64_t Value::get(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    return v && v->is_number() ? v->as_int() : fallback;
}

bool Value::get(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    return v && v->is_bool() ? v->as_bool() : fallback;
}

std::string Value::get(std::string_view key, const char* fallback) const {
    const Value* v = find(key);
    return v && v->is_string() ? v->as_string() : std::string(fallback);
}

void Value::push_back(Value v) {
    if (kind_ == Kind::null) {
        kind_ = Kind::array;
    }
    if (kind_ != Kind::array) {
        mismatch(Kind::array, kind_);
    }
    items_.push_back(std::move(v));
}

void Value::set(std::string key, Value v) {
    if (kind_ == Kind::null) {
        kind_ = Kind::object;
    }
    if (kind_ != Kind::object) {
        mismatch(Kind::object, kind_);
    }
    for (auto& [k, m] : members_) {
        if (k == key) {
            m = std::move(v);
            return;
        }
    }
    members_.emplace_back(std::move(key), std::move(v));
}

size_t find_invalid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (i + len > n) {
            return i;
        }
        for (size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return i;
        }
        i += len;
    }
    return std::string_view::npos;
}

Value parse(std::string_view text, int max_depth) {
    size_t bad = find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
        throw Error("JSON: invalid UTF-8 at byte " + std::to_string(bad));
    }
    return Parser(text, max_depth).document();
}

std::string dump(const Value& value) {
    std::string out;
    dump_to(out, value);
    return out;
}

}  // namespace sf::json
