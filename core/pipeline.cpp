#include "core/pipeline.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/checkpoint/family.h"
#include "core/checkpoint/load.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/host_memory.h"
#include "core/log.h"
#include "core/models/clip.h"
#include "core/models/latent_preview.h"
#include "core/models/layers.h"
#include "core/models/norm_groups.h"
#include "core/models/onednn.h"
#include "core/models/open_clip.h"
#include "core/models/prediction.h"
#include "core/models/prompt_parser.h"
#include "core/models/sdxl_conditioning.h"
#include "core/models/text_conditioning.h"
#include "core/models/tokenizer.h"
#include "core/cuda_graph.h"
#include "core/models/unet.h"
#include "core/models/vae.h"
#include "core/models/word_tokenizer.h"
#include "core/sampling/denoiser.h"
#include "core/sampling/noise.h"
#include "core/sampling/samplers.h"
#include "core/sampling/schedule.h"

namespace sf {

struct Pipeline::Impl {
    std::filesystem::path path;
    DeviceChoice device;
    Checkpoint ckpt;
    std::string family_name;
    TextStack stack = TextStack::clip_l;
    int default_size = 512;
    std::string hash;

    mutable std::once_flag tokenizer_once;
    mutable std::optional<CLIPTokenizer> clip_tokenizer;  // found on first use (find_tokenizer)
    std::optional<WordTokenizer> word_tokenizer;
    clip::CLIPTextModel clip_l{nullptr};
    open_clip::TextTransformer open_clip{nullptr};

    unet::UNetModel unet{nullptr};
    unet::UNetConfig unet_config;
    std::unique_ptr<GraphedCall> unet_graph;  ///< CUDA graphs of the UNet call (CUDA only, else null)
    sampling::Prediction prediction = sampling::Prediction::eps;
    std::shared_ptr<const sampling::DiscreteSchedule> schedule;

    vae::AutoencoderKL vae{nullptr};
    torch::Dtype vae_dtype = torch::kFloat32;
    vae::LatentScaling scaling;
    vae::LatentSpace space = vae::LatentSpace::sd;

    /// Token chunks of one prompt: ids [chunks, 77] int64 and multipliers [chunks, 77] float32.
    std::pair<torch::Tensor, torch::Tensor> chunks(const std::string& prompt) const;
};

namespace {

constexpr int kMaxSide = 4096;

template <size_t N, typename T>
torch::Tensor stack_rows(const std::vector<std::array<T, N>>& rows, torch::Dtype dtype) {
    std::vector<T> flat;
    for (const auto& r : rows) {
        flat.insert(flat.end(), r.begin(), r.end());
    }
    auto t = torch::tensor(flat);
    return t.reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(N)}).to(dtype);
}

/// The embedded model's word vocabulary, chunked like A1111 does with CLIP (emphasis, BREAK, 75 per chunk).
PromptChunks chunk_words(const WordTokenizer& tok, const std::string& text) {
    PromptChunks out;
    std::vector<int> ids;
    std::vector<float> mult;
    auto close = [&] {
        std::array<int, 77> t{};
        std::array<float, 77> m{};
        t.fill(tok.eos_id());
        m.fill(1.0f);
        t[0] = tok.bos_id();
        for (size_t i = 0; i < ids.size(); ++i) {
            t[i + 1] = ids[i];
            m[i + 1] = mult[i];
        }
        out.tokens.push_back(t);
        out.multipliers.push_back(m);
        ids.clear();
        mult.clear();
    };
    for (const auto& [piece, weight] : parse_prompt_attention(text)) {
        if (piece == "BREAK" && weight == -1) {
            close();
            continue;
        }
        for (int id : tok.encode(piece)) {
            if (ids.size() == 75) {
                out.token_count += 75;
                close();
            }
            ids.push_back(id);
            mult.push_back(static_cast<float>(weight));
        }
    }
    out.token_count += static_cast<int>(ids.size());
    if (!ids.empty() || out.tokens.empty()) {
        close();
    }
    return out;
}

