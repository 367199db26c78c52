#include "app/sampler_names.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace sf::cli {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// A1111 name, k-diffusion function name (without "sample_").
const std::vector<std::pair<std::string, std::string>>& sampler_table() {
    static const std::vector<std::pair<std::string, std::string>> table = {
        {"Euler a", "euler_ancestral"}, {"Euler", "euler"},       {"Heun", "heun"},
        {"DPM2", "dpm_2"},              {"DPM2 a", "dpm_2_ancestral"}, {"DPM++ 2S a", "dpmpp_2s_ancestral"},
        {"DPM++ 2M", "dpmpp_2m"},       {"DPM++ SDE", "dpmpp_sde"}, {"DPM++ 2M SDE", "dpmpp_2m_sde"},
        {"LMS", "lms"},                 {"DDIM", "ddim"},
    };
    return table;
}

}  // namespace

const std::vector<std::string>& sampler_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& [name, fn] : sampler_table()) {
            v.push_back(name);
        }
        return v;
    }();
    return names;
}

std::optional<std::string> resolve_sampler(std::string_view name) {
    const std::string key = lower(name);
    for (const auto& [a1111, fn] : sampler_table()) {
        if (key == lower(a1111) || key == fn || key == "sample_" + fn) {
            return a1111;
        }
    }
    return std::nullopt;
}

const std::vector<std::string>& schedule_names() {
    static const std::vector<std::string> names = {"Automatic", "Uniform",    "Karras",      "Exponential",
                                                   "Polyexponential", "SGM Uniform", "Simple", "Normal", "DDIM"};
    return names;
}

std::optional<std::string> resolve_schedule(std::string_view name) {
    const std::string key = lower(name);
    for (const auto& s : schedule_names()) {
        if (key == lower(s)) {
            return s;
        }
    }
    return std::nullopt;
}

}  // namespace sf::cli
