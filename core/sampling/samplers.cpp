// Mirrors k-diffusion sampling.py (sample_*), CompVis ldm/models/diffusion/ddim.py and plms.py, ComfyUI
// k_diffusion/sampling.py (sample_ddpm, sample_lcm), sd3_impls.py (sample_euler, sample_dpmpp_2m) and
// flux/sampling.py (denoise). Per-step scalars are computed in double; tensor math stays in x's dtype.
#include "core/sampling/samplers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <deque>

#include "core/error.h"

namespace sf::sampling {

namespace {

int num_steps(std::span<const double> sigmas) {
    if (sigmas.size() < 2) {
        throw Error("sampler: need at least two sigmas (one step), got " + std::to_string(sigmas.size()));
    }
    return static_cast<int>(sigmas.size()) - 1;
}

void report(const StepFn& on_step, int i, int n, const torch::Tensor& x, const torch::Tensor& denoised) {
    if (on_step) {
        on_step(i, n, x, denoised);
    }
}

torch::Tensor to_d(const torch::Tensor& x, double sigma, const torch::Tensor& denoised) {
    return (x - denoised) / sigma;
}

struct AncestralStep {
    double down;
    double up;
};

/// k-diffusion get_ancestral_step: split sigma_from → sigma_to into a deterministic part and added noise.
AncestralStep ancestral_step(double from, double to, double eta) {
    if (eta == 0.0) {
        return {to, 0.0};
    }
    const double up = std::min(to, eta * std::sqrt(to * to * (from * from - to * to) / (from * from)));
    return {std::sqrt(to * to - up * up), up};
}

/// Integral over [t[i], t[i+1]] of the Lagrange basis j on t[i], t[i-1], ..., t[i-order+1] (exact: the basis
/// has degree <= 3 and 3-point Gauss-Legendre is exact up to degree 5).
double lms_coeff(int order, std::span<const double> t, int i, int j) {
    auto basis = [&](double tau) {
        double prod = 1.0;
        for (int k = 0; k < order; ++k) {
            if (k != j) {
                prod *= (tau - t[static_cast<size_t>(i - k)]) /
                        (t[static_cast<size_t>(i - j)] - t[static_cast<size_t>(i - k)]);
            }
        }
        return prod;
    };
    const double a = t[static_cast<size_t>(i)];
    const double b = t[static_cast<size_t>(i + 1)];
    const double mid = 0.5 * (a + b);
    const double half = 0.5 * (b - a);
    const double g = std::sqrt(3.0 / 5.0);
    return half *
           (5.0 / 9.0 * basis(mid - half * g) + 8.0 / 9.0 * basis(mid) + 5.0 / 9.0 * basis(mid + half * g));
}

}  // namespace

torch::Tensor sample_euler(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                           const StepFn& on_step) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        auto denoised = model(x, s);
        x = x + to_d(x, s, denoised) * (sigmas[i + 1] - s);
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_euler_ancestral(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                     NoiseSource& noise, const StepFn& on_step, double eta) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        const auto [down, up] = ancestral_step(s, s_next, eta);
        x = x + to_d(x, s, denoised) * (down - s);
        if (s_next > 0) {
            x = x + noise.next(x, s, s_next) * up;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_heun(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                          const StepFn& on_step) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        auto d = to_d(x, s, denoised);
        const double dt = s_next - s;
        if (s_next == 0) {
            x = x + d * dt;
        } else {
            auto x2 = x + d * dt;
            auto d2 = to_d(x2, s_next, model(x2, s_next));
            x = x + (d + d2) / 2 * dt;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpm_2(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                           const StepFn& on_step) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        auto d = to_d(x, s, denoised);
        if (s_next == 0) {
            x = x + d * (s_next - s);
        } else {
            const double s_mid = std::exp(0.5 * (std::log(s) + std::log(s_next)));
            auto x2 = x + d * (s_mid - s);
            auto d2 = to_d(x2, s_mid, model(x2, s_mid));
            x = x + d2 * (s_next - s);
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpm_2_ancestral(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                     NoiseSource& noise, const StepFn& on_step, double eta) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        const auto [down, up] = ancestral_step(s, s_next, eta);
        auto d = to_d(x, s, denoised);
        if (down == 0) {
            x = x + d * (down - s);
        } else {
            const double s_mid = std::exp(0.5 * (std::log(s) + std::log(down)));
            auto x2 = x + d * (s_mid - s);
            auto d2 = to_d(x2, s_mid, model(x2, s_mid));
            x = x + d2 * (down - s);
            x = x + noise.next(x, s, s_next) * up;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_lms(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                         const StepFn& on_step, int order) {
    const int n = num_steps(sigmas);
    std::deque<torch::Tensor> ds;
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        auto denoised = model(x, s);
        ds.push_back(to_d(x, s, denoised));
        if (static_cast<int>(ds.size()) > order) {
            ds.pop_front();
        }
        const int cur = std::min(i + 1, order);
        torch::Tensor acc;
        for (int j = 0; j < cur; ++j) {
            auto term = ds[ds.size() - 1 - static_cast<size_t>(j)] * lms_coeff(cur, sigmas, i, j);
            acc = j == 0 ? term : acc + term;
        }
        x = x + acc;
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpmpp_2s_ancestral(const Denoiser& model, torch::Tensor x,
                                        std::span<const double> sigmas, NoiseSource& noise,
                                        const StepFn& on_step, double eta) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        const auto [down, up] = ancestral_step(s, s_next, eta);
        if (down == 0) {
            x = x + to_d(x, s, denoised) * (down - s);
        } else {
            const double t = -std::log(s);
            const double t_next = -std::log(down);
            const double h = t_next - t;
            const double s_mid = std::exp(-(t + 0.5 * h));
            auto x2 = x * (s_mid / s) - denoised * std::expm1(-0.5 * h);
            auto denoised2 = model(x2, s_mid);
            x = x * (down / s) - denoised2 * std::expm1(-h);
        }
        if (s_next > 0) {
            x = x + noise.next(x, s, s_next) * up;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpmpp_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                               NoiseSource& noise, const StepFn& on_step, double eta, double r) {
    const int n = num_steps(sigmas);
    auto sigma_fn = [](double t) { return std::exp(-t); };
    auto t_fn = [](double sigma) { return -std::log(sigma); };
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        if (s_next == 0) {
            x = x + to_d(x, s, denoised) * (s_next - s);
        } else {
            const double t = t_fn(s);
            const double t_next = t_fn(s_next);
            const double h = t_next - t;
            const double s_t = t + h * r;
            const double fac = 1 / (2 * r);
            // Step 1: ancestral half step to sigma_fn(s_t).
            auto [sd, su] = ancestral_step(sigma_fn(t), sigma_fn(s_t), eta);
            const double s1 = t_fn(sd);
            auto x2 = x * (sigma_fn(s1) / sigma_fn(t)) - denoised * std::expm1(t - s1);
            x2 = x2 + noise.next(x, sigma_fn(t), sigma_fn(s_t)) * su;
            auto denoised2 = model(x2, sigma_fn(s_t));
            // Step 2: full step with the blended denoised.
            auto [sd2, su2] = ancestral_step(sigma_fn(t), sigma_fn(t_next), eta);
            const double t2 = t_fn(sd2);
            auto denoised_d = denoised * (1 - fac) + denoised2 * fac;
            x = x * (sigma_fn(t2) / sigma_fn(t)) - denoised_d * std::expm1(t - t2);
            x = x + noise.next(x, sigma_fn(t), sigma_fn(t_next)) * su2;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpmpp_2m(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                              const StepFn& on_step) {
    const int n = num_steps(sigmas);
    torch::Tensor old_denoised;
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        if (s_next == 0) {
            x = denoised;  // sigma_fn(inf)/sigma = 0, -expm1(-inf) = 1
        } else {
            const double h = std::log(s) - std::log(s_next);
            if (!old_denoised.defined()) {
                x = x * (s_next / s) - denoised * std::expm1(-h);
            } else {
                const double h_last = std::log(sigmas[i - 1]) - std::log(s);
                const double r = h_last / h;
                auto denoised_d = denoised * (1 + 1 / (2 * r)) - old_denoised * (1 / (2 * r));
                x = x * (s_next / s) - denoised_d * std::expm1(-h);
            }
        }
        old_denoised = denoised;
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpmpp_2m_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                  NoiseSource& noise, const StepFn& on_step, double eta) {
    const int n = num_steps(sigmas);
    torch::Tensor old_denoised;
    double h_last = 0;
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        double h = h_last;
        if (s_next == 0) {
            x = denoised;
        } else {
            h = std::log(s) - std::log(s_next);
            const double eta_h = eta * h;
            x = x * (s_next / s * std::exp(-eta_h)) + denoised * (-std::expm1(-h - eta_h));
            if (old_denoised.defined()) {
                const double r = h_last / h;
                x = x + (denoised - old_denoised) * (0.5 * -std::expm1(-h - eta_h) * (1 / r));  // midpoint
            }
            if (eta != 0) {
                x = x + noise.next(x, s, s_next) * s_next * std::sqrt(-std::expm1(-2 * eta_h));
            }
        }
        old_denoised = denoised;
        h_last = h;
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_dpmpp_3m_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                  NoiseSource& noise, const StepFn& on_step, double eta) {
    const int n = num_steps(sigmas);
    torch::Tensor denoised_1, denoised_2;
    double h = 0, h_1 = 0, h_2 = 0;
    bool has_h1 = false, has_h2 = false;
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        if (s_next == 0) {
            x = denoised;
        } else {
            h = std::log(s) - std::log(s_next);
            const double h_eta = h * (eta + 1);
            x = x * std::exp(-h_eta) + denoised * (-std::expm1(-h_eta));
            if (has_h2) {
                const double r0 = h_1 / h;
                const double r1 = h_2 / h;
                auto d1_0 = (denoised - denoised_1) / r0;
                auto d1_1 = (denoised_1 - denoised_2) / r1;
                auto d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1);
                auto d2 = (d1_0 - d1_1) / (r0 + r1);
                const double phi_2 = std::expm1(-h_eta) / h_eta + 1;
                const double phi_3 = phi_2 / h_eta - 0.5;
                x = x + d1 * phi_2 - d2 * phi_3;
            } else if (has_h1) {
                const double r = h_1 / h;
                auto d = (denoised - denoised_1) / r;
                const double phi_2 = std::expm1(-h_eta) / h_eta + 1;
                x = x + d * phi_2;
            }
            if (eta != 0) {
                x = x + noise.next(x, s, s_next) * s_next * std::sqrt(-std::expm1(-2 * h * eta));
            }
        }
        denoised_2 = denoised_1;
        denoised_1 = denoised;
        h_2 = h_1;
        has_h2 = has_h1;
        h_1 = h;
        has_h1 = true;
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_ddpm(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                          NoiseSource& noise, const StepFn& on_step) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        auto eps = to_d(x, s, denoised);
        auto x_vp = x / std::sqrt(1.0 + s * s);
        const double ac = 1.0 / (s * s + 1.0);
        const double ac_prev = 1.0 / (s_next * s_next + 1.0);
        const double alpha = ac / ac_prev;
        auto mu = (x_vp - eps * ((1 - alpha) / std::sqrt(1 - ac))) * std::sqrt(1.0 / alpha);
        if (s_next > 0) {
            mu = mu + noise.next(x, s, s_next) * std::sqrt((1 - alpha) * (1 - ac_prev) / (1 - ac));
            x = mu * std::sqrt(1.0 + s_next * s_next);
        } else {
            x = mu;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

torch::Tensor sample_lcm(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                         NoiseSource& noise, const StepFn& on_step) {
    const int n = num_steps(sigmas);
    for (int i = 0; i < n; ++i) {
        const double s = sigmas[i];
        const double s_next = sigmas[i + 1];
        auto denoised = model(x, s);
        x = denoised;
        if (s_next > 0) {
            auto nz = noise.next(x, s, s_next);
            x = model.prediction() == Prediction::flow ? nz * s_next + x * (1 - s_next) : x + nz * s_next;
        }
        report(on_step, i, n, x, denoised);
    }
    return x;
}

namespace {

int ddim_count(const DdimSchedule& ddim, int t_start) {
    const int all = static_cast<int>(ddim.timesteps.size());
    const int count = t_start < 0 ? all : std::min(t_start, all);
    if (count < 1) {
        throw Error("DDIM: nothing to sample (t_start " + std::to_string(t_start) + ")");
    }
    return count;
}

struct DdimUpdate {
    torch::Tensor x_prev;
    torch::Tensor pred_x0;
};

/// CompVis get_x_prev_and_pred_x0 with float32 per-step scalars.
DdimUpdate ddim_update(const torch::Tensor& x, const torch::Tensor& e_t, const DdimSchedule& ddim, int index,
                       NoiseSource* noise) {
    const auto a_t = static_cast<float>(ddim.alphas[static_cast<size_t>(index)]);
    const auto a_prev = static_cast<float>(ddim.alphas_prev[static_cast<size_t>(index)]);
    const auto sigma_t = static_cast<float>(ddim.sigmas[static_cast<size_t>(index)]);
    const float sqrt_one_minus_at = std::sqrt(1.0f - a_t);
    auto pred_x0 = (x - e_t * sqrt_one_minus_at) / std::sqrt(a_t);
    auto dir_xt = e_t * std::sqrt(1.0f - a_prev - sigma_t * sigma_t);
    auto x_prev = pred_x0 * std::sqrt(a_prev) + dir_xt;
    if (sigma_t != 0.0f && noise) {
        x_prev = x_prev + noise->next(x, sigma_t, 0.0) * sigma_t;
    }
    return {x_prev, pred_x0};
}

}  // namespace

torch::Tensor sample_ddim(const Denoiser& model, torch::Tensor x, const DdimSchedule& ddim,
                          NoiseSource& noise, const StepFn& on_step, int t_start) {
    const int n = ddim_count(ddim, t_start);
    for (int i = 0; i < n; ++i) {
        const int index = n - 1 - i;
        auto e_t = model.eps_vp(x, static_cast<double>(ddim.timesteps[static_cast<size_t>(index)]));
        auto up = ddim_update(x, e_t, ddim, index, &noise);
        x = up.x_prev;
        report(on_step, i, n, x, up.pred_x0);
    }
    return x;
}

torch::Tensor sample_plms(const Denoiser& model, torch::Tensor x, const DdimSchedule& ddim,
                          const StepFn& on_step, int t_start) {
    const int n = ddim_count(ddim, t_start);
    for (double s : ddim.sigmas) {
        if (s != 0) {
            throw Error("PLMS needs eta 0");
        }
    }
    std::deque<torch::Tensor> old_eps;
    for (int i = 0; i < n; ++i) {
        const int index = n - 1 - i;
        const auto ts = static_cast<double>(ddim.timesteps[static_cast<size_t>(index)]);
        const auto ts_next = static_cast<double>(ddim.timesteps[static_cast<size_t>(std::max(index - 1, 0))]);
        auto e_t = model.eps_vp(x, ts);
        torch::Tensor e_prime;
        const size_t k = old_eps.size();
        if (k == 0) {
            auto first = ddim_update(x, e_t, ddim, index, nullptr);
            auto e_next = model.eps_vp(first.x_prev, ts_next);
            e_prime = (e_t + e_next) / 2;
        } else if (k == 1) {
            e_prime = (e_t * 3 - old_eps[k - 1]) / 2;
        } else if (k == 2) {
            e_prime = (e_t * 23 - old_eps[k - 1] * 16 + old_eps[k - 2] * 5) / 12;
        } else {
            e_prime = (e_t * 55 - old_eps[k - 1] * 59 + old_eps[k - 2] * 37 - old_eps[k - 3] * 9) / 24;
        }
        auto up = ddim_update(x, e_prime, ddim, index, nullptr);
        x = up.x_prev;
        old_eps.push_back(e_t);
        if (old_eps.size() >= 4) {
            old_eps.pop_front();
        }
        report(on_step, i, n, x, up.pred_x0);
    }
    return x;
}

torch::Tensor ddim_encode(const torch::Tensor& init, const torch::Tensor& noise, const DdimSchedule& ddim,
                          int t_enc) {
    if (t_enc < 0 || t_enc >= static_cast<int>(ddim.alphas.size())) {
        throw Error("DDIM encode: t_enc " + std::to_string(t_enc) + " out of range");
    }
    const auto a = static_cast<float>(ddim.alphas[static_cast<size_t>(t_enc)]);
    return init * std::sqrt(a) + noise * std::sqrt(1.0f - a);
}

torch::Tensor sample_flux_euler(const Denoiser& model, torch::Tensor x, std::span<const double> timesteps,
                                const StepFn& on_step) {
    const int n = num_steps(timesteps);
    for (int i = 0; i < n; ++i) {
        const double t = timesteps[i];
        auto v = model.velocity(x, t);
        auto denoised = x - v * t;
        x = x + v * (timesteps[i + 1] - t);
        report(on_step, i, n, x, denoised);
    }
    return x;
}

namespace {

std::string normalize_name(std::string_view name) {
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == '+') {
            out.push_back('p');
        } else if (std::isalnum(c)) {
            out.push_back(static_cast<char>(std::tolower(c)));
        }
    }
    return out;
}

SamplerFn plain(torch::Tensor (*fn)(const Denoiser&, torch::Tensor, std::span<const double>, const StepFn&)) {
    return [fn](const Denoiser& m, torch::Tensor x, std::span<const double> s, NoiseSource&,
                const StepFn& cb) { return fn(m, std::move(x), s, cb); };
}

template <typename F>
SamplerFn noisy(F fn) {
    return [fn](const Denoiser& m, torch::Tensor x, std::span<const double> s, NoiseSource& nz,
                const StepFn& cb) { return fn(m, std::move(x), s, nz, cb); };
}

std::vector<SamplerInfo> build_registry() {
    using K = SamplerKind;
    std::vector<SamplerInfo> r;
    r.push_back({"DPM++ 2M", "dpmpp_2m", K::kdiffusion, false, plain(&sample_dpmpp_2m)});
    r.push_back({"DPM++ SDE", "dpmpp_sde", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_dpmpp_sde(m, x, s, nz, cb);
                 })});
    r.push_back({"DPM++ 2M SDE", "dpmpp_2m_sde", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_dpmpp_2m_sde(m, x, s, nz, cb);
                 })});
    r.push_back({"DPM++ 3M SDE", "dpmpp_3m_sde", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_dpmpp_3m_sde(m, x, s, nz, cb);
                 })});
    r.push_back({"DPM++ 2S a", "dpmpp_2s_ancestral", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_dpmpp_2s_ancestral(m, x, s, nz, cb);
                 })});
    r.push_back({"Euler a", "euler_ancestral", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_euler_ancestral(m, x, s, nz, cb);
                 })});
    r.push_back({"Euler", "euler", K::kdiffusion, false, plain(&sample_euler)});
    r.push_back({"LMS", "lms", K::kdiffusion, false,
                 [](const Denoiser& m, torch::Tensor x, std::span<const double> s, NoiseSource&,
                    const StepFn& cb) { return sample_lms(m, std::move(x), s, cb); }});
    r.push_back({"Heun", "heun", K::kdiffusion, false, plain(&sample_heun)});
    r.push_back({"DPM2", "dpm_2", K::kdiffusion, false, plain(&sample_dpm_2)});
    r.push_back({"DPM2 a", "dpm_2_ancestral", K::kdiffusion, true,
                 noisy([](auto& m, auto x, auto s, auto& nz, auto& cb) {
                     return sample_dpm_2_ancestral(m, x, s, nz, cb);
                 })});
    r.push_back({"LCM", "lcm", K::kdiffusion, true, noisy(&sample_lcm)});
    r.push_back({"DDPM", "ddpm", K::kdiffusion, true, noisy(&sample_ddpm)});
    r.push_back({"DDIM", "ddim", K::compvis, true, nullptr});
    r.push_back({"PLMS", "plms", K::compvis, false, nullptr});
    return r;
}

