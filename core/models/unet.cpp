// core/models/unet.cpp: mirrors ldm/modules/diffusionmodules/openaimodel.py and ldm/modules/attention.py
// (CompVis/stable-diffusion, Stability-AI/stablediffusion, and sgm's openaimodel.py for SDXL).
#include "core/models/unet.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/models/attention.h"

namespace sf::unet {
namespace nn = torch::nn;

namespace {

/// GroupNorm32 of openaimodel (eps 1e-5), or the transformer's norm (eps 1e-6).
layers::GroupNorm group_norm(int64_t channels, double eps = 1e-5) {
    return layers::GroupNorm(nn::GroupNormOptions(32, channels).eps(eps).affine(true));
}

layers::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
    return layers::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

layers::Conv2d conv1x1(int64_t in, int64_t out) {
    return layers::Conv2d(nn::Conv2dOptions(in, out, 1));
}

layers::Linear linear(int64_t in, int64_t out, bool bias = true) {
    return layers::Linear(nn::LinearOptions(in, out).bias(bias));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Config

UNetConfig UNetConfig::sd15() {
    return {};
}

UNetConfig UNetConfig::sd21() {
    return {.context_dim = 1024, .num_head_channels = 64, .use_linear_projection = true};
}

UNetConfig UNetConfig::sdxl_base() {
    return {.channel_mult = {1, 2, 4},
            .transformer_depth = {0, 2, 10},
            .transformer_depth_middle = 10,
            .context_dim = 2048,
            .num_head_channels = 64,
            .use_linear_projection = true,
            .adm_in_channels = 2816};
}

UNetConfig UNetConfig::sdxl_refiner() {
    return {.model_channels = 384,
            .channel_mult = {1, 2, 4, 4},
            .transformer_depth = {0, 4, 4, 0},
            .transformer_depth_middle = 4,
            .context_dim = 1280,
            .num_head_channels = 64,
            .use_linear_projection = true,
            .adm_in_channels = 2560};
}

std::pair<int64_t, int64_t> UNetConfig::heads_for(int64_t channels) const {
    if (num_head_channels > 0) {
        return {channels / num_head_channels, num_head_channels};
    }
    return {num_heads, channels / num_heads};
}

std::string UNetConfig::summary() const {
    std::ostringstream s;
    auto list = [&](const std::vector<int64_t>& v) {
        for (size_t i = 0; i < v.size(); ++i) {
            s << (i ? "," : "") << v[i];
        }
    };
    s << "in " << in_channels << ", out " << out_channels << ", mc " << model_channels << ", mult ";
    list(channel_mult);
    s << ", res " << num_res_blocks << ", depth ";
    list(transformer_depth);
    s << "/" << transformer_depth_middle << ", ctx " << context_dim << ", ";
    if (num_head_channels > 0) {
        s << "head width " << num_head_channels;
    } else {
        s << num_heads << " heads";
    }
    s << ", " << (use_linear_projection ? "linear" : "conv") << " proj";
    if (adm_in_channels > 0) {
        s << ", adm " << adm_in_channels;
    }
    return s.str();
}

UNetConfig infer_unet_config(const Checkpoint& ckpt, const std::string& prefix) {
    auto where = [&] { return "model '" + ckpt.path().string() + "': "; };
    auto shape = [&](const std::string& key) -> const std::vector<int64_t>& {
        if (!ckpt.contains(prefix + key)) {
            throw Error(where() + "not a UNet: missing " + prefix + key);
        }
        return ckpt.info(prefix + key).shape;
    };
    auto has = [&](const std::string& key) { return ckpt.contains(prefix + key); };

    // Per input block: downsampler?, transformer depth (0 = none). Transformer blocks per middle block.
    std::map<int64_t, std::set<int64_t>> input_depth;
    std::set<int64_t> middle_depth;
    int64_t input_count = 0;
    for (const auto& key : ckpt.keys()) {
        if (key.rfind(prefix, 0) != 0) {
            continue;
        }
        const std::string rel = key.substr(prefix.size());
        int64_t n = -1, j = -1;
        if (std::sscanf(rel.c_str(), "input_blocks.%ld.", &n) == 1) {
            input_count = std::max(input_count, n + 1);
            if (std::sscanf(rel.c_str(), "input_blocks.%ld.1.transformer_blocks.%ld.", &n, &j) == 2) {
                input_depth[n].insert(j);
            }
        } else if (std::sscanf(rel.c_str(), "middle_block.1.transformer_blocks.%ld.", &j) == 1) {
            middle_depth.insert(j);
        }
    }

    UNetConfig c;
    const auto& conv_in = shape("input_blocks.0.0.weight");  // [mc, in, 3, 3]
    if (conv_in.size() != 4) {
        throw Error(where() + "input_blocks.0.0.weight is not a conv kernel");
    }
    c.model_channels = conv_in[0];
    c.in_channels = conv_in[1];
    c.out_channels = shape("out.2.weight")[0];
    c.adm_in_channels = has("label_emb.0.0.weight") ? shape("label_emb.0.0.weight")[1] : 0;

    c.channel_mult.clear();
    c.transformer_depth.clear();
    int64_t res_in_level = 0;
    c.num_res_blocks = -1;
    for (int64_t n = 1; n < input_count; ++n) {
        const std::string b = "input_blocks." + std::to_string(n) + ".";
        if (has(b + "0.op.weight")) {
            if (c.num_res_blocks < 0) {
                c.num_res_blocks = res_in_level;
            } else if (res_in_level != c.num_res_blocks) {
                throw Error(where() + "levels with different numbers of res blocks are not supported");
            }
            res_in_level = 0;
            continue;
        }
        if (res_in_level == 0) {
            c.channel_mult.push_back(shape(b + "0.out_layers.3.weight")[0] / c.model_channels);
            auto it = input_depth.find(n);
            c.transformer_depth.push_back(it == input_depth.end() ? 0
                                                                  : static_cast<int64_t>(it->second.size()));
        }
        ++res_in_level;
    }
    if (c.num_res_blocks < 0) {
        c.num_res_blocks = res_in_level;
    }
    if (c.channel_mult.empty() || c.num_res_blocks <= 0) {
        throw Error(where() + "no UNet input blocks under '" + prefix + "'");
    }
    c.transformer_depth_middle = static_cast<int64_t>(middle_depth.size());
    if (c.transformer_depth_middle == 0) {
        throw Error(where() + "the middle block has no transformer");
    }
    c.context_dim = shape("middle_block.1.transformer_blocks.0.attn2.to_k.weight")[1];
    c.use_linear_projection = shape("middle_block.1.proj_in.weight").size() == 2;
    // Family convention (cannot be read from shapes): SD1 fixes 8 heads, SD2/SDXL fix the head width at 64.
    if (c.use_linear_projection) {
        c.num_head_channels = 64;
    } else {
        c.num_heads = 8;
        c.num_head_channels = -1;
    }
    return c;
}

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, double max_period) {
    const int64_t half = dim / 2;
    auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(timesteps.device());
    // float32 throughout, in ldm's order of operations: at t≈1e3 rad, float64 frequencies differ by ~1e-4.
    auto freqs = torch::exp(torch::arange(0, half, opts) * (-std::log(max_period)) / half);  // [half]
    auto args = timesteps.to(torch::kFloat32).reshape({-1, 1}) * freqs.unsqueeze(0);         // [N, half]
    auto emb = torch::cat({torch::cos(args), torch::sin(args)}, -1);                         // [N, 2 half]
    if (dim % 2) {
        emb = torch::cat({emb, torch::zeros_like(emb.slice(1, 0, 1))}, -1);
    }
    return emb;
}

// ---------------------------------------------------------------------------------------------------------
// openaimodel.py blocks

ResBlockImpl::ResBlockImpl(int64_t channels, int64_t emb_channels, int64_t out_channels)
    : in_layers(register_module(
          "in_layers", nn::Sequential(group_norm(channels), nn::SiLU(), conv3x3(channels, out_channels)))),
      emb_layers(
          register_module("emb_layers", nn::Sequential(nn::SiLU(), linear(emb_channels, out_channels)))),
      out_layers(
          register_module("out_layers", nn::Sequential(group_norm(out_channels), nn::SiLU(), nn::Dropout(0.0),
                                                       conv3x3(out_channels, out_channels)))) {
    if (channels != out_channels) {
        skip_connection = register_module("skip_connection", conv1x1(channels, out_channels));
    }
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
    auto h = in_layers->forward(x);
    h = h +
        emb_layers->forward(emb).to(h.scalar_type()).unsqueeze(-1).unsqueeze(-1);  // [N, C] → [N, C, 1, 1]
    h = out_layers->forward(h);
    return (skip_connection.is_empty() ? x : skip_connection(x)) + h;
}

DownsampleImpl::DownsampleImpl(int64_t channels, int64_t out_channels)
    : op(register_module("op", conv3x3(channels, out_channels, 2))) {}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) {
    return op(x);
}

UpsampleImpl::UpsampleImpl(int64_t channels, int64_t out_channels)
    : conv(register_module("conv", conv3x3(channels, out_channels))) {}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
    return conv(at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));  // [N, C, 2H, 2W]
}

