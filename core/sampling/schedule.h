// Noise schedules, kept apart from the samplers (STYLE.md §2.12). Mirrors k-diffusion external.py /
// sampling.py (discrete SD schedule, karras, exponential), CompVis ddim util (DDIM discretisation),
// Stability-AI sd3_impls.py (SD3 shift) and black-forest-labs flux/sampling.py (FLUX shift).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sf::sampling {

/// SD "scaled_linear" betas: linspace(sqrt(start), sqrt(end), T)^2, float64.
torch::Tensor scaled_linear_betas(int64_t timesteps = 1000, double linear_start = 0.00085,
                                  double linear_end = 0.012);

/// The discrete DDPM schedule of SD1/SD2/SDXL: alphas_cumprod, sigmas and log-sigma interpolation.
class DiscreteSchedule {
public:
    /// "scaled_linear" betas: linspace(sqrt(start), sqrt(end), T)^2 in float64, cumprod in float64.
    static DiscreteSchedule scaled_linear(int64_t timesteps = 1000, double linear_start = 0.00085,
                                          double linear_end = 0.012);
    /// From a checkpoint's `alphas_cumprod` buffer (any float dtype, any device).
    static DiscreteSchedule from_alphas_cumprod(const torch::Tensor& alphas_cumprod);

    const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }  ///< [T] float32, CPU
    const torch::Tensor& sigmas() const { return sigmas_; }                  ///< [T] float32, CPU
    const torch::Tensor& log_sigmas() const { return log_sigmas_; }          ///< [T] float32, CPU
    int64_t size() const { return static_cast<int64_t>(log_.size()); }
    double sigma_min() const { return sig_.front(); }
    double sigma_max() const { return sig_.back(); }
    /// alphas_cumprod[t] as a double holding the float32 value.
    double alpha_cumprod(int64_t t) const { return ac_[static_cast<size_t>(t)]; }

    /// Fractional timestep to sigma, log-sigma interpolation in float32 (k-diffusion t_to_sigma).
    double t_to_sigma(double t) const;
    /// Sigma to fractional timestep (k-diffusion sigma_to_t, not quantized), float32 math.
    double sigma_to_t(double sigma) const;
    /// Sigma to the nearest integer timestep (sigma_to_t with quantize=True).
    int64_t sigma_to_t_quantized(double sigma) const;

private:
    void init(torch::Tensor ac_f32);
    torch::Tensor alphas_cumprod_, sigmas_, log_sigmas_;
    std::vector<float> ac_, sig_, log_;
};

/// The sigma schedules users pick by name (A1111 "Schedule type", ComfyUI "scheduler").
enum class ScheduleKind { automatic, karras, exponential, sgm_uniform, simple };

/// Case-insensitive: "Automatic"/"normal"/"uniform"/"discrete", "Karras", "Exponential", "SGM Uniform",
/// "Simple".
ScheduleKind parse_schedule(std::string_view name);
/// The display name of a schedule kind.
std::string schedule_name(ScheduleKind kind);

/// k-diffusion get_sigmas(n): t_to_sigma(linspace(T-1, 0, n)) plus a trailing 0 (A1111 "Automatic").
std::vector<double> discrete_sigmas(const DiscreteSchedule& s, int steps);
/// Karras et al. ramp (rho 7) between sigma_min and sigma_max, float32 like k-diffusion, trailing 0.
std::vector<double> karras_sigmas(int steps, double sigma_min, double sigma_max, double rho = 7.0);
/// exp(linspace(log sigma_max, log sigma_min, n)), trailing 0.
std::vector<double> exponential_sigmas(int steps, double sigma_min, double sigma_max);
/// A1111 sgm_uniform: t_to_sigma over linspace(t(sigma_max), t(sigma_min), n+1)[:-1], trailing 0.
std::vector<double> sgm_uniform_sigmas(const DiscreteSchedule& s, int steps);
/// ComfyUI "simple": every (T/steps)-th table sigma from the top, trailing 0.
std::vector<double> simple_sigmas(const DiscreteSchedule& s, int steps);
/// The schedule of a kind for a discrete (eps / v) model; karras/exponential use the table's min/max.
std::vector<double> make_sigmas(ScheduleKind kind, const DiscreteSchedule& s, int steps);

/// CompVis DDIM "uniform" discretisation and its per-step scalars (float32 values from float64 math).
struct DdimSchedule {
    std::vector<int64_t> timesteps;   ///< ascending: range(0, T, T / steps) + 1 (may be more than steps)
    std::vector<double> alphas;       ///< alphas_cumprod[timesteps]
    std::vector<double> alphas_prev;  ///< alphas_cumprod[0] then alphas[:-1]
    std::vector<double> sigmas;       ///< eta * sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
};
/// make_ddim_timesteps("uniform") + make_ddim_sampling_parameters.
DdimSchedule make_ddim_schedule(const DiscreteSchedule& s, int steps, double eta);

/// SD3 shifted flow sigma of a timestep in [0, 1000]: shift*(t/1000) / (1 + (shift-1)*(t/1000)), float32.
double sd3_sigma(double timestep, double shift = 3.0);
/// The SD3 1000-entry table sigma(1..1000).
std::vector<double> sd3_sigma_table(double shift = 3.0);
/// SD3 reference get_sigmas(steps): sigma(linspace(1000*sigma_max, 1000*sigma_min, steps)), trailing 0.
std::vector<double> sd3_sigmas(int steps, double shift = 3.0);
/// FLUX get_schedule: linspace(1, 0, steps+1), time-shifted by mu(image_seq_len) unless shift is false.
std::vector<double> flux_schedule(int steps, int64_t image_seq_len, bool shift = true,
                                  double base_shift = 0.5, double max_shift = 1.15);
/// FLUX packed-token count of a pixel size: (H/16)*(W/16).
int64_t flux_seq_len(int64_t width, int64_t height);

/// A1111 k-diffusion img2img tail: t_enc = int(min(strength, 0.999)*steps), keeps sigmas[steps - t_enc - 1:].
std::vector<double> img2img_sigmas(std::span<const double> full, double strength);
/// SD3 img2img: drops the first int(steps*(1-denoise)) sigmas.
std::vector<double> sd3_img2img_sigmas(std::span<const double> full, double denoise);

/// std::vector<double> → float32 CPU tensor (for comparisons and the CLI).
torch::Tensor to_tensor(std::span<const double> values);

}  // namespace sf::sampling
