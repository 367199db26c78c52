// A small command-line flag parser for sfumato-cli: `--name value`, `--name=value`, `--flag`, positionals.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace sf::cli {

/// Bad command-line usage (unknown option, bad value, missing file): sfumato-cli exits with 2.
class UsageError : public Error {
public:
    using Error::Error;
};

class Args {
public:
    /// Parses argv after the command word. `flags` are names that take no value; any other `--name`
    /// takes one. Throws UsageError on a missing value.
    Args(int argc, char** argv, int first, std::set<std::string> flags = {});

    bool has(const std::string& name) const;
    std::optional<std::string> get(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback) const;
    /// Every value of a repeated option, in order.
    std::vector<std::string> all(const std::string& name) const;
    /// Typed values; throw UsageError when the text is not a number.
    int get_int(const std::string& name, int fallback) const;
    int64_t get_int64(const std::string& name, int64_t fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }
    /// Throws UsageError naming the first option not in `known`.
    void allow_only(const std::set<std::string>& known) const;
    /// Option names in command-line order (repeats included).
    const std::vector<std::string>& names() const { return order_; }

private:
    std::multimap<std::string, std::string> options_;
    std::vector<std::string> order_;
    std::vector<std::string> positional_;
};

/// Each sfumato-cli command: returns the process exit code.
using Command = int (*)(const Args& args);

}  // namespace sf::cli