// ---------------------------------------------------------------------------------------------------------
// attention.py blocks

CrossAttentionImpl::CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t heads_,
                                       int64_t dim_head)
    : heads(heads_),
      to_q(register_module("to_q", linear(query_dim, heads_ * dim_head, false))),
      to_k(register_module("to_k", linear(context_dim, heads_ * dim_head, false))),
      to_v(register_module("to_v", linear(context_dim, heads_ * dim_head, false))),
      to_out(register_module("to_out",
                             nn::Sequential(linear(heads_ * dim_head, query_dim), nn::Dropout(0.0)))) {}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
    const auto& ctx = context.defined() ? context : x;
    const int64_t b = x.size(0), t = x.size(1), s = ctx.size(1);
    auto split = [&](const torch::Tensor& y, int64_t len) {
        return y.view({b, len, heads, -1}).transpose(1, 2);  // [B, T, h d] → [B, h, T, d]
    };
    auto q = split(to_q(x), t);
    auto k = split(to_k(ctx), s);
    auto v = split(to_v(ctx), s);
    auto o = sf::scaled_dot_product_attention(q, k, v);  // [B, h, T, d]
    o = o.transpose(1, 2).reshape({b, t, -1});       // [B, T, h d]
    return to_out->forward(o);
}

GEGLUImpl::GEGLUImpl(int64_t dim_in, int64_t dim_out)
    : proj(register_module("proj", linear(dim_in, dim_out * 2))) {}

