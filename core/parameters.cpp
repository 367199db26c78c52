// Mirrors AUTOMATIC1111 modules/processing.py create_infotext and modules/infotext_utils.py.
#include "core/parameters.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"

namespace sf {

namespace {

bool is_word(unsigned char c) { return std::isalnum(c) || c == '_'; }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view strip(std::string_view s) {
    while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

std::optional<int64_t> to_int(std::string_view s) {
    s = strip(s);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<double> to_double(std::string_view s) {
    std::string text(strip(s));
    if (text.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (*end != '\0') {
        return std::nullopt;
    }
    return v;
}

// One match of A1111's re_param `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` at `pos`, written
// as a scanner (std::regex recurses per character and overflows the stack on long quoted prompts).
bool match_param(std::string_view s, size_t pos, std::string& key, std::string& value, size_t& end) {
    size_t i = pos;
    while (i < s.size() && is_space(static_cast<unsigned char>(s[i]))) {
        ++i;
    }
    size_t key_begin = i;
    if (i >= s.size() || !is_word(static_cast<unsigned char>(s[i]))) {
        return false;
    }
    ++i;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (is_word(c) || c == ' ' || c == '-' || c == '/') {
            ++i;
        } else {
            break;
        }
    }
    if (i - key_begin < 2 || i >= s.size() || s[i] != ':') {
        return false;
    }
    key.assign(s.substr(key_begin, i - key_begin));
    ++i;
    while (i < s.size() && is_space(static_cast<unsigned char>(s[i]))) {
        ++i;
    }
    // Quoted alternative: "..." with backslash escapes, at least one character, then `,` or the end.
    if (i < s.size() && s[i] == '"') {
        size_t j = i + 1;
        while (j < s.size() && s[j] != '"') {
            j += (s[j] == '\\' && j + 1 < s.size()) ? 2 : 1;
        }
        if (j < s.size() && j > i + 1 && (j + 1 == s.size() || s[j + 1] == ',')) {
            value.assign(s.substr(i, j + 1 - i));
            end = j + 1 < s.size() ? j + 2 : j + 1;
            return true;
        }
    }
    size_t comma = s.find(',', i);
    if (comma == std::string_view::npos) {
        value.assign(s.substr(i));
        end = s.size();
    } else {
        value.assign(s.substr(i, comma - i));
        end = comma + 1;
    }
    return true;
}

// Old A1111 sampler names carry the schedule ("DPM++ 2M Karras"); 1.9+ writes it as "Schedule type".
void split_old_sampler_name(GenerateRequest& r) {
    for (std::string_view suffix : {" Karras", " Exponential"}) {
        if (r.sampler.size() > suffix.size() && r.sampler.ends_with(suffix)) {
            r.schedule = std::string(suffix.substr(1));
            r.sampler.erase(r.sampler.size() - suffix.size());
            return;
        }
    }
}

}  // namespace

std::string format_number(double value) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

std::string quote_parameter(std::string_view value) {
    if (value.find_first_of(",:\n") == std::string_view::npos) {
        return std::string(value);
    }
    return json::dump(json::Value(std::string(value)));
}

std::string unquote_parameter(std::string_view value) {
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
        return std::string(value);
    }
    try {
        auto v = json::parse(value);
        if (v.is_string()) {
            return v.as_string();
        }
    } catch (const Error&) {
    }
    return std::string(value);
}

std::string format_parameter(std::string_view key, std::string_view value) {
    return std::string(key) + ": " + quote_parameter(value);
}

std::vector<std::pair<std::string, std::string>> split_parameter_line(std::string_view line) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t pos = 0;
    std::string key;
    std::string value;
    while (pos < line.size()) {
        size_t end = 0;
        if (match_param(line, pos, key, value, end)) {
            out.emplace_back(key, unquote_parameter(value));
            pos = end;
        } else {
            ++pos;
        }
    }
    return out;
}

std::string format_parameters(const GenerateRequest& r, const InfotextInfo& info, int index) {
    const auto i = static_cast<size_t>(index);
    const int64_t seed = i < r.seeds.size() ? r.seeds[i] : r.seed + index;
    const double cfg = i < r.cfg_scales.size() ? r.cfg_scales[i] : r.cfg_scale;

    std::vector<std::pair<std::string, std::string>> pairs = {
        {"Steps", std::to_string(r.steps)},
        {"Sampler", r.sampler},
        {"Schedule type", r.schedule},
        {"CFG scale", format_number(cfg)},
        {"Seed", std::to_string(seed)},
        {"Size", std::to_string(r.width) + "x" + std::to_string(r.height)},
        {"Model hash", info.model_hash},
        {"Model", info.model_name},
    };
    if (r.init_image.defined() || !r.init_image_path.empty()) {
        pairs.emplace_back("Denoising strength", format_number(r.strength));
        pairs.emplace_back("Fit", r.fit);
    }
    if (r.clip_skip > 1) {  // A1111 leaves the default (1) out
        pairs.emplace_back("Clip skip", std::to_string(r.clip_skip));
    }
    pairs.emplace_back("Version", info.version);
    pairs.emplace_back("Device", info.device);
    pairs.emplace_back("Dtype", info.dtype);
    pairs.emplace_back("Seed mode", info.seed_mode);
    pairs.emplace_back("Attention", info.attention);
    pairs.emplace_back("Libtorch", info.torch_version);

    std::string line;
    for (const auto& [key, value] : pairs) {
        if (value.empty()) {
            continue;
        }
        if (!line.empty()) {
            line += ", ";
        }
        line += format_parameter(key, value);
    }
    std::string text = r.prompt;
    if (!r.negative_prompt.empty()) {
        text += "\nNegative prompt: " + r.negative_prompt;
    }
    text += "\n" + line;
    return std::string(strip(text));
}

ParsedParameters parse_parameters(std::string_view text) {
    ParsedParameters out;
    GenerateRequest& r = out.request;

    std::vector<std::string_view> lines;
    std::string_view all = strip(text);
    for (size_t start = 0;;) {
        size_t nl = all.find('\n', start);
        lines.push_back(all.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
        if (nl == std::string_view::npos) {
            break;
        }
        start = nl + 1;
    }
    std::vector<std::pair<std::string, std::string>> pairs = split_parameter_line(lines.back());
    if (pairs.size() < 3) {
        pairs.clear();  // the last line is part of the prompt
    } else {
        lines.pop_back();
    }

    std::string prompt;
    std::string negative;
    bool in_negative = false;
    for (auto line : lines) {
        line = strip(line);
        if (line.starts_with("Negative prompt:")) {
            in_negative = true;
            line = strip(line.substr(16));
        }
        std::string& dst = in_negative ? negative : prompt;
        if (!dst.empty()) {
            dst += '\n';
        }
        dst += line;
    }
    r.prompt = prompt;
    r.negative_prompt = negative;

    bool have_schedule = false;
    for (const auto& [key, value] : pairs) {
        bool ok = true;
        auto set_int = [&](auto& dst) {
            auto v = to_int(value);
            ok = v.has_value();
            if (ok) {
                dst = static_cast<std::remove_reference_t<decltype(dst)>>(*v);
            }
        };
        auto set_double = [&](double& dst) {
            auto v = to_double(value);
            ok = v.has_value();
            if (ok) {
                dst = *v;
            }
        };
        if (key == "Steps") {
            set_int(r.steps);
        } else if (key == "Sampler") {
            r.sampler = value;
        } else if (key == "Schedule type") {
            r.schedule = value;
            have_schedule = true;
        } else if (key == "CFG scale") {
            set_double(r.cfg_scale);
        } else if (key == "Seed") {
            set_int(r.seed);
        } else if (key == "Size") {
            auto x = value.find('x');
            auto w = x == std::string::npos ? std::nullopt : to_int(std::string_view(value).substr(0, x));
            auto h = x == std::string::npos ? std::nullopt : to_int(std::string_view(value).substr(x + 1));
            ok = w && h;
            if (ok) {
                r.width = static_cast<int>(*w);
                r.height = static_cast<int>(*h);
            }
        } else if (key == "Model hash") {
            out.info.model_hash = value;
        } else if (key == "Model") {
            out.info.model_name = value;
        } else if (key == "Denoising strength") {
            set_double(r.strength);
            out.img2img = ok;
        } else if (key == "Fit") {
            r.fit = value;
        } else if (key == "Clip skip") {
            set_int(r.clip_skip);
        } else if (key == "Version") {
            out.info.version = value;
        } else if (key == "Device") {
            out.info.device = value;
        } else if (key == "Dtype") {
            out.info.dtype = value;
        } else if (key == "Seed mode") {
            out.info.seed_mode = value;
        } else if (key == "Attention") {
            out.info.attention = value;
        } else if (key == "Libtorch") {
            out.info.torch_version = value;
        } else {
            ok = false;
        }
        if (!ok) {
            out.extra[key] = value;
        }
    }
    if (!have_schedule) {
        split_old_sampler_name(r);
    }
    return out;
}

std::string short_model_hash(const std::filesystem::path& model) {
    if (std::filesystem::is_directory(model)) {
        return {};
    }
    return sha256_file(model).substr(0, 10);
}

}  // namespace sf
