// Mirrors madebyollin/taesd taesd.py (Encoder, Decoder, Block, Clamp; use_midblock_gn for flux_2).
#include "core/models/taesd.h"

#include "core/checkpoint/load.h"
#include "core/models/layers.h"
#include "core/models/onednn.h"
#include "core/error.h"

namespace sf::taesd {
namespace nn = torch::nn;

namespace {

constexpr int64_t kWidth = 64;

layers::Conv2d conv3(int64_t in, int64_t out, bool bias = true, int64_t stride = 1) {
    return layers::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).stride(stride).bias(bias));
}

nn::Upsample upsample2() {
    return nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}

/// `half` on `x` in the weights' dtype and device (channels-last on the CPU, as the weights), returned
/// contiguous in x's dtype.
torch::Tensor run(nn::Sequential& half, const torch::Tensor& x) {
    const auto weight = half->parameters().front();
    auto input = x.to(weight.device(), weight.scalar_type());
    if (input.is_cpu()) {
        input = input.contiguous(at::MemoryFormat::ChannelsLast);
    }
    return half->forward(input).to(x.scalar_type()).contiguous();
}

}  // namespace

TAESDConfig infer_taesd_config(const Checkpoint& ckpt, const std::string& prefix) {
    TAESDConfig c;
    if (ckpt.contains(prefix + "14.weight") && ckpt.info(prefix + "14.weight").shape.size() == 4 &&
        ckpt.contains(prefix + "0.weight")) {
        // Encoder: 14 is conv 64 → latent.
        c.latent_channels = ckpt.info(prefix + "14.weight").shape[0];
        c.midblock_gn = ckpt.contains(prefix + "11.pool.0.weight");
        return c;
    }
    if (ckpt.contains(prefix + "1.weight") && ckpt.contains(prefix + "19.weight")) {
        // Decoder: 1 is conv latent → 64.
        c.latent_channels = ckpt.info(prefix + "1.weight").shape[1];
        c.midblock_gn = ckpt.contains(prefix + "3.pool.0.weight");
        return c;
    }
    throw Error("model '" + ckpt.path().string() + "': not a TAESD encoder or decoder under '" + prefix +
                "' (expected 0.weight/14.weight or 1.weight/19.weight)");
}

torch::Tensor ClampImpl::forward(const torch::Tensor& x) { return torch::tanh(x / 3) * 3; }

BlockImpl::BlockImpl(int64_t channels, bool with_pool)
    : conv(register_module("conv", nn::Sequential(conv3(channels, channels), nn::ReLU(), conv3(channels, channels),
                                                  nn::ReLU(), conv3(channels, channels)))) {
    if (with_pool) {
        const int64_t wide = 4 * channels;
        pool = register_module(
            "pool", nn::Sequential(layers::Conv2d(nn::Conv2dOptions(channels, wide, 1).bias(false)),
                                   layers::GroupNorm(nn::GroupNormOptions(4, wide).eps(1e-5)), nn::ReLU(),
                                   layers::Conv2d(nn::Conv2dOptions(wide, channels, 1).bias(false))));
    }
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
    if (pool) {
        // The GroupNorm sees the whole feature map: tiles would not reproduce full-image results.
        x = x + pool->forward(x);
    }
    return torch::relu(conv->forward(x) + x);
}

nn::Sequential make_encoder(const TAESDConfig& c) {
    nn::Sequential s;
    s->push_back(conv3(3, kWidth));                          // 0
    s->push_back(Block(kWidth, false));                      // 1
    for (int level = 0; level < 3; ++level) {                // 2-5, 6-9, 10-13
        s->push_back(conv3(kWidth, kWidth, false, 2));
        const bool pool = c.midblock_gn && level == 2;
        for (int j = 0; j < 3; ++j) {
            s->push_back(Block(kWidth, pool));
        }
    }
    s->push_back(conv3(kWidth, c.latent_channels));          // 14
    return s;
}

nn::Sequential make_decoder(const TAESDConfig& c) {
    nn::Sequential s;
    s->push_back(Clamp());                                   // 0
    s->push_back(conv3(c.latent_channels, kWidth));          // 1
    s->push_back(nn::ReLU());                                // 2
    for (int level = 0; level < 3; ++level) {                // 3-7, 8-12, 13-17
        for (int j = 0; j < 3; ++j) {
            s->push_back(Block(kWidth, c.midblock_gn && level == 0));
        }
        s->push_back(upsample2());
        s->push_back(conv3(kWidth, kWidth, false));
    }
    s->push_back(Block(kWidth, false));                      // 18
    s->push_back(conv3(kWidth, 3));                          // 19
    return s;
}