torch::Tensor GEGLUImpl::forward(const torch::Tensor& x) {
    auto parts = proj(x).chunk(2, -1);  // value first, gate second
    return parts[0] * torch::gelu(parts[1]);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim)
    : net(register_module("net",
                          nn::Sequential(GEGLU(dim, 4 * dim), nn::Dropout(0.0), linear(4 * dim, dim)))) {}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
    return net->forward(x);
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                                                     int64_t context_dim)
    : attn1(register_module("attn1", CrossAttention(dim, dim, heads, dim_head))),
      ff(register_module("ff", FeedForward(dim))),
      attn2(register_module("attn2", CrossAttention(dim, context_dim, heads, dim_head))),
      norm1(register_module("norm1", layers::LayerNorm(nn::LayerNormOptions({dim})))),
      norm2(register_module("norm2", layers::LayerNorm(nn::LayerNormOptions({dim})))),
      norm3(register_module("norm3", layers::LayerNorm(nn::LayerNormOptions({dim})))) {}

torch::Tensor BasicTransformerBlockImpl::forward(const torch::Tensor& x_in, const torch::Tensor& context) {
    auto x = attn1(norm1(x_in)) + x_in;
    x = attn2(norm2(x), context) + x;
    return ff(norm3(x)) + x;
}

SpatialTransformerImpl::SpatialTransformerImpl(int64_t channels, int64_t heads, int64_t dim_head,
                                               int64_t depth, int64_t context_dim, bool use_linear_)
    : use_linear(use_linear_), norm(register_module("norm", group_norm(channels, 1e-6))) {
    const int64_t inner = heads * dim_head;
    if (use_linear) {
        proj_in_linear = register_module("proj_in", linear(channels, inner));
    } else {
        proj_in_conv = register_module("proj_in", conv1x1(channels, inner));
    }
    transformer_blocks = register_module("transformer_blocks", nn::ModuleList());
    for (int64_t d = 0; d < depth; ++d) {
        transformer_blocks->push_back(BasicTransformerBlock(inner, heads, dim_head, context_dim));
    }
    if (use_linear) {
        proj_out_linear = register_module("proj_out", linear(inner, channels));
    } else {
        proj_out_conv = register_module("proj_out", conv1x1(inner, channels));
    }
}

