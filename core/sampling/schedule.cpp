// Mirrors k-diffusion external.py (DiscreteSchedule) and sampling.py (get_sigmas_*), CompVis
// ldm/modules/diffusionmodules/util.py (make_ddim_*), sd3_impls.py (ModelSamplingDiscreteFlow) and
// flux/sampling.py (get_schedule). Float32 where the references compute in float32.
#include "core/sampling/schedule.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace sf::sampling {

namespace {

std::string lower_alnum(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    return out;
}

std::vector<double> to_vector(const torch::Tensor& t) {
    auto c = t.to(torch::kFloat32).contiguous().cpu();
    const float* p = c.data_ptr<float>();
    return std::vector<double>(p, p + c.numel());
}

std::vector<double> append_zero(std::vector<double> v) {
    v.push_back(0.0);
    return v;
}

}  // namespace

torch::Tensor scaled_linear_betas(int64_t timesteps, double linear_start, double linear_end) {
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    return torch::linspace(std::sqrt(linear_start), std::sqrt(linear_end), timesteps, opts).pow(2);
}

DiscreteSchedule DiscreteSchedule::scaled_linear(int64_t timesteps, double linear_start, double linear_end) {
    auto ac = torch::cumprod(1.0 - scaled_linear_betas(timesteps, linear_start, linear_end), 0);
    DiscreteSchedule s;
    s.init(ac.to(torch::kFloat32));
    return s;
}

DiscreteSchedule DiscreteSchedule::from_alphas_cumprod(const torch::Tensor& alphas_cumprod) {
    if (alphas_cumprod.dim() != 1 || alphas_cumprod.numel() < 2) {
        throw Error("alphas_cumprod: expected a 1-D schedule, got " + c10::str(alphas_cumprod.sizes()));
    }
    DiscreteSchedule s;
    s.init(alphas_cumprod.detach().to(torch::kCPU, torch::kFloat32).contiguous());
    return s;
}

void DiscreteSchedule::init(torch::Tensor ac) {
    alphas_cumprod_ = ac.contiguous();
    sigmas_ = ((1 - alphas_cumprod_) / alphas_cumprod_).sqrt();  // float32, as k-diffusion
    log_sigmas_ = sigmas_.log();
    auto copy = [](const torch::Tensor& t) {
        const float* p = t.data_ptr<float>();
        return std::vector<float>(p, p + t.numel());
    };
    ac_ = copy(alphas_cumprod_);
    sig_ = copy(sigmas_);
    log_ = copy(log_sigmas_);
}

double DiscreteSchedule::t_to_sigma(double t_in) const {
    const auto t = static_cast<float>(t_in);
    const auto max_t = static_cast<float>(log_.size() - 1);
    const float tc = std::clamp(t, 0.0f, max_t);
    const float lo = std::floor(tc);
    const float hi = std::ceil(tc);
    const float w = tc - lo;
    const float ls = (1.0f - w) * log_[static_cast<size_t>(lo)] + w * log_[static_cast<size_t>(hi)];
    return std::exp(ls);
}

double DiscreteSchedule::sigma_to_t(double sigma) const {
    const float ls = std::log(static_cast<float>(sigma));
    int64_t count = 0;
    for (float l : log_) {
        count += (ls - l >= 0.0f) ? 1 : 0;
    }
    const int64_t n = static_cast<int64_t>(log_.size());
    const int64_t lo = std::clamp<int64_t>(count - 1, 0, n - 2);
    const int64_t hi = lo + 1;
    const float low = log_[static_cast<size_t>(lo)];
    const float high = log_[static_cast<size_t>(hi)];
    const float w = std::clamp((low - ls) / (low - high), 0.0f, 1.0f);
    return (1.0f - w) * static_cast<float>(lo) + w * static_cast<float>(hi);
}

int64_t DiscreteSchedule::sigma_to_t_quantized(double sigma) const {
    const float ls = std::log(static_cast<float>(sigma));
    int64_t best = 0;
    float best_d = std::abs(ls - log_[0]);
    for (size_t i = 1; i < log_.size(); ++i) {
        const float d = std::abs(ls - log_[i]);
        if (d < best_d) {
            best_d = d;
            best = static_cast<int64_t>(i);
        }
    }
    return best;
}

