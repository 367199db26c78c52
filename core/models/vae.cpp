// Mirrors ldm/models/autoencoder.py and ldm/modules/diffusionmodules/model.py (CompVis/stable-diffusion).
#include "core/models/vae.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/attention.h"
#include "core/models/onednn.h"

namespace sf::vae {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

layers::Conv2d make_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
    return layers::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

layers::Conv2d conv3x3(int64_t in, int64_t out) { return make_conv(in, out, 3, 1, 1); }

}  // namespace

VAEConfig VAEConfig::sd() { return VAEConfig{}; }

VAEConfig VAEConfig::sd3() {
    return VAEConfig{.z_channels = 16, .embed_dim = 16, .use_quant_conv = false};
}

VAEConfig VAEConfig::tiny() { return VAEConfig{.ch = 32}; }

VAEConfig infer_vae_config(const Checkpoint& ckpt, const std::string& prefix) {
    auto shape = [&](const std::string& name) -> const std::vector<int64_t>& {
        return ckpt.info(prefix + name).shape;
    };
    auto has = [&](const std::string& name) { return ckpt.contains(prefix + name); };
    if (!has("encoder.conv_in.weight") || !has("decoder.conv_in.weight")) {
        throw Error("model '" + ckpt.path().string() + "': no VAE under '" + prefix +
                    "' (encoder.conv_in.weight / decoder.conv_in.weight missing)");
    }
    VAEConfig c;
    c.ch = shape("encoder.conv_in.weight")[0];
    c.in_channels = shape("encoder.conv_in.weight")[1];
    c.out_ch = shape("decoder.conv_out.weight")[0];
    c.ch_mult.clear();
    for (int i = 0; has("encoder.down." + std::to_string(i) + ".block.0.conv1.weight"); ++i) {
        c.ch_mult.push_back(shape("encoder.down." + std::to_string(i) + ".block.0.conv1.weight")[0] / c.ch);
    }
    if (c.ch_mult.empty()) {
        throw Error("model '" + ckpt.path().string() + "': VAE under '" + prefix + "' has no encoder.down.0");
    }
    c.num_res_blocks = 0;
    while (has("encoder.down.0.block." + std::to_string(c.num_res_blocks) + ".conv1.weight")) {
        ++c.num_res_blocks;
    }
    c.z_channels = shape("decoder.conv_in.weight")[1];
    c.double_z = shape("encoder.conv_out.weight")[0] == 2 * c.z_channels;
    c.use_quant_conv = has("quant_conv.weight");
    c.embed_dim = c.use_quant_conv ? shape("post_quant_conv.weight")[1] : c.z_channels;
    c.linear_attention = shape("encoder.mid.attn_1.q.weight").size() == 2;
    return c;
}

LatentScaling latent_scaling(LatentSpace space) {
    switch (space) {
        case LatentSpace::sd:
            return {0.18215, 0.0};
        case LatentSpace::sdxl:
            return {0.13025, 0.0};
        case LatentSpace::sd3:
            return {1.5305, 0.0609};
        case LatentSpace::flux:
            return {0.3611, 0.1159};
    }
    return {};
}

torch::Tensor to_model_latent(const torch::Tensor& z, LatentScaling s) {
    return s.shift == 0.0 ? z * s.scale : (z - s.shift) * s.scale;
}

torch::Tensor from_model_latent(const torch::Tensor& z, LatentScaling s) {
    return s.shift == 0.0 ? z / s.scale : z / s.scale + s.shift;
}

// VAE GroupNorms use eps 1e-6 (the UNet's ResBlocks use 1e-5; STYLE.md §3.6).
layers::GroupNorm vae_norm(int64_t channels) { return layers::GroupNorm(nn::GroupNormOptions(32, channels).eps(1e-6)); }

// ---- ResnetBlock -------------------------------------------------------------------------------------------

ResnetBlockImpl::ResnetBlockImpl(int64_t in_channels, int64_t out_channels)
    : norm1(register_module("norm1", vae_norm(in_channels))),
      conv1(register_module("conv1", conv3x3(in_channels, out_channels))),
      norm2(register_module("norm2", vae_norm(out_channels))),
      conv2(register_module("conv2", conv3x3(out_channels, out_channels))) {
    if (in_channels != out_channels) {
        nin_shortcut = register_module("nin_shortcut", make_conv(in_channels, out_channels, 1));
    }
}

