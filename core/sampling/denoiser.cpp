// Mirrors k-diffusion external.py (eps / v wrappers), A1111 CFGDenoiser, sd3_impls.py CFGDenoiser and
// CompVis ddim.py p_sample_ddim (guidance on the raw output).
#include "core/sampling/denoiser.h"

#include <cmath>

#include "core/error.h"

namespace sf::sampling {

namespace {

torch::Tensor identity(const torch::Tensor& raw, const torch::Tensor&) {
    return raw;
}

}  // namespace

Denoiser::Denoiser(ModelFn model, DenoiserConfig config, std::shared_ptr<const DiscreteSchedule> schedule)
    : model_(std::move(model)), config_(std::move(config)), schedule_(std::move(schedule)) {
    if (!model_) {
        throw Error("Denoiser: no model function");
    }
    if (config_.cfg_scales.empty()) {
        config_.cfg_scales = {1.0};
    }
    if (config_.prediction != Prediction::flow && !schedule_) {
        throw Error("Denoiser: eps / v prediction needs a discrete schedule");
    }
    for (double s : config_.cfg_scales) {
        cond_only_ = cond_only_ && s == 1.0;
        uniform_scale_ = uniform_scale_ && s == config_.cfg_scales.front();
    }
}

const DiscreteSchedule& Denoiser::schedule() const {
    if (!schedule_) {
        throw Error("this model has no discrete schedule (flow prediction)");
    }
    return *schedule_;
}

torch::Tensor Denoiser::combine(const torch::Tensor& uncond, const torch::Tensor& cond) const {
    if (uniform_scale_) {
        return uncond + (cond - uncond) * config_.cfg_scales.front();
    }
    const int64_t b = cond.size(0);
    if (static_cast<int64_t>(config_.cfg_scales.size()) != b) {
        throw Error("CFG: " + std::to_string(config_.cfg_scales.size()) + " scales for a batch of " +
                    std::to_string(b));
    }
    std::vector<int64_t> shape(static_cast<size_t>(cond.dim()), 1);
    shape[0] = b;
    auto scale = torch::tensor(std::vector<float>(config_.cfg_scales.begin(), config_.cfg_scales.end()))
                     .to(cond.device(), cond.scalar_type())
                     .view(shape);  // [B, 1, 1, 1]
    return uncond + (cond - uncond) * scale;
}

torch::Tensor Denoiser::guided(const torch::Tensor& x, const torch::Tensor& x_in, double t,
                               const ToOut& to_out) const {
    const int64_t b = x_in.size(0);
    auto t_opts = torch::TensorOptions().dtype(torch::kFloat32).device(x_in.device());
    if (cond_only_) {
        auto raw = model_(x_in, torch::full({b}, t, t_opts), Batch::cond);
        return to_out(raw, x);
    }
    // [2B, C, H, W]: uncond rows, then cond rows
    auto raw = model_(torch::cat({x_in, x_in}), torch::full({2 * b}, t, t_opts), Batch::uncond_cond);
    auto out = to_out(raw, torch::cat({x, x}));
    auto halves = out.chunk(2);
    return combine(halves[0], halves[1]);
}

torch::Tensor Denoiser::operator()(const torch::Tensor& x, double sigma) const {
    switch (config_.prediction) {
        case Prediction::eps: {
            const double c_in = 1.0 / std::sqrt(sigma * sigma + 1.0);
            const double t = schedule_->sigma_to_t(sigma);
            // denoised = x + eps * (-sigma) on each half, then CFG on D.
            return guided(x, x * c_in, t, [&](const torch::Tensor& eps, const torch::Tensor& xx) {
                return xx + eps * (-sigma);
            });
        }
        case Prediction::v: {
            const double s2 = sigma * sigma + 1.0;
            const double c_in = 1.0 / std::sqrt(s2);
            const double c_skip = 1.0 / s2;
            const double c_out = -sigma / std::sqrt(s2);
            const double t = schedule_->sigma_to_t(sigma);
            return guided(x, x * c_in, t, [&](const torch::Tensor& v, const torch::Tensor& xx) {
                return v * c_out + xx * c_skip;
            });
        }
        case Prediction::flow: {
            const double t = sigma * config_.flow_timestep_scale;
            if (config_.guide_velocity) {
                return x - guided(x, x, t, identity) * sigma;
            }
            return guided(x, x, t,
                          [&](const torch::Tensor& v, const torch::Tensor& xx) { return xx - v * sigma; });
        }
    }
    throw Error("Denoiser: unknown prediction");
}

torch::Tensor Denoiser::eps_vp(const torch::Tensor& x, double t) const {
    switch (config_.prediction) {
        case Prediction::eps:
            return guided(x, x, t, identity);
        case Prediction::v: {
            // CompVis (SD2): CFG on v, then e_t = sqrt(a_t) * v + sqrt(1 - a_t) * x.
            auto v = guided(x, x, t, identity);
            const double a = schedule_->alpha_cumprod(static_cast<int64_t>(std::llround(t)));
            return v * std::sqrt(a) + x * std::sqrt(1.0 - a);
        }
        case Prediction::flow:
            break;
    }
    throw Error("DDIM / PLMS need an eps or v model; this model predicts a flow velocity");
}

torch::Tensor Denoiser::velocity(const torch::Tensor& x, double t) const {
    if (config_.prediction != Prediction::flow) {
        throw Error("velocity: this model does not predict a flow velocity");
    }
    return guided(x, x, t * config_.flow_timestep_scale, identity);
}

}  // namespace sf::sampling