ScheduleKind parse_schedule(std::string_view name) {
    const std::string n = lower_alnum(name);
    if (n.empty() || n == "automatic" || n == "normal" || n == "uniform" || n == "discrete" ||
        n == "default") {
        return ScheduleKind::automatic;
    }
    if (n == "karras") {
        return ScheduleKind::karras;
    }
    if (n == "exponential") {
        return ScheduleKind::exponential;
    }
    if (n == "sgmuniform") {
        return ScheduleKind::sgm_uniform;
    }
    if (n == "simple") {
        return ScheduleKind::simple;
    }
    throw Error("unknown schedule '" + std::string(name) +
                "'; known: Automatic (normal), Karras, Exponential, SGM Uniform, Simple");
}

std::string schedule_name(ScheduleKind kind) {
    switch (kind) {
        case ScheduleKind::automatic:
            return "Automatic";
        case ScheduleKind::karras:
            return "Karras";
        case ScheduleKind::exponential:
            return "Exponential";
        case ScheduleKind::sgm_uniform:
            return "SGM Uniform";
        case ScheduleKind::simple:
            return "Simple";
    }
    return "Automatic";
}

std::vector<double> discrete_sigmas(const DiscreteSchedule& s, int steps) {
    auto t = torch::linspace(static_cast<double>(s.size() - 1), 0.0, steps, torch::kFloat32);
    std::vector<double> out;
    for (double ti : to_vector(t)) {
        out.push_back(s.t_to_sigma(ti));
    }
    return append_zero(std::move(out));
}

std::vector<double> karras_sigmas(int steps, double sigma_min, double sigma_max, double rho) {
    auto ramp = torch::linspace(0.0, 1.0, steps, torch::kFloat32);
    const double min_inv_rho = std::pow(sigma_min, 1.0 / rho);
    const double max_inv_rho = std::pow(sigma_max, 1.0 / rho);
    auto sig = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)).pow(rho);
    return append_zero(to_vector(sig));
}

std::vector<double> exponential_sigmas(int steps, double sigma_min, double sigma_max) {
    auto sig = torch::linspace(std::log(sigma_max), std::log(sigma_min), steps, torch::kFloat32).exp();
    return append_zero(to_vector(sig));
}

std::vector<double> sgm_uniform_sigmas(const DiscreteSchedule& s, int steps) {
    const double start = s.sigma_to_t(s.sigma_max());
    const double end = s.sigma_to_t(s.sigma_min());
    auto ts = to_vector(torch::linspace(start, end, steps + 1, torch::kFloat32));
    std::vector<double> out;
    for (int i = 0; i < steps; ++i) {
        out.push_back(s.t_to_sigma(ts[static_cast<size_t>(i)]));
    }
    return append_zero(std::move(out));
}

std::vector<double> simple_sigmas(const DiscreteSchedule& s, int steps) {
    const double ss = static_cast<double>(s.size()) / steps;
    const auto table = to_vector(s.sigmas());
    std::vector<double> out;
    for (int x = 0; x < steps; ++x) {
        const auto idx = static_cast<int64_t>(x * ss);
        out.push_back(table[static_cast<size_t>(s.size() - 1 - idx)]);
    }
    return append_zero(std::move(out));
}

std::vector<double> make_sigmas(ScheduleKind kind, const DiscreteSchedule& s, int steps) {
    if (steps < 1) {
        throw Error("steps must be at least 1, got " + std::to_string(steps));
    }
    switch (kind) {
        case ScheduleKind::automatic:
            return discrete_sigmas(s, steps);
        case ScheduleKind::karras:
            return karras_sigmas(steps, s.sigma_min(), s.sigma_max());
        case ScheduleKind::exponential:
            return exponential_sigmas(steps, s.sigma_min(), s.sigma_max());
        case ScheduleKind::sgm_uniform:
            return sgm_uniform_sigmas(s, steps);
        case ScheduleKind::simple:
            return simple_sigmas(s, steps);
    }
    return discrete_sigmas(s, steps);
}

