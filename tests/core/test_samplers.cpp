// Sampling loops against samplers/*.safetensors with the closed-form Gaussian "network" of the area README,
// plus unit tests of the guidance batching, name lookup and cancellation.
#include <torch/torch.h>
#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <iostream>

#include "core/error.h"
#include "core/sampling/samplers.h"
#include "tests/support/conformance.h"

using namespace sf::sampling;
using sf::test::AreaRun;
using sf::test::Case;
using sf::test::Tolerance;

namespace {

/// x0 ~ N(mu, s2) per element: the optimal network, as samplers/README.md defines it.
struct GaussModel {
    torch::Tensor mu_cond, mu_uncond;  // [1, C, H, W]
    double s2 = 0.36;
    std::shared_ptr<const DiscreteSchedule> sched;  // eps / v models
    enum class Kind { eps, v, flux, sd3 } kind = Kind::eps;
    int calls = 0;
    std::vector<int64_t> batch_sizes;
    torch::Tensor last_raw;  // the last raw output (FLUX velocity recording)

    torch::Tensor mu_for(int64_t rows, Batch batch) const {
        if (batch == Batch::cond) {
            return mu_cond.expand({rows, -1, -1, -1});
        }
        auto half = rows / 2;
        return torch::cat({mu_uncond.expand({half, -1, -1, -1}), mu_cond.expand({half, -1, -1, -1})});
    }