torch::Tensor ResnetBlockImpl::forward(const torch::Tensor& x) {
    auto h = conv1(F::silu(norm1(x)));
    h = conv2(F::silu(norm2(h)));
    return (nin_shortcut ? nin_shortcut(x) : x) + h;
}

// ---- AttnBlock ---------------------------------------------------------------------------------------------

ProjectionImpl::ProjectionImpl(int64_t channels, bool linear) {
    // Same init as layers::Linear / a 1x1 layers::Conv2d (fan-in = channels); real weights come from the file.
    const double bound = 1.0 / std::sqrt(static_cast<double>(channels));
    auto uniform = [bound](torch::Tensor& t) { t.uniform_(-bound, bound); };
    weight = register_parameter("weight", linear ? layers::parameter({channels, channels}, uniform)
                                                 : layers::parameter({channels, channels, 1, 1}, uniform));
    bias = register_parameter("bias", layers::parameter({channels}, uniform));
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& tokens) {
    return onednn::linear(tokens, weight.view({weight.size(0), weight.size(1)}), bias);
}

AttnBlockImpl::AttnBlockImpl(int64_t channels, bool linear)
    : norm(register_module("norm", vae_norm(channels))),
      q(register_module("q", Projection(channels, linear))),
      k(register_module("k", Projection(channels, linear))),
      v(register_module("v", Projection(channels, linear))),
      proj_out(register_module("proj_out", Projection(channels, linear))) {}

torch::Tensor single_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    // [N, T, C] → [N, 1, T, C]: one head, scale C^-0.5.
    return sf::scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1);
}

torch::Tensor AttnBlockImpl::forward(const torch::Tensor& x) {
    const auto n = x.size(0);
    const auto c = x.size(1);
    const auto h = x.size(2);
    const auto w = x.size(3);
    auto tokens = norm(x).reshape({n, c, h * w}).transpose(1, 2);  // [N, H*W, C]
    auto out = single_head_attention(q(tokens), k(tokens), v(tokens));
    out = proj_out(out).transpose(1, 2).reshape({n, c, h, w});  // [N, C, H, W]
    return x + out;
}

// ---- Downsample / Upsample ---------------------------------------------------------------------------------

DownsampleImpl::DownsampleImpl(int64_t channels) : conv(register_module("conv", make_conv(channels, channels, 3, 2, 0))) {}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) {
    // Asymmetric: (left 0, right 1, top 0, bottom 1).
    return conv(F::pad(x, F::PadFuncOptions({0, 1, 0, 1})));
}

UpsampleImpl::UpsampleImpl(int64_t channels) : conv(register_module("conv", conv3x3(channels, channels))) {}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
    auto up = F::interpolate(
        x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
    return conv(up);
}

// ---- Levels and mid ----------------------------------------------------------------------------------------

DownLevelImpl::DownLevelImpl(int64_t in_channels, int64_t out_channels, int64_t num_blocks, bool downsample_)
    : block(register_module("block", nn::ModuleList())) {
    for (int64_t j = 0; j < num_blocks; ++j) {
        block->push_back(ResnetBlock(j == 0 ? in_channels : out_channels, out_channels));
    }
    if (downsample_) {
        downsample = register_module("downsample", Downsample(out_channels));
    }
}

torch::Tensor DownLevelImpl::forward(torch::Tensor x) {
    for (const auto& b : *block) {
        x = b->as<ResnetBlockImpl>()->forward(x);
    }
    return downsample ? downsample(x) : x;
}

UpLevelImpl::UpLevelImpl(int64_t in_channels, int64_t out_channels, int64_t num_blocks, bool upsample_)
    : block(register_module("block", nn::ModuleList())) {
    for (int64_t j = 0; j < num_blocks; ++j) {
        block->push_back(ResnetBlock(j == 0 ? in_channels : out_channels, out_channels));
    }
    if (upsample_) {
        upsample = register_module("upsample", Upsample(out_channels));
    }
}

