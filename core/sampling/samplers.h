// Sampling loops over a Denoiser (STYLE.md §2.12): each loop is one function with its history in locals, and
// any sigma schedule works with any loop. Mirrors k-diffusion sampling.py, CompVis ddim.py / plms.py,
// ComfyUI's DDPM / LCM steps, sd3_impls.py and flux/sampling.py (denoise).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/sampling/denoiser.h"
#include "core/sampling/noise.h"
#include "core/sampling/schedule.h"

namespace sf::sampling {

/// Called after step i of n with the new x and the step's denoised estimate (DDIM/PLMS: pred_x0). It may
/// throw sf::Cancelled to stop the loop.
using StepFn = std::function<void(int i, int n, const torch::Tensor& x, const torch::Tensor& denoised)>;

// k-diffusion loops: x [B, C, H, W] starts at sigmas[0]; sigmas descend and end with 0.
/// Euler (s_churn 0).
torch::Tensor sample_euler(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                           const StepFn& on_step);
/// Euler ancestral (eta 1).
torch::Tensor sample_euler_ancestral(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                     NoiseSource& noise, const StepFn& on_step, double eta = 1.0);
/// Heun (2nd order, Euler on the step to 0).
torch::Tensor sample_heun(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                          const StepFn& on_step);
/// DPM-Solver-2 (midpoint in log sigma).
torch::Tensor sample_dpm_2(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                           const StepFn& on_step);
/// DPM-Solver-2 ancestral.
torch::Tensor sample_dpm_2_ancestral(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                     NoiseSource& noise, const StepFn& on_step, double eta = 1.0);
/// Linear multistep (order 4, exact Lagrange integrals).
torch::Tensor sample_lms(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                         const StepFn& on_step, int order = 4);
/// DPM-Solver++(2S) ancestral.
torch::Tensor sample_dpmpp_2s_ancestral(const Denoiser& model, torch::Tensor x,
                                        std::span<const double> sigmas, NoiseSource& noise,
                                        const StepFn& on_step, double eta = 1.0);
/// DPM-Solver++ SDE (r 1/2); the noise source replaces k-diffusion's Brownian tree.
torch::Tensor sample_dpmpp_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                               NoiseSource& noise, const StepFn& on_step, double eta = 1.0, double r = 0.5);
/// DPM-Solver++(2M).
torch::Tensor sample_dpmpp_2m(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                              const StepFn& on_step);
/// DPM-Solver++(2M) SDE, midpoint solver.
torch::Tensor sample_dpmpp_2m_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                  NoiseSource& noise, const StepFn& on_step, double eta = 1.0);
/// DPM-Solver++(3M) SDE.
torch::Tensor sample_dpmpp_3m_sde(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                                  NoiseSource& noise, const StepFn& on_step, double eta = 1.0);
/// DDPM ancestral steps on a sigma schedule (ComfyUI "ddpm"; T-step DDPM with all table sigmas).
torch::Tensor sample_ddpm(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                          NoiseSource& noise, const StepFn& on_step);
/// Latent consistency: x = D, then renoised to the next sigma (ComfyUI "lcm").
torch::Tensor sample_lcm(const Denoiser& model, torch::Tensor x, std::span<const double> sigmas,
                         NoiseSource& noise, const StepFn& on_step);

// CompVis loops: x is the VP latent; they walk ddim.timesteps[:t_start] backwards (t_start < 0: all).
/// DDIM with the schedule's eta sigmas (noise drawn only when sigma_t > 0).
torch::Tensor sample_ddim(const Denoiser& model, torch::Tensor x, const DdimSchedule& ddim,
                          NoiseSource& noise, const StepFn& on_step, int t_start = -1);
/// PLMS (eta 0; two evaluations on the first step).
torch::Tensor sample_plms(const Denoiser& model, torch::Tensor x, const DdimSchedule& ddim,
                          const StepFn& on_step, int t_start = -1);
/// CompVis stochastic_encode: sqrt(a[t_enc]) * init + sqrt(1 - a[t_enc]) * noise with the DDIM alphas.
torch::Tensor ddim_encode(const torch::Tensor& init, const torch::Tensor& noise, const DdimSchedule& ddim,
                          int t_enc);

/// FLUX denoise loop: x += (t_{i+1} - t_i) * v(x, t_i), the velocity CFG-combined. Callback denoised = x -
/// t*v.
torch::Tensor sample_flux_euler(const Denoiser& model, torch::Tensor x, std::span<const double> timesteps,
                                const StepFn& on_step);

/// How a sampler walks the noise levels.
enum class SamplerKind {
    kdiffusion,  ///< sigma list, VE latents (x = x0 + sigma * n)
    compvis,     ///< DDIM integer timesteps, VP latents
};

/// A uniform entry point for the registry (deterministic loops ignore `noise`).
using SamplerFn =
    std::function<torch::Tensor(const Denoiser&, torch::Tensor x, std::span<const double> sigmas,
                                NoiseSource& noise, const StepFn& on_step)>;

/// One sampler under the names users know.
struct SamplerInfo {
    std::string name;  ///< A1111 display name ("DPM++ 2M")
    std::string key;   ///< k-diffusion / ComfyUI name ("dpmpp_2m")
    SamplerKind kind = SamplerKind::kdiffusion;
    bool stochastic = false;  ///< draws per-step noise
    SamplerFn fn;             ///< empty for compvis samplers (use sample_ddim / sample_plms)
};

/// Every sampler, in A1111's menu order.
const std::vector<SamplerInfo>& samplers();

/// A sampler name resolved to a sampler and a schedule.
struct SamplerChoice {
    const SamplerInfo* sampler = nullptr;
    ScheduleKind schedule = ScheduleKind::automatic;
    bool schedule_from_name = false;  ///< the name carried a schedule suffix ("... Karras")
};

/// Case-insensitive lookup of an A1111 name ("DPM++ 2M Karras" = sampler + schedule) or a k-diffusion /
/// ComfyUI key ("dpmpp_2m", "euler_ancestral"); throws sf::Error listing the known names.
SamplerChoice find_sampler(std::string_view name);

/// Everything the pipeline chooses about sampling.
struct SampleOptions {
    std::string sampler = "Euler a";  ///< A1111 / ComfyUI name, optionally with a schedule suffix
    std::string schedule;             ///< overrides the name's schedule; "" = the name's or Automatic
    int steps = 20;
    double strength = 1.0;     ///< img2img denoising strength: 0 returns init, 1 ignores it
    double eta = 0.0;          ///< DDIM eta
    double flow_shift = 3.0;   ///< SD3 flow shift
    int64_t flux_seq_len = 0;  ///< > 0: FLUX schedule shifted for this many image tokens (and the FLUX loop)
};

/// The whole reverse process: schedule, start (txt2img: noise at the first level; img2img by A1111's /
/// CompVis' / SD3's convention) and loop. noise: unit normal [B, C, H, W]; init: undefined for txt2img.
/// Returns the final latent.
torch::Tensor sample(const Denoiser& model, const SampleOptions& options, const torch::Tensor& noise,
                     const torch::Tensor& init, NoiseSource& step_noise, const StepFn& on_step);

}  // namespace sf::sampling
