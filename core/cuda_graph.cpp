#include "core/cuda_graph.h"

#include <sstream>

#include "core/log.h"

#ifdef SFUMATO_HAVE_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace sf {

struct GraphedCall::Graph {
    std::string key;
    std::vector<torch::Tensor> inputs;  ///< the captured buffers each call copies into
    torch::Tensor output;               ///< written by every replay
#ifdef SFUMATO_HAVE_CUDA_GRAPHS
    at::cuda::CUDAGraph graph;
#endif
};

namespace {

/// Shapes, strides, dtypes and device of the inputs: a graph replays only for exactly these.
[[maybe_unused]] std::string signature(const std::vector<torch::Tensor>& inputs) {
    std::ostringstream s;
    for (const auto& t : inputs) {
        if (!t.defined()) {
            s << "-;";
            continue;
        }
        s << t.device() << ' ' << t.scalar_type() << ' ' << t.sizes() << ' ' << t.strides() << ';';
    }
    return s.str();
}

/// The one CUDA device every defined input is on, or nullopt (CPU inputs, mixed devices, none defined).
std::optional<torch::Device> cuda_device(const std::vector<torch::Tensor>& inputs) {
    std::optional<torch::Device> device;
    for (const auto& t : inputs) {
        if (!t.defined()) {
            continue;
        }
        if (!t.is_cuda() || (device && *device != t.device())) {
            return std::nullopt;
        }
        device = t.device();
    }
    return device;
}

}  // namespace

GraphedCall::GraphedCall(Fn fn, size_t max_graphs) : fn_(std::move(fn)), max_graphs_(std::max<size_t>(1, max_graphs)) {}

GraphedCall::~GraphedCall() = default;

bool GraphedCall::available() {
#ifdef SFUMATO_HAVE_CUDA_GRAPHS
    return true;
#else
    return false;
#endif
}

void GraphedCall::clear() { graphs_.clear(); }

torch::Tensor GraphedCall::operator()(const std::vector<torch::Tensor>& inputs) {
    const auto device = cuda_device(inputs);
    if (!available() || disabled_ || !device) {
        return fn_(inputs);
    }
#ifdef SFUMATO_HAVE_CUDA_GRAPHS
    const auto key = signature(inputs);
    for (auto& g : graphs_) {
        if (g->key == key) {
            for (size_t i = 0; i < inputs.size(); ++i) {
                if (inputs[i].defined()) {
                    g->inputs[i].copy_(inputs[i]);
                }
            }
            g->graph.replay();
            return g->output.clone();
        }
    }

    auto g = std::make_unique<Graph>();
    g->key = key;
    for (const auto& t : inputs) {
        g->inputs.push_back(t.defined() ? torch::empty_like(t).copy_(t) : torch::Tensor());
    }
    c10::cuda::CUDAGuard device_guard(*device);
    auto stream = c10::cuda::getStreamFromPool(false, device->index());
    torch::cuda::synchronize(device->index());  // the side stream must see the copies above
    {
        c10::cuda::CUDAStreamGuard stream_guard(stream);
        // Warm-up outside the capture: library handles, workspaces and algorithm choices are made here. Its
        // errors (a wrong input) are the caller's, as in an uncaptured call.
        fn_(g->inputs);
        stream.synchronize();
        try {
            g->graph.capture_begin();
            g->output = fn_(g->inputs);
            g->graph.capture_end();
        } catch (const c10::Error& e) {
            try {
                g->graph.capture_end();  // leave the stream out of capture mode
            } catch (const c10::Error&) {
            }
            disabled_ = true;
            log_warn(std::string("CUDA graph capture failed; running without graphs: ") + e.what_without_backtrace());
            g.reset();
        }
    }
    torch::cuda::synchronize(device->index());
    if (!g) {
        return fn_(inputs);
    }
    ++captures_;
    if (graphs_.size() >= max_graphs_) {
        graphs_.erase(graphs_.begin());
    }
    graphs_.push_back(std::move(g));
    graphs_.back()->graph.replay();
    return graphs_.back()->output.clone();
#else
    return fn_(inputs);
#endif
}

}  // namespace sf