torch::Tensor UpLevelImpl::forward(torch::Tensor x) {
    for (const auto& b : *block) {
        x = b->as<ResnetBlockImpl>()->forward(x);
    }
    return upsample ? upsample(x) : x;
}

MidImpl::MidImpl(int64_t channels, bool linear_attention)
    : block_1(register_module("block_1", ResnetBlock(channels, channels))),
      attn_1(register_module("attn_1", AttnBlock(channels, linear_attention))),
      block_2(register_module("block_2", ResnetBlock(channels, channels))) {}

torch::Tensor MidImpl::forward(const torch::Tensor& x) { return block_2(attn_1(block_1(x))); }

// ---- Encoder / Decoder -------------------------------------------------------------------------------------

EncoderImpl::EncoderImpl(const VAEConfig& c)
    : conv_in(register_module("conv_in", conv3x3(c.in_channels, c.ch))),
      down(register_module("down", nn::ModuleList())) {
    const auto levels = static_cast<int64_t>(c.ch_mult.size());
    int64_t block_in = c.ch;
    for (int64_t i = 0; i < levels; ++i) {
        const int64_t block_out = c.ch * c.ch_mult[i];
        down->push_back(DownLevel(block_in, block_out, c.num_res_blocks, i != levels - 1));
        block_in = block_out;
    }
    mid = register_module("mid", Mid(block_in, c.linear_attention));
    norm_out = register_module("norm_out", vae_norm(block_in));
    conv_out = register_module("conv_out", conv3x3(block_in, c.double_z ? 2 * c.z_channels : c.z_channels));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
    auto h = conv_in(x);
    for (const auto& level : *down) {
        h = level->as<DownLevelImpl>()->forward(h);
    }
    h = mid(h);
    return conv_out(F::silu(norm_out(h)));
}

DecoderImpl::DecoderImpl(const VAEConfig& c) : up(nullptr) {
    const auto levels = static_cast<int64_t>(c.ch_mult.size());
    const int64_t block_in = c.ch * c.ch_mult.back();
    conv_in = register_module("conv_in", conv3x3(c.z_channels, block_in));
    mid = register_module("mid", Mid(block_in, c.linear_attention));
    // Stored in index order 0 (highest resolution) .. levels-1; level i takes the channels of level i+1.
    up = register_module("up", nn::ModuleList());
    for (int64_t i = 0; i < levels; ++i) {
        const int64_t in = i == levels - 1 ? block_in : c.ch * c.ch_mult[i + 1];
        up->push_back(UpLevel(in, c.ch * c.ch_mult[i], c.num_res_blocks + 1, i != 0));
    }
    norm_out = register_module("norm_out", vae_norm(c.ch * c.ch_mult[0]));
    conv_out = register_module("conv_out", conv3x3(c.ch * c.ch_mult[0], c.out_ch));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) { return tail(head(z)); }

torch::Tensor DecoderImpl::head(const torch::Tensor& z) { return mid(conv_in(z)); }

torch::Tensor DecoderImpl::tail(torch::Tensor h) {
    for (int64_t i = static_cast<int64_t>(up->size()) - 1; i >= 0; --i) {  // up.3 runs first
        h = up[i]->as<UpLevelImpl>()->forward(h);
    }
    return conv_out(F::silu(norm_out(h)));
}

// ---- Posterior ---------------------------------------------------------------------------------------------

DiagonalGaussian posterior_from_moments(const torch::Tensor& moments) {
    auto halves = moments.chunk(2, 1);
    return DiagonalGaussian{halves[0], torch::clamp(halves[1], -30.0, 20.0), moments};
}

torch::Tensor DiagonalGaussian::sample(std::optional<at::Generator> generator) const {
    auto noise = generator ? at::randn(mean.sizes(), *generator, torch::dtype(torch::kFloat32))
                           : torch::randn(mean.sizes(), torch::dtype(torch::kFloat32));
    noise = noise.to(mean.device(), mean.scalar_type());
    return mean + torch::exp(0.5 * logvar) * noise;
}

// ---- AutoencoderKL -----------------------------------------------------------------------------------------