    torch::Tensor operator()(const torch::Tensor& x_in, const torch::Tensor& t_in, Batch batch) {
        ++calls;
        batch_sizes.push_back(x_in.size(0));
        const auto mu = mu_for(x_in.size(0), batch);
        const auto t = t_in[0].item<float>();
        const auto s2f = static_cast<float>(s2);
        if (kind == Kind::eps || kind == Kind::v) {
            const auto sigma = static_cast<float>(sched->t_to_sigma(t));
            const float sig2 = sigma * sigma;
            auto x = x_in * std::sqrt(sig2 + 1.0f);
            auto eps = (x - mu) * sigma / (s2f + sig2);
            if (kind == Kind::eps) {
                last_raw = eps;
                return eps;
            }
            auto d = (x * s2f + mu * sig2) / (s2f + sig2);
            last_raw = (eps - d * sigma) / std::sqrt(sig2 + 1.0f);
            return last_raw;
        }
        const float tt = kind == Kind::sd3 ? t / 1000.0f : t;
        last_raw = (x_in * (tt - (1 - tt) * s2f) - mu * tt) / ((1 - tt) * (1 - tt) * s2f + tt * tt);
        return last_raw;
    }
};

/// Replays input.noise_seq in call order and records the (sigma, sigma_next) of each call.
struct ReplayNoise : NoiseSource {
    torch::Tensor seq;
    int64_t k = 0;
    std::vector<double> sigmas;
    torch::Tensor next(const torch::Tensor& like, double sigma, double sigma_next) override {
        if (!seq.defined() || k >= seq.size(0)) {
            throw sf::Error("replay noise exhausted after " + std::to_string(k) + " draws");
        }
        sigmas.push_back(sigma);
        sigmas.push_back(sigma_next);
        return seq[k++].to(like.options());
    }
};

Tolerance tol(double max_abs, double rel_l2) {
    Tolerance t;
    t.max_abs = max_abs;
    t.rel_l2 = rel_l2;
    return t;
}

std::string after_last(const std::string& s, const std::string& marker) {
    const auto pos = s.rfind(marker);
    return pos == std::string::npos ? s : s.substr(pos + marker.size());
}

std::vector<double> sigmas_of(const torch::Tensor& t) {
    auto c = t.to(torch::kFloat32).contiguous();
    return std::vector<double>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void run_case(AreaRun& run, const Case& c) {
    const auto& cfg = c.config;
    const std::string sampler = cfg.at("sampler").as_string();
    const std::string prediction = cfg.get("prediction", "eps");
    const double scale = cfg.get("cfg_scale", 1.0);
    const int steps = cfg.get("steps", 20);
    const bool img2img = cfg.get("img2img", false);

    GaussModel gm;
    gm.mu_cond = c.input("mu_cond");
    gm.mu_uncond = c.input("mu_uncond");
    gm.s2 = c.input("s2").item<double>();
    DenoiserConfig dc;
    dc.cfg_scales = {scale};
    std::shared_ptr<const DiscreteSchedule> sched;
    if (c.has_input("alphas_cumprod")) {
        sched = std::make_shared<DiscreteSchedule>(
            DiscreteSchedule::from_alphas_cumprod(c.input("alphas_cumprod")));
        run.check(c, "schedule alphas_cumprod", DiscreteSchedule::scaled_linear().alphas_cumprod(),
                  c.input("alphas_cumprod"), tol(1e-7, 1e-7));
    }
    gm.sched = sched;

    const bool flux = sampler.find("flux") != std::string::npos;
    const bool sd3 = sampler.find("sd3") != std::string::npos;
    if (flux || sd3) {
        gm.kind = flux ? GaussModel::Kind::flux : GaussModel::Kind::sd3;
        dc.prediction = Prediction::flow;
        dc.guide_velocity = flux;
        dc.flow_timestep_scale = flux ? 1.0 : 1000.0;
    } else {
        gm.kind = prediction == "v" ? GaussModel::Kind::v : GaussModel::Kind::eps;
        dc.prediction = prediction == "v" ? Prediction::v : Prediction::eps;
    }
    Denoiser model([&gm](const torch::Tensor& x, const torch::Tensor& t, Batch b) { return gm(x, t, b); }, dc,
                   sched);

    ReplayNoise noise;
    if (c.has_input("noise_seq")) {
        noise.seq = c.input("noise_seq");
    }
    std::vector<torch::Tensor> xs, ds;
    StepFn on_step = [&](int, int, const torch::Tensor& x, const torch::Tensor& d) {
        xs.push_back(x);
        ds.push_back(d);
    };
    const auto init = img2img ? c.input("init_latent") : torch::Tensor();
    const auto unit_noise = c.input("noise");
    const Tolerance sig_tol = tol(1e-5, 1e-6);
    torch::Tensor x;
    std::string steps_name = "denoised_steps";

    if (sampler == "DDIMSampler" || sampler == "PLMSSampler") {
        const bool ddim = sampler == "DDIMSampler";
        const auto sch = make_ddim_schedule(*sched, steps, cfg.get("eta", 0.0));
        run.check(c, "ddim timesteps", torch::tensor(sch.timesteps, torch::kInt64), c.input("timesteps"),
                  tol(0, 0));
        auto start = unit_noise;
        int t_start = -1;
        if (img2img) {
            t_start = static_cast<int>(cfg.at("strength").as_double() * steps);
            CHECK(t_start == c.input("t_enc").item<int64_t>());
            start = ddim_encode(init, unit_noise, sch, t_start);
            run.check(c, "z_enc", start);
        }
        x = ddim ? sample_ddim(model, start, sch, noise, on_step, t_start)
                 : sample_plms(model, start, sch, on_step, t_start);
        steps_name = "pred_x0_steps";
    } else if (flux) {
        const auto ts = flux_schedule(steps, cfg.at("image_seq_len").as_int());
        run.check(c, "flux schedule", to_tensor(ts), c.input("timesteps"), sig_tol);
        std::vector<torch::Tensor> vs;
        StepFn on_flux = [&](int, int, const torch::Tensor& xx, const torch::Tensor&) {
            auto halves = gm.last_raw.chunk(2);
            vs.push_back(halves[0] + (halves[1] - halves[0]) * scale);
            xs.push_back(xx);
        };
        x = sample_flux_euler(model, unit_noise, sigmas_of(c.input("timesteps")), on_flux);
        ds = vs;
        steps_name = "velocity_steps";
    } else {
        // k-diffusion and SD3 loops: check our schedule and start, then run on the reference sigmas.
        std::vector<double> mine;
        torch::Tensor start;
        if (sd3) {
            mine = sd3_sigmas(steps, cfg.get("shift", 3.0));
            if (img2img) {
                mine = sd3_img2img_sigmas(mine, cfg.at("denoise").as_double());
            }
            const double s0 = mine.front();
            start = img2img ? unit_noise * s0 + init * (1.0 - s0) : unit_noise * s0;
        } else {
            mine = make_sigmas(parse_schedule(cfg.get("schedule", "discrete")), *sched, steps);
            if (img2img) {
                mine = img2img_sigmas(mine, cfg.at("strength").as_double());
            }
            start = img2img ? init + unit_noise * mine.front() : unit_noise * mine.front();
        }
        run.check(c, "sigmas", to_tensor(mine), c.input("sigmas"), sig_tol);
        run.check(c, "x_start", start, c.input("x_start"), tol(2e-5, 1e-6));
        const SamplerChoice choice = find_sampler(after_last(sampler, "sample_"));
        x = choice.sampler->fn(model, c.input("x_start"), sigmas_of(c.input("sigmas")), noise, on_step);
    }

    if (c.has_input("noise_seq")) {
        const int64_t expected = cfg.get("noise_calls", noise.seq.size(0));
        CHECK(noise.k == expected);
        if (noise.k != expected) {
            run.fail(c, "noise draws " + std::to_string(noise.k) + ", expected " + std::to_string(expected));
        }
        if (c.has_input("noise_seq_sigmas") && noise.k == expected) {
            run.check(c, "noise_seq_sigmas", to_tensor(noise.sigmas).view({-1, 2}),
                      c.input("noise_seq_sigmas"), tol(1e-5, 1e-6));
        }
    }
    run.check(c, "x", x);
    run.check(c, "x_steps", torch::stack(xs));
    if (c.has_output(steps_name)) {
        run.check(c, steps_name, torch::stack(ds));
    }
}

}  // namespace

TEST_CASE("sampling loops match the references", "[conformance][samplers]") {
    SF_REQUIRE_AREA("samplers");
    torch::NoGradGuard no_grad;
    AreaRun run("samplers", "sampling loops");
    for (const Case& c : sf::test::load_cases("samplers")) {
        if (c.config.is_null() || !c.config.find("sampler")) {
            continue;
        }
        try {
            run_case(run, c);
        } catch (const std::exception& e) {
            run.fail(c, e.what());
        }
    }
    CHECK(run.checked() > 0);
}

namespace {

struct Counting {
    int calls = 0;
    std::vector<int64_t> rows;
    std::vector<Batch> batches;
};

Denoiser counting_denoiser(Counting& count, std::vector<double> scales, Prediction p = Prediction::eps) {
    static auto sched = std::make_shared<const DiscreteSchedule>(DiscreteSchedule::scaled_linear());
    DenoiserConfig dc;
    dc.prediction = p;
    dc.cfg_scales = std::move(scales);
    return Denoiser(
        [&count](const torch::Tensor& x, const torch::Tensor& t, Batch b) {
            ++count.calls;
            count.rows.push_back(x.size(0));
            count.batches.push_back(b);
            CHECK(t.size(0) == x.size(0));
            // cond rows predict +0.1, uncond rows -0.1: CFG is visible in the result
            auto out = torch::full_like(x, 0.1);
            if (b == Batch::uncond_cond) {
                out.narrow(0, 0, x.size(0) / 2).fill_(-0.1);
            }
            return out;
        },
        dc, sched);
}

}  // namespace

TEST_CASE("CFG scale 1 makes one cond-only call per step", "[unit][samplers]") {
    Counting count;
    auto model = counting_denoiser(count, {1.0});
    const auto sigmas = make_sigmas(ScheduleKind::automatic, model.schedule(), 5);
    sample_euler(model, torch::randn({3, 4, 8, 8}) * sigmas[0], sigmas, nullptr);
    CHECK(count.calls == 5);
    for (size_t i = 0; i < count.rows.size(); ++i) {
        CHECK(count.rows[i] == 3);
        CHECK(count.batches[i] == Batch::cond);
    }

    Counting guided;
    auto model2 = counting_denoiser(guided, {7.5});
    sample_euler(model2, torch::randn({3, 4, 8, 8}) * sigmas[0], sigmas, nullptr);
    CHECK(guided.calls == 5);
    for (size_t i = 0; i < guided.rows.size(); ++i) {
        CHECK(guided.rows[i] == 6);
        CHECK(guided.batches[i] == Batch::uncond_cond);
    }
}

TEST_CASE("per-image guidance scales", "[unit][samplers]") {
    Counting count;
    auto model = counting_denoiser(count, {1.0, 3.0});
    auto x = torch::zeros({2, 4, 2, 2});
    auto d = model(x, 1.0);  // D = x - sigma * eps_cfg; eps_cfg = -0.1 + 0.2 * scale
    CHECK(count.rows.at(0) == 4);
    CHECK(std::abs(d[0].mean().item<double>() - (-0.1)) < 1e-6);
    CHECK(std::abs(d[1].mean().item<double>() - (-0.5)) < 1e-6);
    Counting wrong;
    auto model3 = counting_denoiser(wrong, {1.0, 2.0, 3.0});
    CHECK_THROWS_AS(model3(x, 1.0), sf::Error);
}

TEST_CASE("sampler names resolve like A1111 and ComfyUI", "[unit][samplers]") {
    auto c = find_sampler("DPM++ 2M Karras");
    CHECK(c.sampler->key == "dpmpp_2m");
    CHECK(c.schedule == ScheduleKind::karras);
    CHECK(find_sampler("euler_ancestral").sampler->name == "Euler a");
    CHECK(find_sampler("euler a").sampler->key == "euler_ancestral");
    CHECK(find_sampler("dpm++ 2m sde exponential").schedule == ScheduleKind::exponential);
    CHECK(find_sampler("DPM++ 3M SDE").sampler->key == "dpmpp_3m_sde");
    CHECK(find_sampler("DPM2 a Karras").sampler->key == "dpm_2_ancestral");
    CHECK(find_sampler("ddim").sampler->kind == SamplerKind::compvis);
    CHECK(find_sampler("Euler SGM Uniform").schedule == ScheduleKind::sgm_uniform);
    for (const char* n : {"DDPM", "DDIM", "PLMS", "Euler", "Euler a", "Heun", "DPM2", "DPM2 a", "LMS",
                          "DPM++ 2S a", "DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 3M SDE", "LCM"}) {
        CHECK(find_sampler(n).sampler->name == n);
    }
    try {
        find_sampler("Euler b");
        FAIL("no error");
    } catch (const sf::Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("Euler b") != std::string::npos);
        CHECK(msg.find("DPM++ 2M SDE") != std::string::npos);
        CHECK(msg.find("Euler a") != std::string::npos);
    }
}

