#include "core/bench/vae_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "core/models/taesd.h"
#include "core/models/vae.h"

namespace sf::bench {
namespace {

/// Runs fn `warmup` + `runs` times; forces completion by reading one value back (works on any device).
BenchResult time_it(const std::string& name, int64_t size, double flops, const VaeBenchOptions& o,
                    const std::function<torch::Tensor()>& fn) {
    for (int i = 0; i < o.warmup; ++i) {
        fn().sum().item<double>();
    }
    std::vector<double> times;
    for (int i = 0; i < std::max(1, o.runs); ++i) {
        const auto start = std::chrono::steady_clock::now();
        fn().sum().item<double>();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    BenchResult r;
    r.name = name;
    r.size = size;
    r.best_s = times.front();
    r.median_s = times[times.size() / 2];
    r.gflop = flops / 1e9;
    r.gflops = r.gflop / r.best_s;
    return r;
}

}  // namespace

BenchResult bench_matmul(torch::Device device, torch::Dtype dtype) {
    c10::InferenceMode inference;
    const int64_t n = device.is_cpu() ? 2048 : 4096;
    const auto options = torch::TensorOptions().device(device).dtype(dtype);
    auto a = torch::randn({n, n}, options);
    auto b = torch::randn({n, n}, options);
    VaeBenchOptions o;
    o.warmup = 1;
    o.runs = device.is_cpu() ? 3 : 10;
    return time_it("matmul " + std::to_string(n) + "x" + std::to_string(n), n, 2.0 * n * n * n, o,
                   [&] { return torch::mm(a, b); });
}

std::vector<BenchResult> bench_vae(const VaeBenchOptions& o) {
    c10::InferenceMode inference;
    std::vector<BenchResult> results;
    const auto options = torch::TensorOptions().device(o.device).dtype(o.dtype);

    if (o.sd_vae) {
        const auto config = vae::VAEConfig::sd();
        vae::AutoencoderKL vae(config);
        vae->to(o.device, o.dtype);
        vae->eval();
        for (int64_t size : o.sizes) {
            const int64_t h = size / config.downscale();
            auto latent = torch::randn({1, config.embed_dim, h, h}, options);
            results.push_back(time_it("sd_vae_decode " + std::to_string(size) + "x" + std::to_string(size), size,
                                      vae::decode_flops(config, h, h), o, [&] { return vae->decode(latent); }));
        }
    }
    if (o.taesd) {
        const auto tc = taesd::TAESDConfig::sd();
        auto decoder = taesd::make_decoder(tc);
        decoder->to(o.device, o.dtype);
        decoder->eval();
        taesd::TAESD taesd(tc, nullptr, decoder);  // as loaded: channels-last on the CPU
        for (int64_t size : o.sizes) {
            const int64_t h = size / 8;
            auto latent = torch::randn({1, tc.latent_channels, h, h}, options);
            results.push_back(time_it("taesd_decode " + std::to_string(size) + "x" + std::to_string(size), size,
                                      taesd::decode_flops(tc, h, h), o, [&] { return taesd.decode(latent); }));
        }
    }
    return results;
}

std::string format_results(const std::vector<BenchResult>& results) {
    std::string out;
    char line[256];
    for (const auto& r : results) {
        std::snprintf(line, sizeof line, "%-26s best %8.4f s  median %8.4f s  %9.1f GFLOP  %9.1f GFLOP/s\n",
                      r.name.c_str(), r.best_s, r.median_s, r.gflop, r.gflops);
        out += line;
    }
    return out;
}

}  // namespace sf::bench