AutoencoderKLImpl::AutoencoderKLImpl(const VAEConfig& config)
    : encoder(register_module("encoder", Encoder(config))),
      decoder(register_module("decoder", Decoder(config))),
      config_(config) {
    if (config.use_quant_conv) {
        const int64_t moments = config.double_z ? 2 * config.z_channels : config.z_channels;
        quant_conv = register_module("quant_conv", make_conv(moments, 2 * config.embed_dim, 1));
        post_quant_conv = register_module("post_quant_conv", make_conv(config.embed_dim, config.z_channels, 1));
    }
}

torch::Tensor AutoencoderKLImpl::encode_moments(const torch::Tensor& image) {
    auto h = encoder(image);
    return quant_conv ? quant_conv(h) : h;
}

DiagonalGaussian AutoencoderKLImpl::encode(const torch::Tensor& image) {
    return posterior_from_moments(encode_moments(image));
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& latent) {
    return decoder(post_quant_conv ? post_quant_conv(latent) : latent);
}

torch::Tensor run_tiled(const torch::Tensor& input, int64_t tile, int64_t overlap, double scale,
                        const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
    if (tile <= 0 || overlap < 0 || overlap >= tile) {
        throw Error("tiling: need 0 <= overlap < tile (got tile " + std::to_string(tile) + ", overlap " +
                    std::to_string(overlap) + ")");
    }
    const int64_t h = input.size(2);
    const int64_t w = input.size(3);
    if (h <= tile && w <= tile) {
        return fn(input);
    }
    // Tile starts along one axis: a stride of tile - overlap, the last tile flush with the far edge.
    auto starts = [&](int64_t size) {
        std::vector<int64_t> s;
        if (size <= tile) {
            return std::vector<int64_t>{0};
        }
        for (int64_t p = 0;; p += tile - overlap) {
            if (p + tile >= size) {
                s.push_back(size - tile);
                break;
            }
            s.push_back(p);
        }
        return s;
    };
    // Linear ramp over the overlap on sides that touch another tile; 1 elsewhere. Length in output pixels.
    auto ramp = [&](int64_t len, bool ramp_start, bool ramp_end, int64_t feather) {
        auto r = torch::ones({len}, torch::kFloat32);
        if (feather <= 0) {
            return r;
        }
        auto pos = torch::arange(len, torch::kFloat32);
        auto up = ((pos + 0.5) / static_cast<double>(feather)).clamp(0.0, 1.0);
        auto down = ((static_cast<double>(len) - pos - 0.5) / static_cast<double>(feather)).clamp(0.0, 1.0);
        if (ramp_start) {
            r = r * up;
        }
        if (ramp_end) {
            r = r * down;
        }
        return r;
    };
    const auto ys = starts(h);
    const auto xs = starts(w);
    torch::Tensor out;
    torch::Tensor weight;
    for (size_t iy = 0; iy < ys.size(); ++iy) {
        for (size_t ix = 0; ix < xs.size(); ++ix) {
            const int64_t th = std::min(tile, h);
            const int64_t tw = std::min(tile, w);
            auto piece = fn(input.narrow(2, ys[iy], th).narrow(3, xs[ix], tw));
            const int64_t oy = std::llround(static_cast<double>(ys[iy]) * scale);
            const int64_t ox = std::llround(static_cast<double>(xs[ix]) * scale);
            const int64_t ph = piece.size(2);
            const int64_t pw = piece.size(3);
            if (!out.defined()) {
                out = torch::zeros({piece.size(0), piece.size(1), std::llround(h * scale), std::llround(w * scale)},
                                   piece.options());
                weight = torch::zeros({1, 1, out.size(2), out.size(3)}, piece.options());
            }
            // The feather spans the actual overlap with the neighbour (the last tile may overlap more).
            auto feather_to = [&](const std::vector<int64_t>& s, size_t i) {
                return i + 1 < s.size() ? std::llround((s[i] + tile - s[i + 1]) * scale) : int64_t{0};
            };
            auto feather_from = [&](const std::vector<int64_t>& s, size_t i) {
                return i > 0 ? std::llround((s[i - 1] + tile - s[i]) * scale) : int64_t{0};
            };
            auto ry = torch::ones({ph}, torch::kFloat32);
            if (iy > 0) {
                ry = ry * ramp(ph, true, false, feather_from(ys, iy));
            }
            if (iy + 1 < ys.size()) {
                ry = ry * ramp(ph, false, true, feather_to(ys, iy));
            }
            auto rx = torch::ones({pw}, torch::kFloat32);
            if (ix > 0) {
                rx = rx * ramp(pw, true, false, feather_from(xs, ix));
            }
            if (ix + 1 < xs.size()) {
                rx = rx * ramp(pw, false, true, feather_to(xs, ix));
            }
            auto mask = (ry.unsqueeze(1) * rx.unsqueeze(0)).to(piece.options()).unsqueeze(0).unsqueeze(0);
            out.narrow(2, oy, ph).narrow(3, ox, pw).add_(piece * mask);  // [N, C, ph, pw]
            weight.narrow(2, oy, ph).narrow(3, ox, pw).add_(mask);
        }
    }
    return out / weight;
}