TEST_CASE("a step callback throwing Cancelled stops the loop", "[unit][samplers]") {
    Counting count;
    auto model = counting_denoiser(count, {1.0});
    const auto sigmas = make_sigmas(ScheduleKind::automatic, model.schedule(), 10);
    CpuNoise noise(1, 1);
    for (const auto& info : samplers()) {
        if (info.kind != SamplerKind::kdiffusion) {
            continue;
        }
        count.calls = 0;
        int seen = 0;
        StepFn cancel_at_2 = [&](int i, int n, const torch::Tensor&, const torch::Tensor&) {
            CHECK(n == 10);
            seen = i + 1;
            if (i == 2) {
                throw sf::Cancelled();
            }
        };
        CHECK_THROWS_AS(info.fn(model, torch::randn({1, 4, 8, 8}) * sigmas[0], sigmas, noise, cancel_at_2),
                        sf::Cancelled);
        CHECK(seen == 3);
        CHECK(count.calls <= 6);  // at most two evaluations per step
    }
    SampleOptions opt;
    opt.sampler = "DDIM";
    opt.steps = 10;
    count.calls = 0;
    StepFn cancel_first = [](int, int, const torch::Tensor&, const torch::Tensor&) { throw sf::Cancelled(); };
    CHECK_THROWS_AS(sample(model, opt, torch::randn({1, 4, 8, 8}), {}, noise, cancel_first), sf::Cancelled);
    CHECK(count.calls == 1);
}