torch::Tensor SpatialTransformerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& context) {
    const int64_t b = x_in.size(0), h = x_in.size(2), w = x_in.size(3);
    auto x = norm(x_in);
    if (!use_linear) {
        x = proj_in_conv(x);
    }
    const int64_t c = x.size(1);
    x = x.permute({0, 2, 3, 1}).reshape({b, h * w, c});  // [B, H W, C], token = y * W + x
    if (use_linear) {
        x = proj_in_linear(x);
    }
    for (const auto& block : *transformer_blocks) {
        x = block->as<BasicTransformerBlock>()->forward(x, context);
    }
    if (use_linear) {
        x = proj_out_linear(x);
    }
    x = x.reshape({b, h, w, x.size(2)}).permute({0, 3, 1, 2});  // [B, C, H, W]
    if (!use_linear) {
        x = proj_out_conv(x);
    }
    return x + x_in;
}

// ---------------------------------------------------------------------------------------------------------
// TimestepEmbedSequential

void TimestepEmbedSequentialImpl::push_back(layers::Conv2d m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) mutable {
        return m->forward(x);
    });
}

void TimestepEmbedSequentialImpl::push_back(ResBlock m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor&) mutable {
        return m->forward(x, emb);
    });
}

void TimestepEmbedSequentialImpl::push_back(SpatialTransformer m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const torch::Tensor& x, const torch::Tensor&, const torch::Tensor& context) mutable {
        return m->forward(x, context);
    });
}

void TimestepEmbedSequentialImpl::push_back(Downsample m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) mutable {
        return m->forward(x);
    });
}

void TimestepEmbedSequentialImpl::push_back(Upsample m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) mutable {
        return m->forward(x);
    });
}

torch::Tensor TimestepEmbedSequentialImpl::forward(torch::Tensor x, const torch::Tensor& emb,
                                                   const torch::Tensor& context) {
    for (const auto& step : steps_) {
        x = step(x, emb, context);
    }
    return x;
}

// ---------------------------------------------------------------------------------------------------------
// UNetModel