torch::Tensor AutoencoderKLImpl::decode_tiled(const torch::Tensor& latent, TileOptions tiles) {
    const double scale = static_cast<double>(config_.downscale());
    if (tiles.global_mid && (latent.size(2) > tiles.tile || latent.size(3) > tiles.tile)) {
        auto h = decoder->head(post_quant_conv ? post_quant_conv(latent) : latent);
        return run_tiled(h, tiles.tile, tiles.overlap, scale, [this](const torch::Tensor& t) { return decoder->tail(t); });
    }
    return run_tiled(latent, tiles.tile, tiles.overlap, scale, [this](const torch::Tensor& t) { return decode(t); });
}

DiagonalGaussian AutoencoderKLImpl::encode_tiled(const torch::Tensor& image, TileOptions tiles) {
    const int64_t f = config_.downscale();
    if (tiles.tile % f != 0 || tiles.overlap % f != 0 || image.size(2) % f != 0 || image.size(3) % f != 0) {
        throw Error("tiled encode: image size, tile and overlap must be multiples of " + std::to_string(f));
    }
    auto moments = run_tiled(image, tiles.tile, tiles.overlap, 1.0 / static_cast<double>(f),
                             [this](const torch::Tensor& t) { return encode_moments(t); });
    return posterior_from_moments(moments);
}

// ---- FLOP count --------------------------------------------------------------------------------------------

double decode_flops(const VAEConfig& c, int64_t latent_h, int64_t latent_w) {
    double flops = 0;
    auto conv_f = [&](int64_t in, int64_t out, int64_t k, int64_t h, int64_t w) {
        flops += 2.0 * static_cast<double>(in) * out * k * k * h * w;
    };
    auto resnet = [&](int64_t in, int64_t out, int64_t h, int64_t w) {
        conv_f(in, out, 3, h, w);
        conv_f(out, out, 3, h, w);
        if (in != out) {
            conv_f(in, out, 1, h, w);
        }
    };
    int64_t h = latent_h;
    int64_t w = latent_w;
    if (c.use_quant_conv) {
        conv_f(c.embed_dim, c.z_channels, 1, h, w);
    }
    const int64_t levels = static_cast<int64_t>(c.ch_mult.size());
    int64_t ch = c.ch * c.ch_mult.back();
    conv_f(c.z_channels, ch, 3, h, w);
    resnet(ch, ch, h, w);
    const double t = static_cast<double>(h * w);
    flops += 4 * 2.0 * t * ch * ch + 2 * 2.0 * t * t * ch;  // q, k, v, proj_out; q k^T and (.) v
    resnet(ch, ch, h, w);
    for (int64_t i = levels - 1; i >= 0; --i) {
        const int64_t out = c.ch * c.ch_mult[i];
        for (int64_t j = 0; j < c.num_res_blocks + 1; ++j) {
            resnet(j == 0 ? ch : out, out, h, w);
        }
        ch = out;
        if (i != 0) {
            h *= 2;
            w *= 2;
            conv_f(ch, ch, 3, h, w);
        }
    }
    conv_f(ch, c.out_ch, 3, h, w);
    return flops;
}

}  // namespace sf::vae
