#include "core/bench/unet_bench.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/cuda_graph.h"
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
        s += st.variant + fmt(" %.0f² (latent %.0f²): %.4f s per step (input %.3f", st.image_size, st.latent_size,
                 st.step_s, st.input_blocks_s) +
             fmt(", middle %.3f, output %.3f; warm-up %.3f s)\n", st.middle_block_s, st.output_blocks_s,
                 st.warmup_s);
    }
    return s;
}

namespace {

/// The inputs of one CFG step at an image size, drawn on the CPU (the same values on every device).
struct StepInputs {
    torch::Tensor x, t, context, y;
};

StepInputs step_inputs(const unet::UNetConfig& c, int64_t batch, int64_t latent) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t{7});
    StepInputs in;
    in.x = at::randn({batch, c.in_channels, latent, latent}, gen);
    in.context = at::randn({batch, 77, c.context_dim}, gen);
    in.t = torch::full({batch}, 500, torch::TensorOptions().dtype(torch::kInt64));
    if (c.adm_in_channels > 0) {
        in.y = at::randn({batch, c.adm_in_channels}, gen);
    }
    return in;
}

StepInputs to_device(const StepInputs& in, torch::Device device, torch::Dtype dtype, bool channels_last) {
    auto opts = torch::TensorOptions().device(device).dtype(dtype);
    StepInputs out;
    out.x = in.x.to(opts);
    if (channels_last) {
        out.x = out.x.contiguous(at::MemoryFormat::ChannelsLast);
    }
    out.context = in.context.to(opts);
    out.t = in.t.to(device);
    if (in.y.defined()) {
        out.y = in.y.to(opts);
    }
    return out;
}

unet::UNetModel build_filled(const unet::UNetConfig& config) {
    unet::UNetModel model(config);
    model->eval();
    fill_random(*model);
    return model;
}

}  // namespace

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

    GraphedCall graphed([&](const std::vector<torch::Tensor>& in) {
        return model->forward(in[0], in[1], in[2], in[3]);
    });
    struct Variant {
        bool channels_last, graph;
    };
    const bool can_graph = GraphedCall::available() && o.device.is_cuda();
    std::vector<Variant> variants;
    if (o.all_variants) {
        for (bool cl : {false, true}) {
            variants.push_back({cl, false});
            if (can_graph) {
                variants.push_back({cl, true});
            }
        }
    } else {
        variants.push_back({o.channels_last, o.cuda_graph && can_graph});
    }
    bool layout_cl = o.channels_last;
    std::vector<std::pair<std::string, torch::Tensor>> agree_out;  // each variant's output at agree_size
    for (const auto& v : variants) {
        if (v.channels_last != layout_cl) {
            layers::use_channels_last(*model, v.channels_last);
            layout_cl = v.channels_last;
            graphed.clear();
        }
        const std::string name = std::string(v.channels_last ? "channels-last" : "nchw") + (v.graph ? " graph" : " eager");
        for (int64_t size : o.image_sizes) {
            UNetBenchStep st;
            st.variant = name;
            st.image_size = size;
            st.latent_size = size / 8;
            const auto in =
                to_device(step_inputs(o.config, o.batch, st.latent_size), o.device, o.dtype, v.channels_last);
            auto step = [&](unet::UNetTrace* trace) {
                auto out = v.graph ? graphed({in.x, in.t, in.context, in.y})
                                   : model->forward(in.x, in.t, in.context, in.y, trace);
                out.sum().item<double>();  // synchronises with the device
                return out;
            };
            t0 = Clock::now();
            for (int i = 0; i < o.warmup; ++i) {
                step(nullptr);
            }
            st.warmup_s = since(t0);
            // Block times come from a traced step: the timed ones on the CPU (tracing costs nothing there), one
            // more on a GPU (a traced GPU step drains the queue at each boundary, so it is not timed).
            const bool trace_timed = o.device.is_cpu() && !v.graph;
            std::vector<double> times;
            unet::UNetTrace best_trace;
            for (int i = 0; i < std::max(o.repeats, 1); ++i) {
                unet::UNetTrace trace;
                t0 = Clock::now();
                auto out = step(trace_timed ? &trace : nullptr);
                const double s = since(t0);
                if (times.empty() || s < *std::min_element(times.begin(), times.end())) {
                    best_trace = trace;
                }
                times.push_back(s);
                if (size == o.agree_size && (agree_out.empty() || agree_out.back().first != name)) {
                    agree_out.emplace_back(name, out.to(torch::kCPU, torch::kFloat32));
                }
            }
            std::sort(times.begin(), times.end());
            st.step_s = times.front();
            st.median_s = times[times.size() / 2];
            if (!v.graph && !trace_timed) {
                step(&best_trace);
            }
            st.input_blocks_s = best_trace.input_blocks_s;
            st.middle_block_s = best_trace.middle_block_s;
            st.output_blocks_s = best_trace.output_blocks_s;
            say(fmt("%.0f²: %.4f s per step (median %.4f s), ", size, st.step_s, st.median_s) + name);
            result.steps.push_back(st);
        }
    }
    graphed.clear();

    if (o.agree_size > 0) {
        say(fmt("%.0f²: the same step on the CPU in float32, for agreement", o.agree_size));
        const auto in = step_inputs(o.config, o.batch, o.agree_size / 8);
        if (agree_out.empty()) {
            const auto dev_in = to_device(in, o.device, o.dtype, layout_cl);
            agree_out.emplace_back(variants.back().channels_last ? "channels-last eager" : "nchw eager",
                                   model->forward(dev_in.x, dev_in.t, dev_in.context, dev_in.y)
                                       .to(torch::kCPU, torch::kFloat32));
        }
        model = nullptr;  // one full-size model in memory at a time
        auto cpu = build_filled(o.config);
        auto ref = cpu->forward(in.x, in.t, in.context, in.y).to(torch::kFloat64);
        for (const auto& [variant, out] : agree_out) {
            auto diff = out.to(torch::kFloat64) - ref;
            result.agreement.push_back(
                {variant, (diff.norm() / ref.norm()).item<double>(), diff.abs().max().item<double>()});
        }
    }
    return result;
}

}  // namespace sf::bench
