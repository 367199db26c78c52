// A small, strict JSON reader and writer (RFC 8259) for safetensors headers, diffusers configs and
// conformance metadata. core depends on libtorch only, so it carries its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sf::json {

/// One JSON value. Objects keep their members in file order.
class Value {
public:
    enum class Kind { null, boolean, number, string, array, object };
    using Member = std::pair<std::string, Value>;

    Value() = default;
    Value(bool b) : kind_(Kind::boolean), bool_(b) {}
    Value(double d) : kind_(Kind::number), number_(d) {}
    Value(int64_t i) : kind_(Kind::number), number_(static_cast<double>(i)), int_(i), is_int_(true) {}
    Value(int i) : Value(static_cast<int64_t>(i)) {}
    Value(std::string s) : kind_(Kind::string), string_(std::move(s)) {}
    Value(const char* s) : Value(std::string(s)) {}
    static Value array(std::vector<Value> items = {});
    static Value object(std::vector<Member> members = {});

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::null; }
    bool is_bool() const { return kind_ == Kind::boolean; }
    bool is_number() const { return kind_ == Kind::number; }
    bool is_string() const { return kind_ == Kind::string; }
    bool is_array() const { return kind_ == Kind::array; }
    bool is_object() const { return kind_ == Kind::object; }
    /// True for a number written without fraction or exponent that fits int64.
    bool is_integer() const { return kind_ == Kind::number && is_int_; }

    /// Typed access; each throws sf::Error("JSON: expected <kind>") on a mismatch.
    bool as_bool() const;
    double as_double() const;
    int64_t as_int() const;
    const std::string& as_string() const;
    const std::vector<Value>& items() const;
    const std::vector<Member>& members() const;

    /// Object member or nullptr (also nullptr when this is not an object).
    const Value* find(std::string_view key) const;
    /// Object member; throws sf::Error naming the key when absent.
    const Value& at(std::string_view key) const;
    /// Array element; throws when out of range.
    const Value& at(size_t index) const;
    size_t size() const;

    /// Convenience lookups with defaults for optional members.
    double get(std::string_view key, double fallback) const;
    int64_t get(std::string_view key, int64_t fallback) const;
    int get(std::string_view key, int fallback) const { return static_cast<int>(get(key, int64_t{fallback})); }
    bool get(std::string_view key, bool fallback) const;
    std::string get(std::string_view key, const char* fallback) const;

    void push_back(Value v);
    void set(std::string key, Value v);

private:
    Kind kind_ = Kind::null;
    bool bool_ = false;
    double number_ = 0;
    int64_t int_ = 0;
    bool is_int_ = false;
    std::string string_;
    std::vector<Value> items_;
    std::vector<Member> members_;
};

/// Parses one JSON document. Rejects invalid UTF-8, duplicate object keys, trailing data and nesting
/// deeper than max_depth; sf::Error says what and at which byte offset.
Value parse(std::string_view text, int max_depth = 64);

/// Compact serialisation (no spaces), non-ASCII written as UTF-8.
std::string dump(const Value& value);

/// Checks that text is well-formed UTF-8 (no overlongs, no surrogates); returns the offset of the first
/// bad byte, or npos.
size_t find_invalid_utf8(std::string_view text);

}  // namespace sf::json
