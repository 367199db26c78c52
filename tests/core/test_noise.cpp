// Seed → noise parity with torch.manual_seed(s); torch.randn(shape) on the CPU (samplers/seed_noise).
#include <torch/torch.h>
#include <catch2/catch_test_macros.hpp>

#include <regex>

#include "core/error.h"
#include "core/sampling/noise.h"
#include "tests/support/conformance.h"

using namespace sf::sampling;
using sf::test::AreaRun;
using sf::test::Case;

TEST_CASE("seed noise matches torch's CPU generator", "[conformance][samplers]") {
    SF_REQUIRE_AREA("samplers");
    AreaRun run("samplers", "seed noise");
    const std::regex name_re(R"(seed(\d+)_(generator_)?([0-9x]+))");
    for (const Case& c : sf::test::load_cases("samplers")) {
        for (const auto& out : c.outputs()) {
            std::smatch m;
            if (!std::regex_match(out, m, name_re)) {
                continue;
            }
            const uint64_t seed = std::stoull(m[1].str());
            auto ref = c.output(out);
            run.check(c, out, seed_noise(seed, ref.sizes()));
            if (ref.dim() >= 2 && ref.size(0) > 1 && !m[2].matched) {
                // One draw per image: row i of a batch drawn with seed + i equals that seed alone.
                auto batch = batch_noise(seed, 2, ref.sizes().slice(1));
                CHECK(torch::equal(batch[0], seed_noise(seed, ref.sizes().slice(1))));
                CHECK(torch::equal(batch[1], seed_noise(seed + 1, ref.sizes().slice(1))));
            }
        }
    }
    CHECK(run.checked() > 0);
}

TEST_CASE("CpuNoise continues each image's stream", "[unit][samplers]") {
    CpuNoise noise(7, 2);
    auto x0 = noise.initial({4, 8, 8});
    auto n1 = noise.next(x0, 1.0, 0.5);
    auto ref = seed_noise(8, {2, 4, 8, 8});  // seed 8 alone: initial then the first step's noise
    CHECK(torch::equal(x0[1], ref[0]));
    CHECK(torch::equal(n1[1], ref[1]));
    CHECK_THROWS_AS(noise.next(torch::zeros({3, 4, 8, 8}), 1.0, 0.5), sf::Error);
}