double parse_double(const std::map<std::string, std::string>& meta, const std::string& key, double fallback) {
    auto it = meta.find(key);
    if (it == meta.end()) {
        return fallback;
    }
    try {
        return std::stod(it->second);
    } catch (const std::exception&) {
        return fallback;
    }
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> Pipeline::Impl::chunks(const std::string& prompt) const {
    if (word_tokenizer) {
        PromptChunks c = chunk_words(*word_tokenizer, prompt);
        return {stack_rows(c.tokens, torch::kInt64), stack_rows(c.multipliers, torch::kFloat32)};
    }
    std::call_once(tokenizer_once, [&] { clip_tokenizer = find_tokenizer(path); });
    PromptChunks c = chunk_prompt(*clip_tokenizer, prompt);
    return {stack_rows(c.tokens, torch::kInt64), stack_rows(c.multipliers, torch::kFloat32)};
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::shared_ptr<Pipeline> Pipeline::load(const std::filesystem::path& path, DeviceChoice device,
                                         const PipelineOptions& overrides) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->device = device;
    impl->ckpt = Checkpoint::open(path);
    const Checkpoint& ckpt = impl->ckpt;
    const auto& meta = ckpt.metadata();
    const FamilyInfo family = detect_family(ckpt);
    impl->family_name = family.name;

    impl->default_size = model_default_size(ckpt);
    LoadOptions options{device.device, device.dtype};
    // Every module below is loaded right after it is built: no initialisation, no memory before the weights.
    layers::SkipInit skip_init;
    // Text side.
    switch (family.family) {
        case Family::sd1:
            impl->stack = TextStack::clip_l;
            break;
        case Family::sd2:
            impl->stack = TextStack::open_clip_h;
            break;
        case Family::sdxl_base:
            impl->stack = TextStack::sdxl;
            impl->space = vae::LatentSpace::sdxl;
            break;
        default:
            throw Error("model '" + path.string() + "' is " + family.name +
                        ", which this version cannot generate with yet (supported: SD 1.x, SD 2.x, SDXL base)");
    }
    if (auto it = meta.find(WordTokenizer::kMetadataKey); it != meta.end()) {
        impl->word_tokenizer = WordTokenizer::from_json(it->second);
        impl->family_name = meta.count("sfumato.model") ? meta.at("sfumato.model") : "SD 1.x (own vocabulary)";
    }
    if (impl->stack == TextStack::clip_l || impl->stack == TextStack::sdxl) {
        const std::string prefix = impl->stack == TextStack::sdxl ? "conditioner.embedders.0.transformer."
                                                                  : "cond_stage_model.transformer.";
        std::optional<int64_t> heads = overrides.text_heads;
        if (!heads && meta.count("sfumato.text_heads")) {
            heads = static_cast<int64_t>(parse_double(meta, "sfumato.text_heads", 0));
        }
        auto config = clip::detect_config(ckpt, prefix, heads);
        impl->clip_l = clip::CLIPTextModel(config);
        load_module(*impl->clip_l, ckpt, prefix, options);
        impl->clip_l->eval();
    }
    if (impl->stack == TextStack::open_clip_h || impl->stack == TextStack::sdxl) {
        const std::string prefix =
            impl->stack == TextStack::sdxl ? "conditioner.embedders.1.model." : "cond_stage_model.model.";
        impl->open_clip = open_clip::TextTransformer(open_clip::detect_config(ckpt, prefix, overrides.text_heads));
        load_module(*impl->open_clip, ckpt, prefix, options);
        impl->open_clip->eval();
    }

    // Denoiser.
    impl->unet_config = unet::infer_unet_config(ckpt);
    impl->unet = unet::UNetModel(impl->unet_config);
    const auto norm_groups = static_cast<int64_t>(parse_double(meta, kNormGroupsKey, 32));
    if (norm_groups != 32) {
        set_norm_groups(*impl->unet, norm_groups, "UNet of '" + path.string() + "'");
    }
    // On the CPU in fp32 the UNet runs channels-last where oneDNN's kernels are trusted (onednn.h): an SD1.5 CFG
    // step at 256² in 1.64 s instead of 1.89 s.
    LoadOptions unet_options = options;
    unet_options.channels_last = onednn::prefer_channels_last(device.device, device.dtype);
    load_module(*impl->unet, ckpt, "model.diffusion_model.", unet_options);
    impl->unet->eval();
    if (device.device.is_cuda() && GraphedCall::available() && overrides.cuda_graphs) {
        impl->unet_graph = std::make_unique<GraphedCall>([unet = impl->unet](const std::vector<torch::Tensor>& in) mutable {
            return unet->forward(in[0], in[1], in[2], in[3]);
        });
    }
    impl->prediction = sampling::Prediction::eps;
    if (family.family == Family::sd2 && unet::detect_prediction(path, impl->unet) == unet::Prediction::v) {
        impl->prediction = sampling::Prediction::v;
    }
    if (auto it = meta.find("sfumato.prediction"); it != meta.end() && it->second == "v") {
        impl->prediction = sampling::Prediction::v;
    }
    impl->schedule = std::make_shared<const sampling::DiscreteSchedule>(
        ckpt.contains("alphas_cumprod") ? sampling::DiscreteSchedule::from_alphas_cumprod(ckpt.get("alphas_cumprod"))
                                        : sampling::DiscreteSchedule::scaled_linear());

    // Autoencoder: float32 unless bfloat16 was asked for (the SD VAE overflows in float16).
    impl->vae_dtype = device.dtype == torch::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
    impl->vae = vae::AutoencoderKL(vae::infer_vae_config(ckpt));
    if (norm_groups != 32) {
        set_norm_groups(*impl->vae, norm_groups, "VAE of '" + path.string() + "'");
    }
    load_module(*impl->vae, ckpt, "first_stage_model.", LoadOptions{device.device, impl->vae_dtype});
    impl->vae->eval();
    impl->scaling = vae::latent_scaling(impl->space);
    impl->scaling.scale = parse_double(meta, "sfumato.latent_scale", impl->scaling.scale);

    log_info("loaded " + impl->family_name + " from '" + path.string() + "' on " + impl->device.device.str() + " (" +
             dtype_name(device.dtype) + "), UNet " + impl->unet_config.summary() +
             (impl->prediction == sampling::Prediction::v ? ", v-prediction" : ", eps-prediction"));
    return std::shared_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

const std::filesystem::path& Pipeline::path() const { return impl_->path; }
const DeviceChoice& Pipeline::device() const { return impl_->device; }
const std::string& Pipeline::family_name() const { return impl_->family_name; }
int Pipeline::default_size() const { return impl_->default_size; }

std::string Pipeline::model_hash() {
    if (impl_->hash.empty()) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(impl_->path, ec)) {
            impl_->hash = sha256_file(impl_->path).substr(0, 10);
        }
    }
    return impl_->hash;
}