const SamplerInfo* match_sampler(const std::string& norm) {
    for (const auto& s : samplers()) {
        if (norm == normalize_name(s.name) || norm == normalize_name(s.key)) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace

const std::vector<SamplerInfo>& samplers() {
    static const std::vector<SamplerInfo> registry = build_registry();
    return registry;
}

SamplerChoice find_sampler(std::string_view name) {
    const std::string norm = normalize_name(name);
    if (const auto* s = match_sampler(norm)) {
        return {s, ScheduleKind::automatic, false};
    }
    static const std::array<std::pair<const char*, ScheduleKind>, 8> suffixes{{
        {"sgmuniform", ScheduleKind::sgm_uniform},
        {"exponential", ScheduleKind::exponential},
        {"automatic", ScheduleKind::automatic},
        {"discrete", ScheduleKind::automatic},
        {"karras", ScheduleKind::karras},
        {"simple", ScheduleKind::simple},
        {"normal", ScheduleKind::automatic},
        {"uniform", ScheduleKind::automatic},
    }};
    for (const auto& [suffix, kind] : suffixes) {
        const std::string suf(suffix);
        if (norm.size() > suf.size() && norm.ends_with(suf)) {
            if (const auto* s = match_sampler(norm.substr(0, norm.size() - suf.size()))) {
                return {s, kind, true};
            }
        }
    }
    std::string known;
    for (const auto& s : samplers()) {
        known += (known.empty() ? "" : ", ") + s.name;
    }
    throw Error("unknown sampler '" + std::string(name) + "'; known samplers: " + known +
                " (optionally followed by a schedule: Karras, Exponential, SGM Uniform, Simple)");
}

torch::Tensor sample(const Denoiser& model, const SampleOptions& options, const torch::Tensor& noise,
                     const torch::Tensor& init, NoiseSource& step_noise, const StepFn& on_step) {
    const SamplerChoice choice = find_sampler(options.sampler);
    const SamplerInfo& info = *choice.sampler;
    const ScheduleKind kind = options.schedule.empty() ? choice.schedule : parse_schedule(options.schedule);
    const bool img2img = init.defined() && options.strength < 1.0;
    if (options.strength < 0.0 || options.strength > 1.0) {
        throw Error("strength must be in [0, 1], got " + std::to_string(options.strength));
    }
    if (img2img && options.strength <= 0.0) {
        return init;
    }
    if (options.steps < 1) {
        throw Error("steps must be at least 1, got " + std::to_string(options.steps));
    }

    if (info.kind == SamplerKind::compvis) {
        const DdimSchedule ddim =
            make_ddim_schedule(model.schedule(), options.steps, info.key == "ddim" ? options.eta : 0.0);
        if (!img2img) {
            return info.key == "ddim" ? sample_ddim(model, noise, ddim, step_noise, on_step)
                                      : sample_plms(model, noise, ddim, on_step);
        }
        const int t_enc = static_cast<int>(options.strength * options.steps);
        if (t_enc < 1) {
            return init;
        }
        auto z = ddim_encode(init, noise, ddim, t_enc);
        return info.key == "ddim" ? sample_ddim(model, z, ddim, step_noise, on_step, t_enc)
                                  : sample_plms(model, z, ddim, on_step, t_enc);
    }

    if (model.prediction() == Prediction::flow) {
        if (info.stochastic) {
            throw Error(info.name +
                        " is not supported for flow models; use Euler, Heun, DPM2, LMS or DPM++ 2M");
        }
        std::vector<double> sigmas = options.flux_seq_len > 0
                                         ? flux_schedule(options.steps, options.flux_seq_len)
                                         : sd3_sigmas(options.steps, options.flow_shift);
        if (img2img) {
            sigmas = sd3_img2img_sigmas(sigmas, options.strength);
            if (sigmas.size() < 2) {
                return init;
            }
        }
        const double s0 = sigmas.front();
        auto x = img2img ? noise * s0 + init * (1.0 - s0) : noise * s0;
        if (options.flux_seq_len > 0 && info.key == "euler") {
            return sample_flux_euler(model, x, sigmas, on_step);
        }
        return info.fn(model, x, sigmas, step_noise, on_step);
    }

    std::vector<double> sigmas = make_sigmas(kind, model.schedule(), options.steps);
    if (img2img) {
        sigmas = img2img_sigmas(sigmas, options.strength);
        return info.fn(model, init + noise * sigmas.front(), sigmas, step_noise, on_step);
    }
    return info.fn(model, noise * sigmas.front(), sigmas, step_noise, on_step);
}

}  // namespace sf::sampling
