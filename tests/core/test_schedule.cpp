// Schedules against samplers/schedules.safetensors: SD1 table, get_sigmas, karras, exponential, sigma<->t,
// DDIM discretisation, FLUX and SD3 flow schedules.
#include <torch/torch.h>
#include <catch2/catch_test_macros.hpp>

#include "core/error.h"
#include "core/sampling/schedule.h"
#include "tests/support/conformance.h"

using namespace sf::sampling;
using sf::test::AreaRun;
using sf::test::Case;
using sf::test::Tolerance;

namespace {

Tolerance tol(double max_abs, double rel_l2) {
    Tolerance t;
    t.max_abs = max_abs;
    t.rel_l2 = rel_l2;
    return t;
}

torch::Tensor i64(const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::kInt64);
}

}  // namespace

TEST_CASE("schedules match the reference values", "[conformance][samplers]") {
    SF_REQUIRE_AREA("samplers");
    AreaRun run("samplers", "schedules");
    for (const Case& c : sf::test::load_cases("samplers")) {
        if (!c.has_output("sd1.sigmas")) {
            continue;
        }
        const auto sched = DiscreteSchedule::scaled_linear();
        const Tolerance exact = tol(0, 0);
        const Tolerance t_tol = tol(c.tolerance.raw.at("sigma_to_t").get("max_abs", 1e-3), 1e-4);
        run.check(c, "sd1.betas", scaled_linear_betas().to(torch::kFloat32));
        run.check(c, "sd1.alphas_cumprod", sched.alphas_cumprod());
        run.check(c, "sd1.alphas_cumprod_f64", sched.alphas_cumprod().to(torch::kFloat64));
        run.check(c, "sd1.sigmas", sched.sigmas());
        run.check(c, "sd1.log_sigmas", sched.log_sigmas());
        run.check(c, "sd1.get_sigmas_20", to_tensor(make_sigmas(parse_schedule("Automatic"), sched, 20)));
        run.check(c, "sd1.get_sigmas_30", to_tensor(make_sigmas(parse_schedule("normal"), sched, 30)));
        run.check(c, "sd1.karras_20", to_tensor(make_sigmas(parse_schedule("Karras"), sched, 20)));
        run.check(c, "sd1.exponential_20", to_tensor(make_sigmas(parse_schedule("exponential"), sched, 20)));

        auto probe = c.input("sd1.sigma_probe").contiguous();
        std::vector<double> t, sig;
        std::vector<int64_t> tq;
        for (int64_t i = 0; i < probe.numel(); ++i) {
            const double s = probe[i].item<float>();
            t.push_back(sched.sigma_to_t(s));
            tq.push_back(sched.sigma_to_t_quantized(s));
            sig.push_back(sched.t_to_sigma(t.back()));
        }
        run.check(c, "sd1.sigma_to_t", to_tensor(t), c.output("sd1.sigma_to_t"), t_tol);
        run.check(c, "sd1.sigma_to_t_quantized", i64(tq), c.output("sd1.sigma_to_t_quantized"), exact);
        run.check(c, "sd1.t_to_sigma", to_tensor(sig));

        const auto d20 = make_ddim_schedule(sched, 20, 0.5);
        run.check(c, "ddim.timesteps_20", i64(d20.timesteps), c.output("ddim.timesteps_20"), exact);
        run.check(c, "ddim.timesteps_50", i64(make_ddim_schedule(sched, 50, 0).timesteps),
                  c.output("ddim.timesteps_50"), exact);
        run.check(c, "ddim.alphas_20", to_tensor(d20.alphas));
        run.check(c, "ddim.alphas_prev_20", to_tensor(d20.alphas_prev));
        run.check(c, "ddim.sigmas_eta0.5_20", to_tensor(d20.sigmas));

        run.check(c, "flux.schedule_20_1024x1024", to_tensor(flux_schedule(20, flux_seq_len(1024, 1024))));
        run.check(c, "flux.schedule_20_768x512", to_tensor(flux_schedule(20, flux_seq_len(768, 512))));
        run.check(c, "flux.schedule_4_noshift", to_tensor(flux_schedule(4, 4096, false)));

        run.check(c, "sd3.sigmas_1000_shift3", to_tensor(sd3_sigma_table(3.0)));
        run.check(c, "sd3.get_sigmas_20_shift3", to_tensor(sd3_sigmas(20, 3.0)));
        run.check(c, "sd3.get_sigmas_28_shift3", to_tensor(sd3_sigmas(28, 3.0)));
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("extra schedules are well formed", "[unit][samplers]") {
    const auto sched = DiscreteSchedule::scaled_linear();
    for (auto kind : {ScheduleKind::automatic, ScheduleKind::karras, ScheduleKind::exponential,
                      ScheduleKind::sgm_uniform, ScheduleKind::simple}) {
        const auto s = make_sigmas(kind, sched, 10);
        REQUIRE(s.size() == 11);
        CHECK(s.back() == 0.0);
        for (size_t i = 0; i + 1 < s.size(); ++i) {
            CHECK(s[i] > s[i + 1]);
        }
        CHECK(std::abs(s.front() - sched.sigma_max()) < 1e-3);
    }
    CHECK(parse_schedule("SGM Uniform") == ScheduleKind::sgm_uniform);
    CHECK_THROWS_AS(parse_schedule("bogus"), sf::Error);
    // img2img tail (A1111): strength 0.6 of 20 steps keeps sigmas[7:], 13 steps.
    const auto full = make_sigmas(ScheduleKind::automatic, sched, 20);
    const auto tail = img2img_sigmas(full, 0.6);
    REQUIRE(tail.size() == 14);
    CHECK(tail.front() == full[7]);
    CHECK(sd3_img2img_sigmas(sd3_sigmas(20), 0.6).size() == 13);
}