torch::Tensor Pipeline::encode_prompt(const std::string& prompt, int clip_skip, torch::Tensor* pooled) {
    torch::NoGradGuard no_grad;
    auto [tokens, mult] = impl_->chunks(prompt);
    tokens = tokens.to(impl_->device.device);
    mult = mult.to(impl_->device.device);
    switch (impl_->stack) {
        case TextStack::clip_l:
            return sd1_conditioning(impl_->clip_l, tokens, mult, std::max(1, clip_skip));
        case TextStack::open_clip_h:
            return sd2_conditioning(impl_->open_clip, tokens, mult);
        case TextStack::sdxl: {
            auto c = sdxl_conditioning(impl_->clip_l, impl_->open_clip, tokens, mult);
            if (pooled) {
                *pooled = c.pooled;
            }
            return c.context;
        }
    }
    return {};
}

torch::Tensor Pipeline::encode_image(const torch::Tensor& image, const std::vector<int64_t>& seeds) {
    torch::NoGradGuard no_grad;
    auto x = image.to(impl_->device.device, impl_->vae_dtype);
    const int64_t pixels = x.size(2) * x.size(3);
    auto post = pixels > 1024 * 1024 ? impl_->vae->encode_tiled(x) : impl_->vae->encode(x);
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < x.size(0); ++i) {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seeds[static_cast<size_t>(i)]));
        auto noise = at::randn(post.mean[i].sizes(), gen, at::TensorOptions().dtype(at::kFloat));
        auto mean = post.mean[i].to(torch::kFloat32);
        auto std = torch::exp(0.5 * post.logvar[i].to(torch::kFloat32));
        rows.push_back(mean + std * noise.to(mean.device()));
    }
    return vae::to_model_latent(torch::stack(rows), impl_->scaling);
}

torch::Tensor Pipeline::decode_latent(const torch::Tensor& latent) {
    torch::NoGradGuard no_grad;
    auto z = vae::from_model_latent(latent.to(torch::kFloat32), impl_->scaling).to(impl_->device.device, impl_->vae_dtype);
    const int64_t pixels = z.size(2) * z.size(3) * 64;
    auto image = pixels > 1024 * 1024 ? impl_->vae->decode_tiled(z) : impl_->vae->decode(z);
    return image.to(torch::kFloat32);
}

torch::Tensor Pipeline::preview(const torch::Tensor& latent) const {
    return latent_preview(latent.to(torch::kCPU, torch::kFloat32), impl_->space);
}

