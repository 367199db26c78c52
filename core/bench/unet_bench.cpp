#include "core/bench/unet_bench.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/models/layers.h"

namespace sf::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fmt(const char* format, double a, double b = 0, double c = 0, double d = 0, double e = 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf, format, a, b, c, d, e);
    return buf;
}

/// Fan-in scaled normal weights, norm scales near 1, small biases: the same statistics as DETINIT.md
/// (one generator for speed, so not bit-identical to it), which keeps activations in a realistic range.
void fill_random(torch::nn::Module& module) {
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t{20240601});
    for (auto& p : module.named_parameters(true)) {
        auto& t = p.value();
        const auto& name = p.key();
        auto r = at::randn(t.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
        if (t.dim() >= 2) {
            r /= std::sqrt(static_cast<double>(t.numel() / t.size(0)));
        } else if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) {
            r = 1 + 0.1 * r;
        } else {
            r *= 0.05;
        }
        t.copy_(r);
    }
}

}  // namespace

std::string UNetBenchResult::summary() const {
    std::string s =
        fmt("UNet %.1f M parameters: build %.2f s, weights %.2f s\n", parameters / 1e6, build_s, fill_s);
    for (const auto& st : steps) {
        s += fmt("  %.0f² (latent %.0f²): %.3f s per step (input %.3f", st.image_size, st.latent_size,
                 st.step_s, st.input_blocks_s) +
             fmt(", middle %.3f, output %.3f; warm-up %.3f s)\n", st.middle_block_s, st.output_blocks_s,
                 st.warmup_s);
    }
    return s;
}

UNetBenchResult bench_unet(const UNetBenchOptions& o) {
    torch::NoGradGuard no_grad;
    auto say = [&](const std::string& line) {
        if (o.progress) {
            o.progress(line);
        }
    };
    UNetBenchResult result;
    say("building UNet (" + o.config.summary() + ")");
    auto t0 = Clock::now();
    unet::UNetModel model(o.config);
    model->eval();
    result.build_s = since(t0);

    t0 = Clock::now();
    fill_random(*model);
    model->to(o.device, o.dtype);
    if (o.channels_last) {
        layers::use_channels_last(*model);
    }
    result.fill_s = since(t0);
    for (const auto& p : model->parameters()) {
        result.parameters += p.numel();
    }

    const auto& c = o.config;
    auto opts = torch::TensorOptions().device(o.device).dtype(o.dtype);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t{7});
    for (int64_t size : o.image_sizes) {
        UNetBenchStep st;
        st.image_size = size;
        st.latent_size = size / 8;
        auto x = at::randn({o.batch, c.in_channels, st.latent_size, st.latent_size}, gen).to(opts);
        if (o.channels_last) {
            x = x.contiguous(at::MemoryFormat::ChannelsLast);
        }
        auto context = at::randn({o.batch, 77, c.context_dim}, gen).to(opts);
        auto t = torch::full({o.batch}, 500, torch::TensorOptions().device(o.device).dtype(torch::kInt64));
        torch::Tensor y;
        if (c.adm_in_channels > 0) {
            y = at::randn({o.batch, c.adm_in_channels}, gen).to(opts);
        }
        auto step = [&](unet::UNetTrace* trace) {
            auto out = model->forward(x, t, context, y, trace);
            return out.sum().item<double>();  // synchronises with the device
        };
        t0 = Clock::now();
        for (int i = 0; i < o.warmup; ++i) {
            step(nullptr);
        }
        st.warmup_s = since(t0);
        st.step_s = std::numeric_limits<double>::infinity();
        for (int i = 0; i < std::max(o.repeats, 1); ++i) {
            unet::UNetTrace trace;
            t0 = Clock::now();
            step(&trace);
            const double s = since(t0);
            if (s < st.step_s) {
                st.step_s = s;
                st.input_blocks_s = trace.input_blocks_s;
                st.middle_block_s = trace.middle_block_s;
                st.output_blocks_s = trace.output_blocks_s;
            }
        }
        say(fmt("%.0f²: %.3f s per step", size, st.step_s));
        result.steps.push_back(st);
    }
    return result;
}

}  // namespace sf::bench
