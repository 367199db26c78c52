#include "app/cli_args.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "core/error.h"

namespace sf::cli {

Args::Args(int argc, char** argv, int first, std::set<std::string> flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2);
        auto eq = name.find('=');
        if (eq != std::string::npos) {
            options_.emplace(name.substr(0, eq), name.substr(eq + 1));
            order_.push_back(name.substr(0, eq));
        } else if (flags.count(name)) {
            options_.emplace(name, "1");
            order_.push_back(name);
        } else {
            if (i + 1 >= argc) {
                throw UsageError("option --" + name + " needs a value");
            }
            options_.emplace(name, argv[++i]);
            order_.push_back(name);
        }
    }
}

bool Args::has(const std::string& name) const { return options_.count(name) != 0; }

std::optional<std::string> Args::get(const std::string& name) const {
    auto range = options_.equal_range(name);
    if (range.first == range.second) {
        return std::nullopt;
    }
    return std::prev(range.second)->second;  // the last one wins
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

std::vector<std::string> Args::all(const std::string& name) const {
    std::vector<std::string> out;
    auto range = options_.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) {
        out.push_back(it->second);
    }
    return out;
}

int Args::get_int(const std::string& name, int fallback) const {
    auto v = get(name);
    if (!v) {
        return fallback;
    }
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno == ERANGE || n < INT_MIN || n > INT_MAX) {
        throw UsageError("--" + name + " expects a whole number, got '" + *v + "'");
    }
    return static_cast<int>(n);
}

int64_t Args::get_int64(const std::string& name, int64_t fallback) const {
    auto v = get(name);
    if (!v) {
        return fallback;
    }
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno == ERANGE) {
        throw UsageError("--" + name + " expects a whole number, got '" + *v + "'");
    }
    return static_cast<int64_t>(n);
}

double Args::get_double(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) {
        return fallback;
    }
    char* end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0') {
        throw UsageError("--" + name + " expects a number, got '" + *v + "'");
    }
    return d;
}

void Args::allow_only(const std::set<std::string>& known) const {
    for (const auto& name : order_) {
        if (!known.count(name)) {
            throw UsageError("unknown option --" + name);
        }
    }
}

}  // namespace sf::cli
