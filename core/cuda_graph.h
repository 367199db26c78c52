// CUDA graphs for a repeated model call: the first call with a new input signature captures the call into a
// graph, later calls copy their inputs into the captured buffers and replay it. A UNet step launches about a
// thousand kernels; replaying them as one graph removes the per-launch overhead that dominates at small
// sizes on a fast GPU. Built only against a CUDA libtorch 2.x (SFUMATO_HAVE_CUDA_GRAPHS); elsewhere, and for
// CPU inputs, the call simply runs.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sf {

class GraphedCall {
public:
    /// `fn` must be capturable: no host synchronisation, no CPU tensors, the same kernels every call.
    using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor>& inputs)>;
    /// At most `max_graphs` signatures are kept (each graph keeps its activation memory); the oldest is
    /// dropped for a new one.
    explicit GraphedCall(Fn fn, size_t max_graphs = 2);
    ~GraphedCall();
    GraphedCall(const GraphedCall&) = delete;
    GraphedCall& operator=(const GraphedCall&) = delete;

    /// Whether this build can capture graphs (CUDA libtorch 2.x).
    static bool available();

    /// fn(inputs), replayed from a graph when every input is on one CUDA device and graphs are available;
    /// the result is a fresh tensor (not the graph's buffer). Undefined inputs are allowed.
    torch::Tensor operator()(const std::vector<torch::Tensor>& inputs);

    /// Graphs captured so far (each new signature captures once).
    int captures() const { return captures_; }
    /// Drops every graph and its memory.
    void clear();

private:
    struct Graph;
    Fn fn_;
    size_t max_graphs_;
    std::vector<std::unique_ptr<Graph>> graphs_;
    int captures_ = 0;
    bool disabled_ = false;  ///< a capture failed: every later call runs uncaptured
};

}  // namespace sf