TAESD::TAESD(TAESDConfig config, torch::nn::Sequential encoder, torch::nn::Sequential decoder)
    : config_(config), encoder_(std::move(encoder)), decoder_(std::move(decoder)) {
    for (auto* half : {&encoder_, &decoder_}) {
        if (!half->is_empty() && (*half)->parameters().front().is_cpu()) {
            layers::use_channels_last(**half);
        }
    }
}

TAESD TAESD::load(const Checkpoint* encoder_ckpt, const Checkpoint* decoder_ckpt, torch::Device device,
                  torch::Dtype dtype, const std::string& prefix) {
    if (!encoder_ckpt && !decoder_ckpt) {
        throw Error("TAESD: neither an encoder nor a decoder given");
    }
    TAESDConfig config;
    nn::Sequential encoder{nullptr}, decoder{nullptr};
    LoadOptions options{.device = device, .dtype = dtype, .ignore = {}};
    layers::SkipInit skip_init;  // each half is loaded right after it is built
    if (encoder_ckpt) {
        config = infer_taesd_config(*encoder_ckpt, prefix);
        encoder = make_encoder(config);
        load_module(*encoder, *encoder_ckpt, prefix, options);
        encoder->eval();
    }
    if (decoder_ckpt) {
        const auto dc = infer_taesd_config(*decoder_ckpt, prefix);
        if (encoder_ckpt && dc.latent_channels != config.latent_channels) {
            throw Error("TAESD: encoder '" + encoder_ckpt->path().string() + "' has " +
                        std::to_string(config.latent_channels) + " latent channels, decoder '" +
                        decoder_ckpt->path().string() + "' " + std::to_string(dc.latent_channels));
        }
        config = dc;
        decoder = make_decoder(config);
        load_module(*decoder, *decoder_ckpt, prefix, options);
        decoder->eval();
    }
    return TAESD(config, encoder, decoder);
}

TAESD TAESD::load(const std::filesystem::path& encoder_path, const std::filesystem::path& decoder_path,
                  torch::Device device, torch::Dtype dtype) {
    std::optional<Checkpoint> enc;
    std::optional<Checkpoint> dec;
    if (!encoder_path.empty()) {
        enc = Checkpoint::open(encoder_path);
    }
    if (!decoder_path.empty()) {
        dec = Checkpoint::open(decoder_path);
    }
    return load(enc ? &*enc : nullptr, dec ? &*dec : nullptr, device, dtype);
}

torch::Tensor TAESD::encode(const torch::Tensor& image) {
    if (encoder_.is_empty()) {
        throw Error("TAESD: no encoder loaded");
    }
    return run(encoder_, image);
}

torch::Tensor TAESD::decode(const torch::Tensor& latent) {
    if (decoder_.is_empty()) {
        throw Error("TAESD: no decoder loaded");
    }
    return run(decoder_, latent);
}

torch::Dtype cpu_preview_dtype() {
#if defined(__x86_64__) || defined(__i386__)
    // Measured through oneDNN's channels-last kernels (33.7 dB from the reference decode with libtorch 1.13). On
    // libtorch 2.6 the NCHW bfloat16 decode that remains is 25.5 dB from it: there previews stay float32.
    static const bool native_bf16 =
        onednn::channels_last_trusted() && at::hasMKLDNN() && __builtin_cpu_supports("avx512bf16");
    return native_bf16 ? torch::kBFloat16 : torch::kFloat32;
#else
    return torch::kFloat32;
#endif
}

torch::Tensor scale_latents(const torch::Tensor& x) { return (x / (2 * 3) + 0.5).clamp(0, 1); }

torch::Tensor unscale_latents(const torch::Tensor& y) { return (y - 0.5) * (2 * 3); }

double decode_flops(const TAESDConfig& c, int64_t latent_h, int64_t latent_w) {
    const double k3 = 2.0 * 9 * kWidth * kWidth;  // per output pixel of a 64 → 64 3x3 conv
    double px = static_cast<double>(latent_h * latent_w);
    double flops = 2.0 * 9 * c.latent_channels * kWidth * px;
    for (int level = 0; level < 3; ++level) {
        flops += 3 * 3 * k3 * px;  // three blocks of three convs
        if (c.midblock_gn && level == 0) {
            flops += 3 * 2 * 2.0 * kWidth * 4 * kWidth * px;
        }
        px *= 4;
        flops += k3 * px;
    }
    flops += 3 * k3 * px + 2.0 * 9 * kWidth * 3 * px;
    return flops;
}

}  // namespace sf::taesd