DdimSchedule make_ddim_schedule(const DiscreteSchedule& s, int steps, double eta) {
    if (steps < 1 || steps > s.size()) {
        throw Error("DDIM: steps must be in [1, " + std::to_string(s.size()) + "], got " +
                    std::to_string(steps));
    }
    DdimSchedule d;
    const int64_t c = s.size() / steps;
    for (int64_t t = 0; t < s.size(); t += c) {
        d.timesteps.push_back(t + 1);
    }
    for (size_t i = 0; i < d.timesteps.size(); ++i) {
        const double a = s.alpha_cumprod(d.timesteps[i]);
        const double a_prev = i == 0 ? s.alpha_cumprod(0) : s.alpha_cumprod(d.timesteps[i - 1]);
        const double sig = eta * std::sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev));
        d.alphas.push_back(a);
        d.alphas_prev.push_back(a_prev);
        d.sigmas.push_back(static_cast<float>(sig));
    }
    return d;
}

double sd3_sigma(double timestep, double shift) {
    const float t = static_cast<float>(timestep) / 1000.0f;
    if (shift == 1.0) {
        return t;
    }
    const auto sh = static_cast<float>(shift);
    return sh * t / (1.0f + (sh - 1.0f) * t);
}

std::vector<double> sd3_sigma_table(double shift) {
    std::vector<double> out;
    for (int i = 1; i <= 1000; ++i) {
        out.push_back(sd3_sigma(i, shift));
    }
    return out;
}

std::vector<double> sd3_sigmas(int steps, double shift) {
    const double sigma_min = sd3_sigma(1, shift);
    const double sigma_max = sd3_sigma(1000, shift);
    const float start = static_cast<float>(sigma_max) * 1000.0f;
    const float end = static_cast<float>(sigma_min) * 1000.0f;
    std::vector<double> out;
    for (double ts : to_vector(torch::linspace(start, end, steps, torch::kFloat32))) {
        out.push_back(sd3_sigma(ts, shift));
    }
    return append_zero(std::move(out));
}

std::vector<double> flux_schedule(int steps, int64_t image_seq_len, bool shift, double base_shift,
                                  double max_shift) {
    auto t = torch::linspace(1.0, 0.0, steps + 1, torch::kFloat32);
    if (shift) {
        const double m = (max_shift - base_shift) / (4096.0 - 256.0);
        const double b = base_shift - m * 256.0;
        const double mu = m * static_cast<double>(image_seq_len) + b;
        const double emu = std::exp(mu);
        // Python's scalar / tensor is reciprocal() * scalar; keep that rounding.
        t = (emu + (t.reciprocal() - 1.0).pow(1.0)).reciprocal() * emu;
    }
    return to_vector(t);
}

int64_t flux_seq_len(int64_t width, int64_t height) {
    return (height / 16) * (width / 16);
}

std::vector<double> img2img_sigmas(std::span<const double> full, double strength) {
    const int steps = static_cast<int>(full.size()) - 1;
    const int t_enc = static_cast<int>(std::min(strength, 0.999) * steps);
    const int start = std::clamp(steps - t_enc - 1, 0, steps);
    return std::vector<double>(full.begin() + start, full.end());
}

std::vector<double> sd3_img2img_sigmas(std::span<const double> full, double denoise) {
    const int steps = static_cast<int>(full.size()) - 1;
    const int skip = std::clamp(static_cast<int>(steps * (1.0 - denoise)), 0, steps);
    return std::vector<double>(full.begin() + skip, full.end());
}

torch::Tensor to_tensor(std::span<const double> values) {
    auto t = torch::empty({static_cast<int64_t>(values.size())}, torch::kFloat32);
    float* p = t.data_ptr<float>();
    for (size_t i = 0; i < values.size(); ++i) {
        p[i] = static_cast<float>(values[i]);
    }
    return t;
}

}  // namespace sf::sampling
