// The layers every model here is built of: Conv2d, Linear, GroupNorm, LayerNorm, Embedding. They take
// torch::nn's options, register the same parameter names and initialise the same way, so a module tree reads
// exactly as with torch::nn. What they add is the one thing libtorch 1.x lacks (Python has
// torch.nn.utils.skip_init): construction without initialisation, for modules whose weights come from a file.
// Under a SkipInit, an SD1.5 pipeline is built in milliseconds and its parameters occupy no memory until
// load_module swaps the file's tensors in.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace sf::layers {

/// While one is alive on this thread, new parameters are allocated and left uninitialised: torch::empty
/// touches no page, so they cost neither time nor resident memory before loading replaces them. Only for
/// modules that are loaded from a checkpoint right after construction (load_module is strict: a parameter
/// the file lacks is an error, never left uninitialised).
class SkipInit {
public:
    SkipInit();
    ~SkipInit();
    SkipInit(const SkipInit&) = delete;
    SkipInit& operator=(const SkipInit&) = delete;
    static bool active();

private:
    bool previous_;
};

/// A new parameter of `shape` (float32, CPU): uninitialised under SkipInit, else filled by `init`.
torch::Tensor parameter(at::IntArrayRef shape, const std::function<void(torch::Tensor&)>& init);

class Conv2dImpl : public torch::nn::Module {
public:
    explicit Conv2dImpl(torch::nn::Conv2dOptions options);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::Conv2dOptions options;  ///< zero padding given as numbers (the only kind SD's layers use)
    torch::Tensor weight;              ///< [out, in / groups, kh, kw]
    torch::Tensor bias;                ///< [out], undefined without bias
};
TORCH_MODULE(Conv2d);

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}
    explicit LinearImpl(torch::nn::LinearOptions options);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::LinearOptions options;
    torch::Tensor weight;  ///< [out, in]
    torch::Tensor bias;    ///< [out], undefined without bias
};
TORCH_MODULE(Linear);

class GroupNormImpl : public torch::nn::Module {
public:
    explicit GroupNormImpl(torch::nn::GroupNormOptions options);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::GroupNormOptions options;  ///< num_groups may be changed after construction (set_norm_groups)
    torch::Tensor weight, bias;           ///< [channels] each, undefined without affine
};
TORCH_MODULE(GroupNorm);

class LayerNormImpl : public torch::nn::Module {
public:
    explicit LayerNormImpl(torch::nn::LayerNormOptions options);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::LayerNormOptions options;
    torch::Tensor weight, bias;  ///< normalized_shape each, undefined without elementwise_affine
};
TORCH_MODULE(LayerNorm);

class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t count, int64_t dim);
    torch::Tensor forward(const torch::Tensor& ids);

    torch::Tensor weight;  ///< [count, dim]
};
TORCH_MODULE(Embedding);

/// Makes every 4-d parameter of `module` (convolution weights) channels-last, in place. Convolutions then
/// run channels-last on channels-last input, so oneDNN reorders neither weights' layout nor activations.
/// With `channels_last` false, makes them plain contiguous (NCHW) again. CPU parameters stay NCHW where
/// oneDNN's channels-last kernels are not trusted (onednn::channels_last_trusted).
void use_channels_last(torch::nn::Module& module, bool channels_last = true);

}  // namespace sf::layers