Pipeline::Output Pipeline::run_tensors(GenerateRequest& r, JobContext& ctx) {
    torch::NoGradGuard no_grad;
    validate_request(r);
    Impl& m = *impl_;
    const int64_t batch = r.batch_size;
    std::vector<int64_t> seeds = r.seeds;
    for (int64_t i = static_cast<int64_t>(seeds.size()); i < batch; ++i) {
        seeds.push_back(r.seed + i);
    }
    std::vector<double> scales = r.cfg_scales.empty() ? std::vector<double>(static_cast<size_t>(batch), r.cfg_scale)
                                                      : r.cfg_scales;
    if (static_cast<int64_t>(scales.size()) != batch) {
        throw Error("the grid row has " + std::to_string(scales.size()) + " guidance scales for " +
                    std::to_string(batch) + " images");
    }
    const bool cond_only = std::all_of(scales.begin(), scales.end(), [](double s) { return s == 1.0; });
    ctx.check();

    // Text: each distinct prompt encoded once; the batch repeats it.
    torch::Tensor pooled_c, pooled_u;
    auto cond = encode_prompt(r.prompt, r.clip_skip, &pooled_c);
    torch::Tensor uncond;
    if (!cond_only) {
        uncond = encode_prompt(r.negative_prompt, r.clip_skip, &pooled_u);
        // Different chunk counts: pad the shorter with encodings of the empty prompt (A1111 pad_cond_uncond).
        if (cond.size(1) != uncond.size(1)) {
            auto empty = encode_prompt("", r.clip_skip);
            auto& shorter = cond.size(1) < uncond.size(1) ? cond : uncond;
            const int64_t target = std::max(cond.size(1), uncond.size(1));
            while (shorter.size(1) < target) {
                shorter = torch::cat({shorter, empty}, 1);
            }
        }
    }
    ctx.check();
    auto dtype = m.device.dtype;
    auto cond_b = cond.expand({batch, -1, -1}).to(dtype);
    auto uncond_cond = cond_only ? torch::Tensor() : torch::cat({uncond.expand({batch, -1, -1}), cond_b}).to(dtype);
    torch::Tensor y_cond, y_both;
    if (m.stack == TextStack::sdxl) {
        auto sizes = sdxl::pairs(batch, r.height, r.width);
        auto crops = sdxl::pairs(batch, 0, 0);
        y_cond = sdxl::base_vector(pooled_c.expand({batch, -1}).to(torch::kFloat32).cpu(), sizes, crops, sizes)
                     .to(m.device.device, dtype);
        if (!cond_only) {
            auto y_u = sdxl::base_vector(pooled_u.expand({batch, -1}).to(torch::kFloat32).cpu(), sizes, crops, sizes)
                           .to(m.device.device, dtype);
            y_both = torch::cat({y_u, y_cond});
        }
    }
    sampling::ModelFn model_fn = [&](const torch::Tensor& x_in, const torch::Tensor& t, sampling::Batch which) {
        const bool both = which == sampling::Batch::uncond_cond;
        std::vector<torch::Tensor> in{x_in.to(m.device.device, dtype), t.to(m.device.device, torch::kFloat32),
                                      both ? uncond_cond : cond_b, both ? y_both : y_cond};
        auto out = m.unet_graph ? (*m.unet_graph)(in) : m.unet->forward(in[0], in[1], in[2], in[3]);
        return out.to(torch::kFloat32);
    };
    sampling::Denoiser denoiser(model_fn, sampling::DenoiserConfig{.prediction = m.prediction, .cfg_scales = scales},
                                m.schedule);

    // Noise: one CPU generator per image (seed S, S+1, ...), whatever the device.
    std::vector<uint64_t> useeds(seeds.begin(), seeds.end());
    sampling::CpuNoise noise(useeds);
    const int64_t channels = m.unet_config.in_channels;
    auto x_noise = noise.initial({channels, r.height / 8, r.width / 8}, m.device.device);
    torch::Tensor init;
    const bool img2img = r.init_image.defined();
    if (img2img) {
        auto image = r.init_image;
        if (image.size(2) != r.height || image.size(3) != r.width) {
            throw Error("the reference image is " + std::to_string(image.size(3)) + "x" + std::to_string(image.size(2)) +
                        " but the request is " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                        " (fit it first)");
        }
        std::vector<int64_t> posterior_seeds;
        for (auto s : seeds) {
            posterior_seeds.push_back(s + 1);
        }
        init = encode_image(image.expand({batch, -1, -1, -1}), posterior_seeds);
    }
    sampling::SampleOptions options;
    options.sampler = r.sampler;
    options.schedule = r.schedule == "Automatic" ? "" : r.schedule;
    options.steps = r.steps;
    options.strength = img2img ? r.strength : 1.0;
    auto on_step = [&](int i, int n, const torch::Tensor&, const torch::Tensor& denoised) {
        ctx.check();
        if (ctx.progress) {
            ctx.progress(i + 1, n, denoised.detach().to(torch::kCPU, torch::kFloat32));
        }
    };
    auto latent = sampling::sample(denoiser, options, x_noise, init, noise, on_step);
    ctx.check();
    return {latent, decode_latent(latent)};
}

