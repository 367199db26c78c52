#include "core/models/layers.h"

#include <cmath>

#include "core/error.h"
#include "core/models/onednn.h"

namespace sf::layers {
namespace {

thread_local bool skip_init = false;

namespace init = torch::nn::init;

/// torch::nn's default for Conv2d and Linear: Kaiming-uniform weights (a = √5), then the bias uniform in
/// ±1/√fan_in.
void kaiming_uniform(torch::Tensor& weight) { init::kaiming_uniform_(weight, std::sqrt(5.0)); }

void fan_in_uniform(torch::Tensor& bias, const torch::Tensor& weight) {
    const auto fan_in = std::get<0>(init::_calculate_fan_in_and_fan_out(weight));
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound);
}

void ones(torch::Tensor& t) { init::ones_(t); }
void zeros(torch::Tensor& t) { init::zeros_(t); }

}  // namespace

SkipInit::SkipInit() : previous_(skip_init) { skip_init = true; }
SkipInit::~SkipInit() { skip_init = previous_; }
bool SkipInit::active() { return skip_init; }

torch::Tensor parameter(at::IntArrayRef shape, const std::function<void(torch::Tensor&)>& init) {
    auto t = torch::empty(shape);
    if (!skip_init) {
        torch::NoGradGuard no_grad;
        init(t);
    }
    return t;
}

Conv2dImpl::Conv2dImpl(torch::nn::Conv2dOptions o) : options(std::move(o)) {
    // Unqualified: found by argument-dependent lookup in c10 (libtorch 1.x's variant) or std (2.x).
    if (!get_if<torch::ExpandingArray<2>>(&options.padding()) ||
        !holds_alternative<torch::enumtype::kZeros>(options.padding_mode())) {
        throw Error("Conv2d: only numeric zero padding is supported");
    }
    const auto k = *options.kernel_size();
    weight = register_parameter(
        "weight", parameter({options.out_channels(), options.in_channels() / options.groups(), k[0], k[1]},
                            kaiming_uniform));
    if (options.bias()) {
        bias = register_parameter("bias", parameter({options.out_channels()}, [&](torch::Tensor& b) {
                                      fan_in_uniform(b, weight);
                                  }));
    }
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
    const auto& padding = *get_if<torch::ExpandingArray<2>>(&options.padding());
    // Where oneDNN's channels-last kernels are not trusted, NCHW in and out on the CPU: activations turn
    // channels-last on their own (a transformer's tokens reshaped back to an image are a channels-last view), and
    // libtorch follows the input's layout into the kernel.
    const bool nchw = !onednn::channels_last_trusted() && x.is_cpu();
    return torch::conv2d(nchw ? x.contiguous() : x, nchw ? weight.contiguous() : weight, bias, *options.stride(),
                         *padding, *options.dilation(), options.groups());
}

LinearImpl::LinearImpl(torch::nn::LinearOptions o) : options(std::move(o)) {
    weight = register_parameter("weight", parameter({options.out_features(), options.in_features()},
                                                    kaiming_uniform));
    if (options.bias()) {
        bias = register_parameter("bias", parameter({options.out_features()}, [&](torch::Tensor& b) {
                                      fan_in_uniform(b, weight);
                                  }));
    }
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    return onednn::linear(x, weight, bias);
}

GroupNormImpl::GroupNormImpl(torch::nn::GroupNormOptions o) : options(std::move(o)) {
    if (options.affine()) {
        weight = register_parameter("weight", parameter({options.num_channels()}, ones));
        bias = register_parameter("bias", parameter({options.num_channels()}, zeros));
    }
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
    return torch::group_norm(x, options.num_groups(), weight, bias, options.eps());
}

LayerNormImpl::LayerNormImpl(torch::nn::LayerNormOptions o) : options(std::move(o)) {
    if (options.elementwise_affine()) {
        weight = register_parameter("weight", parameter(options.normalized_shape(), ones));
        bias = register_parameter("bias", parameter(options.normalized_shape(), zeros));
    }
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
    return torch::layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

EmbeddingImpl::EmbeddingImpl(int64_t count, int64_t dim) {
    weight = register_parameter("weight", parameter({count, dim}, [](torch::Tensor& w) { init::normal_(w); }));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

void use_channels_last(torch::nn::Module& module, bool channels_last) {
    torch::NoGradGuard no_grad;
    const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    for (auto& p : module.parameters()) {
        if (channels_last && p.is_cpu() && !onednn::channels_last_trusted()) {
            continue;  // stays NCHW
        }
        if (p.dim() == 4) {
            p.set_data(p.contiguous(format));
        }
    }
}

}  // namespace sf::layers