UNetModelImpl::UNetModelImpl(UNetConfig config) : config_(std::move(config)) {
    const auto& c = config_;
    if (c.transformer_depth.size() != c.channel_mult.size()) {
        throw Error("UNet config: transformer_depth needs one entry per channel_mult level");
    }
    const int64_t mc = c.model_channels;
    const int64_t ted = 4 * mc;
    time_embed = register_module("time_embed", nn::Sequential(linear(mc, ted), nn::SiLU(), linear(ted, ted)));
    if (c.adm_in_channels > 0) {
        // label_emb.0.0 / label_emb.0.2: libtorch's Sequential cannot hold a Sequential, so the outer one is
        // a list.
        label_emb = register_module("label_emb", nn::ModuleList());
        label_mlp_ = nn::Sequential(linear(c.adm_in_channels, ted), nn::SiLU(), linear(ted, ted));
        label_emb->push_back(label_mlp_);
    }
    auto transformer = [&](int64_t ch, int64_t depth) {
        auto [heads, dim_head] = c.heads_for(ch);
        return SpatialTransformer(ch, heads, dim_head, depth, c.context_dim, c.use_linear_projection);
    };

    input_blocks = register_module("input_blocks", nn::ModuleList());
    auto add_input = [&](TimestepEmbedSequential block) {
        input_blocks->push_back(block);
        inputs_.push_back(block);
    };
    TimestepEmbedSequential first;
    first->push_back(conv3x3(c.in_channels, mc));
    add_input(first);
    std::vector<int64_t> skip_channels = {mc};
    int64_t ch = mc;
    const size_t levels = c.channel_mult.size();
    for (size_t level = 0; level < levels; ++level) {
        for (int64_t r = 0; r < c.num_res_blocks; ++r) {
            TimestepEmbedSequential block;
            block->push_back(ResBlock(ch, ted, c.channel_mult[level] * mc));
            ch = c.channel_mult[level] * mc;
            if (c.transformer_depth[level] > 0) {
                block->push_back(transformer(ch, c.transformer_depth[level]));
            }
            add_input(block);
            skip_channels.push_back(ch);
        }
        if (level + 1 != levels) {
            TimestepEmbedSequential down;
            down->push_back(Downsample(ch, ch));
            add_input(down);
            skip_channels.push_back(ch);
        }
    }

    middle_block = register_module("middle_block", TimestepEmbedSequential());
    middle_block->push_back(ResBlock(ch, ted, ch));
    middle_block->push_back(transformer(ch, c.transformer_depth_middle));
    middle_block->push_back(ResBlock(ch, ted, ch));

    output_blocks = register_module("output_blocks", nn::ModuleList());
    for (size_t level = levels; level-- > 0;) {
        for (int64_t i = 0; i <= c.num_res_blocks; ++i) {
            const int64_t skip = skip_channels.back();
            skip_channels.pop_back();
            TimestepEmbedSequential block;
            block->push_back(ResBlock(ch + skip, ted, c.channel_mult[level] * mc));
            ch = c.channel_mult[level] * mc;
            if (c.transformer_depth[level] > 0) {
                block->push_back(transformer(ch, c.transformer_depth[level]));
            }
            if (level > 0 && i == c.num_res_blocks) {
                block->push_back(Upsample(ch, ch));
            }
            output_blocks->push_back(block);
            outputs_.push_back(block);
        }
    }
    out = register_module("out", nn::Sequential(group_norm(ch), nn::SiLU(), conv3x3(mc, c.out_channels)));
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x, const torch::Tensor& timesteps,
                                     const torch::Tensor& context, const torch::Tensor& y, UNetTrace* trace) {
    const auto dtype = time_embed->parameters()[0].scalar_type();
    auto t_emb = timestep_embedding(timesteps.to(x.device()), config_.model_channels);  // [N, mc] float32
    if (t_emb.size(0) == 1 && x.size(0) > 1) {
        t_emb = t_emb.expand({x.size(0), -1});
    }
    auto emb = time_embed->forward(t_emb.to(dtype));  // [N, 4 mc]
    if (config_.adm_in_channels > 0) {
        if (!y.defined() || y.size(-1) != config_.adm_in_channels) {
            throw Error("UNet: this model needs the vector conditioning y [N, " +
                        std::to_string(config_.adm_in_channels) + "]");
        }
        emb = emb + label_mlp_->forward(y.to(dtype));
    }
    if (trace) {
        trace->t_emb = t_emb;
        trace->emb = emb;
    }
    const auto ctx = context.to(dtype);
    // Block times of a traced call: on a GPU the queue is drained at each boundary, so they are real times.
    auto sync = [&] {
        if (trace && x.is_cuda()) {
            torch::cuda::synchronize(x.device().index());
        }
    };
    sync();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<torch::Tensor> skips;
    skips.reserve(inputs_.size());
    auto h = x.to(dtype);
    const auto conv_in = inputs_.front()->parameters().front();  // input_blocks.0.0.weight
    if (conv_in.is_contiguous(at::MemoryFormat::ChannelsLast)) {
        h = h.contiguous(at::MemoryFormat::ChannelsLast);  // weights loaded channels-last: run so throughout
    }
    for (auto& block : inputs_) {
        h = block->forward(h, emb, ctx);
        skips.push_back(h);
    }
    if (trace) {
        sync();
        trace->input_blocks_s = seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
    }
    h = middle_block->forward(h, emb, ctx);
    if (trace) {
        sync();
        trace->mid = h;
        trace->middle_block_s = seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
    }
    for (auto& block : outputs_) {
        h = torch::cat({h, skips.back()}, 1);  // [N, C + C_skip, H, W], current features first
        skips.pop_back();
        h = block->forward(h, emb, ctx);
    }
    h = out->forward(h).contiguous();
    if (trace) {
        sync();
        trace->output_blocks_s = seconds_since(t0);
    }
    return h;
}

}  // namespace sf::unet