std::vector<Image> Pipeline::run(GenerateRequest& request, JobContext& ctx) {
    auto out = run_tensors(request, ctx);
    std::vector<Image> images;
    for (int64_t i = 0; i < out.image.size(0); ++i) {
        images.push_back(image_from_tensor(out.image[i]));
    }
    return images;
}

std::shared_ptr<Pipeline> PipelineCache::get(const std::filesystem::path& path, const DeviceChoice& device) {
    std::lock_guard lock(mutex_);
    if (current_ && current_->path() == path && current_->device().device == device.device &&
        current_->device().dtype == device.dtype) {
        return current_;
    }
    current_.reset();        // unload the old model before loading the new one,
    host_memory::release();  // and free the buffers its steps left cached
    current_ = Pipeline::load(path, device);
    return current_;
}

void PipelineCache::clear() {
    std::lock_guard lock(mutex_);
    current_.reset();
    host_memory::release();
}

int model_default_size(const Checkpoint& ckpt) {
    const auto& meta = ckpt.metadata();
    if (meta.count("sfumato.default_size")) {
        return static_cast<int>(parse_double(meta, "sfumato.default_size", 512));
    }
    switch (detect_family(ckpt).family) {
        case Family::sd2: return 768;
        case Family::sdxl_base:
        case Family::sdxl_refiner: return 1024;
        default: return 512;
    }
}

int model_default_size(const std::filesystem::path& model) {
    return model_default_size(Checkpoint::open(model, Validation::header_only));
}

DeviceChoice resolve_device(const GenerateRequest& r) {
    DeviceChoice d = default_device();
    if (r.device != "auto" && !r.device.empty()) {
        d.device = parse_device(r.device);
        d.dtype = d.device.is_cuda() ? torch::kFloat16 : torch::kFloat32;
    }
    if (r.dtype != "auto" && !r.dtype.empty()) {
        d.dtype = parse_dtype(r.dtype);
    }
    if (d.device.is_cpu() && d.dtype == torch::kFloat16) {
        throw Error("fp16 is not supported on the CPU (use fp32 or bf16)");
    }
    return d;
}

void validate_request(const GenerateRequest& r) {
    auto side = [](const char* what, int v) {
        if (v < 64 || v > kMaxSide || v % 8 != 0) {
            throw Error(std::string(what) + " " + std::to_string(v) + " is not possible: use a multiple of 8 from 64 to " +
                        std::to_string(kMaxSide));
        }
    };
    side("width", r.width);
    side("height", r.height);
    if (r.steps < 1 || r.steps > 1000) {
        throw Error("steps must be between 1 and 1000, got " + std::to_string(r.steps));
    }
    if (r.batch_size < 1 || r.batch_size > kMaxBatch) {
        throw Error("batch size must be between 1 and " + std::to_string(kMaxBatch) + ", got " +
                    std::to_string(r.batch_size));
    }
    if (r.strength < 0 || r.strength > 1) {
        throw Error("strength must be between 0 and 1");
    }
    if (r.cfg_scale < 0 || r.cfg_scale > 100) {
        throw Error("guidance scale must be between 0 and 100");
    }
    sampling::find_sampler(r.sampler);
    if (!r.schedule.empty()) {
        sampling::parse_schedule(r.schedule);
    }
}

JobRunner make_job_runner(std::shared_ptr<PipelineCache> cache, std::filesystem::path default_model) {
    return [cache, default_model](GenerateRequest& request, JobContext& ctx) {
        if (request.model.empty()) {
            if (default_model.empty()) {
                throw Error("no model given and the embedded default model was not found");
            }
            request.model = default_model;
        }
        if (request.width == 0 || request.height == 0) {
            const int side = model_default_size(request.model);
            request.width = request.width ? request.width : side;
            request.height = request.height ? request.height : side;
        }
        validate_request(request);
        auto pipeline = cache->get(request.model, resolve_device(request));
        return pipeline->run(request, ctx);
    };
}

}  // namespace sf
