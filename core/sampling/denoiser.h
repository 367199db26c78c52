// D(x, sigma) from an eps-, v- or flow-prediction network with classifier-free guidance in one batched pass.
// Mirrors k-diffusion external.py (DiscreteEpsDDPMDenoiser / DiscreteVDDPMDenoiser), A1111 CFGDenoiser,
// sd3_impls.py (ModelSamplingDiscreteFlow + CFGDenoiser) and the CompVis DDIM guidance on e_t.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "core/sampling/schedule.h"

namespace sf::sampling {

/// What the network predicts.
enum class Prediction { eps, v, flow };

/// Which conditioning rows the network must use for a call.
enum class Batch {
    cond,         ///< batch B: the positive conditioning only (CFG scale 1)
    uncond_cond,  ///< batch 2B: rows [0, B) negative, rows [B, 2B) positive
};

/// The raw network call: scaled input x_in [B or 2B, C, H, W], timestep t [B or 2B] float32 (fractional
/// DDPM timestep for eps/v, sigma * flow_timestep_scale for flow) → raw prediction shaped like x_in.
using ModelFn = std::function<torch::Tensor(const torch::Tensor& x_in, const torch::Tensor& t, Batch batch)>;

struct DenoiserConfig {
    Prediction prediction = Prediction::eps;
    std::vector<double> cfg_scales{1.0};  ///< one scale for the batch, or one per batch element
    bool guide_velocity = false;          ///< flow: CFG on the velocity (FLUX) instead of on D (SD3)
    double flow_timestep_scale = 1000.0;  ///< flow: the network gets t = sigma * this (SD3 1000, FLUX 1)
};

/// The CFG-guided denoiser every sampler calls. eps / v models need the discrete schedule (sigma ↔ t).
class Denoiser {
public:
    Denoiser(ModelFn model, DenoiserConfig config,
             std::shared_ptr<const DiscreteSchedule> schedule = nullptr);

    /// D(x, sigma) in k-diffusion (VE) space: x [B, C, H, W] → denoised [B, C, H, W], CFG on D
    /// (on the velocity first when guide_velocity).
    torch::Tensor operator()(const torch::Tensor& x, double sigma) const;
    /// CompVis: the CFG-combined eps at DDPM timestep t for the VP latent x (v converted to eps).
    torch::Tensor eps_vp(const torch::Tensor& x, double t) const;
    /// Flow: the CFG-combined velocity at t (the FLUX loop), CFG on the velocity.
    torch::Tensor velocity(const torch::Tensor& x, double t) const;

    Prediction prediction() const { return config_.prediction; }
    const DenoiserConfig& config() const { return config_; }
    bool has_schedule() const { return schedule_ != nullptr; }
    /// The discrete schedule; throws sf::Error when this denoiser has none (flow models).
    const DiscreteSchedule& schedule() const;
    /// True when every scale is 1: one cond-only pass per call.
    bool cond_only() const { return cond_only_; }

private:
    using ToOut = std::function<torch::Tensor(const torch::Tensor& raw, const torch::Tensor& x)>;
    /// One network evaluation on x_in (the scaled x) at timestep t; `to_out(raw, x)` maps each row to the
    /// quantity CFG combines, on the whole (B or 2B) batch, before the halves are combined.
    torch::Tensor guided(const torch::Tensor& x, const torch::Tensor& x_in, double t,
                         const ToOut& to_out) const;
    torch::Tensor combine(const torch::Tensor& uncond, const torch::Tensor& cond) const;

    ModelFn model_;
    DenoiserConfig config_;
    std::shared_ptr<const DiscreteSchedule> schedule_;
    bool cond_only_ = true;
    bool uniform_scale_ = true;
};

}  // namespace sf::sampling
