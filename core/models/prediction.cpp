#include "core/models/prediction.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "core/log.h"

namespace sf::unet {

const char* prediction_name(Prediction p) {
    return p == Prediction::v ? "v" : "eps";
}

std::optional<Prediction> parse_prediction_config(const std::string& text) {
    static const std::regex yaml(R"((^|\n)\s*parameterization\s*:\s*["']?([A-Za-z_]+)["']?)");
    static const std::regex json(R"re("prediction_type"\s*:\s*"([A-Za-z_]+)")re");
    std::smatch m;
    std::string value;
    if (std::regex_search(text, m, json)) {
        value = m[1];
    } else if (std::regex_search(text, m, yaml)) {
        value = m[2];
    } else {
        return std::nullopt;
    }
    if (value == "v" || value == "v_prediction") {
        return Prediction::v;
    }
    if (value == "eps" || value == "epsilon") {
        return Prediction::eps;
    }
    return std::nullopt;
}

std::optional<Prediction> prediction_from_sidecar(const std::filesystem::path& model_path) {
    std::vector<std::filesystem::path> candidates;
    std::error_code ec;
    if (std::filesystem::is_directory(model_path, ec)) {
        candidates = {model_path / "scheduler" / "scheduler_config.json", model_path / "config.json"};
    } else {
        for (const char* ext : {".yaml", ".yml", ".json"}) {
            auto p = model_path;
            candidates.push_back(p.replace_extension(ext));
        }
    }
    for (const auto& c : candidates) {
        if (!std::filesystem::is_regular_file(c, ec)) {
            continue;
        }
        std::ifstream in(c);
        std::stringstream text;
        text << in.rdbuf();
        if (auto p = parse_prediction_config(text.str())) {
            log_info("prediction: " + std::string(prediction_name(*p)) + " (from " + c.string() + ")");
            return p;
        }
    }
    return std::nullopt;
}

Prediction probe_prediction(UNetModel& unet) {
    torch::NoGradGuard no_grad;
    const auto& c = unet->config();
    const auto param = unet->parameters()[0];
    auto opts = torch::TensorOptions().device(param.device()).dtype(torch::kFloat32);
    auto x = torch::full({1, c.in_channels, 8, 8}, 0.5, opts);
    auto context = torch::full({1, 2, c.context_dim}, 0.5, opts);
    auto t = torch::full({1}, 999, opts.dtype(torch::kInt64));
    torch::Tensor y;
    if (c.adm_in_channels > 0) {
        y = torch::zeros({1, c.adm_in_channels}, opts);
    }
    auto out = unet->forward(x, t, context, y).to(torch::kFloat32);
    const double score = (out - x).mean().item<double>();
    const Prediction p = score < -1.0 ? Prediction::v : Prediction::eps;
    log_info("prediction: " + std::string(prediction_name(p)) +
             " (probe: mean(out - x) = " + std::to_string(score) + ", v when < -1)");
    return p;
}

Prediction detect_prediction(const std::filesystem::path& model_path, UNetModel& unet) {
    if (auto p = prediction_from_sidecar(model_path)) {
        return *p;
    }
    const auto& c = unet->config();
    if (c.use_linear_projection && c.adm_in_channels == 0) {
        return probe_prediction(unet);
    }
    log_info("prediction: eps (SD 1.x / SDXL architecture, no sidecar config)");
    return Prediction::eps;
}

}  // namespace sf::unet