TEST_CASE("sample(): strength 0 returns the input, strength 1 ignores it", "[unit][samplers]") {
    Counting count;
    auto model = counting_denoiser(count, {7.0});
    auto init = torch::randn({1, 4, 8, 8});
    auto noise = torch::randn({1, 4, 8, 8});
    for (const char* name : {"Euler", "DPM++ 2M Karras", "DDIM", "Euler a"}) {
        SampleOptions opt;
        opt.sampler = name;
        opt.steps = 8;
        opt.strength = 0.0;
        CpuNoise n0(3, 1);
        CHECK(torch::equal(sample(model, opt, noise, init, n0, nullptr), init));
        opt.strength = 1.0;
        CpuNoise n1(3, 1), n2(3, 1);
        auto a = sample(model, opt, noise, init, n1, nullptr);
        auto b = sample(model, opt, noise, torch::Tensor(), n2, nullptr);
        CHECK(torch::equal(a, b));
        opt.strength = 0.5;
        CpuNoise n3(3, 1);
        CHECK(sample(model, opt, noise, init, n3, nullptr).sizes() == init.sizes());
    }
}

TEST_CASE("sampler and guidance overhead per step", "[.bench][samplers]") {
    torch::NoGradGuard no_grad;
    auto sched = std::make_shared<const DiscreteSchedule>(DiscreteSchedule::scaled_linear());
    DenoiserConfig dc;
    dc.cfg_scales = {7.5};
    // The "network" returns a preallocated tensor: what is timed is the loop and the guidance only.
    auto canned = torch::randn({2, 4, 64, 64});
    Denoiser model([&](const torch::Tensor&, const torch::Tensor&, Batch) { return canned; }, dc, sched);
    const int steps = 50;
    const auto sigmas = make_sigmas(ScheduleKind::karras, *sched, steps);
    CpuNoise noise(1, 1);
    {
        auto x = torch::randn({1, 4, 64, 64});
        double best = 1e30;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < steps; ++i) {
                model(x, sigmas[static_cast<size_t>(i)]);
            }
            best = std::min(
                best,
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        }
        std::cout << "overhead guidance only (D with CFG): " << best / steps << " us/call\n";
    }
    for (const char* name : {"Euler", "Euler a", "DPM++ 2M", "DPM++ 2M SDE", "DPM++ 3M SDE", "Heun", "LMS"}) {
        const auto& info = *find_sampler(name).sampler;
        auto x = torch::randn({1, 4, 64, 64}) * sigmas[0];
        double best = 1e30;
        for (int rep = 0; rep < 5; ++rep) {  // best of 5: the build machine is shared
            const auto t0 = std::chrono::steady_clock::now();
            info.fn(model, x, sigmas, noise, nullptr);
            best = std::min(
                best,
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        }
        const double us = best;
        std::cout << "overhead " << name << ": " << us / steps << " us/step (1x4x64x64, CFG 7.5, CPU)\n";
    }
}
