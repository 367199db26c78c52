#include "train/shapes_trainer.h"

#include <opencv2/core.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <random>

#include "core/checkpoint/safetensors.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image.h"
#include "core/log.h"
#include "core/models/norm_groups.h"
#include "core/models/word_tokenizer.h"
#include "shapes/shapes.h"

namespace sf::train {
namespace {

namespace nn = torch::nn;

/// SD1's discrete schedule: scaled-linear betas 0.00085 → 0.012 over 1000 steps.
torch::Tensor sd1_alphas_cumprod() {
    auto betas = torch::linspace(std::sqrt(0.00085), std::sqrt(0.012), 1000, torch::kFloat64).pow(2);
    return torch::cumprod(1 - betas, 0).to(torch::kFloat32);
}

/// Renders `n` pictures as [n, 3, S, S] in [-1, 1], with their scenes.
std::pair<torch::Tensor, std::vector<shapes::Scene>> render_batch(int n, int side, std::mt19937& rng) {
    auto images = torch::empty({n, side, side, 3}, torch::kUInt8);
    std::vector<shapes::Scene> scenes;
    for (int i = 0; i < n; ++i) {
        auto scene = shapes::complete({}, rng);
        cv::Mat img = shapes::render(scene, side, rng);
        std::memcpy(images[i].data_ptr(), img.data, static_cast<size_t>(side) * side * 3);
        scenes.push_back(scene);
    }
    auto x = images.permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0);  // [n, 3, S, S]
    return {x, scenes};
}

/// A caption naming a random subset of the scene (shape and colour always), or "" (unconditional).
std::string random_caption(const shapes::Scene& s, double uncond_p, std::mt19937& rng) {
    if (std::bernoulli_distribution(uncond_p)(rng)) {
        return "";
    }
    std::bernoulli_distribution half(0.5);
    shapes::Spec said;
    said.shape = s.shape;
    said.color = s.color;
    if (half(rng)) {
        said.size = s.size;
    }
    if (std::bernoulli_distribution(0.7)(rng)) {
        said.position = s.position;
    }
    if (half(rng)) {
        said.background = s.background;
    }
    return shapes::caption(said, half(rng));
}

void add_prefixed(std::map<std::string, torch::Tensor>& out, nn::Module& m, const std::string& prefix,
                  torch::Dtype dtype) {
    for (const auto& p : m.named_parameters()) {
        out[prefix + p.key()] = p.value().detach().to(torch::kCPU, dtype).contiguous();
    }
    for (const auto& b : m.named_buffers()) {
        out[prefix + b.key()] = b.value().detach().to(torch::kCPU).contiguous();
    }
}

void load_prefixed(nn::Module& m, const SafetensorsFile& f, const std::string& prefix) {
    torch::NoGradGuard no_grad;
    for (auto& p : m.named_parameters()) {
        p.value().copy_(f.tensor(prefix + p.key()));
    }
}

/// EMA copy of a module's parameters.
struct Ema {
    std::vector<torch::Tensor> shadow;
    explicit Ema(nn::Module& m) {
        for (const auto& p : m.parameters()) {
            shadow.push_back(p.detach().clone());
        }
    }
    void update(nn::Module& m, double decay) {
        torch::NoGradGuard no_grad;
        auto params = m.parameters();
        for (size_t i = 0; i < params.size(); ++i) {
            shadow[i].mul_(decay).add_(params[i].detach(), 1 - decay);
        }
    }
};

double lr_at(int step, int steps, double base) {
    const int warmup = std::min(200, steps / 10 + 1);
    if (step < warmup) {
        return base * (step + 1) / warmup;
    }
    const double t = static_cast<double>(step - warmup) / std::max(1, steps - warmup);
    return base * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * t)));
}

void set_lr(torch::optim::AdamW& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
}

/// On resume: drops the loss rows an interrupted run wrote after its last saved state, so the curve has one
/// row per step.
void drop_rows_after(const std::filesystem::path& csv_path, int vae_done, int unet_done) {
    std::ifstream in(csv_path);
    std::string kept;
    for (std::string line; std::getline(in, line);) {
        const auto comma = line.find(',');
        const std::string stage = line.substr(0, comma);
        const int step = comma == std::string::npos ? 0 : std::atoi(line.c_str() + comma + 1);
        if ((stage == "vae" && step >= vae_done) || (stage == "unet" && step >= unet_done)) {
            continue;
        }
        kept += line + '\n';
    }
    in.close();
    std::ofstream(csv_path, std::ios::trunc) << kept;
}

/// How well the autoencoder keeps what the captions talk about: PSNR of the round trip (posterior mean) and
/// the share of reconstructions from which the detector reads back every attribute of the scene.
VaeQuality vae_quality(vae::AutoencoderKL& vae_model, const torch::Device& device, int side, int count) {
    torch::NoGradGuard no_grad;
    std::mt19937 rng(20261126);  // a fixed held-out set, never drawn for training
    auto [x, scenes] = render_batch(count, side, rng);
    auto recon = vae_model->decode(vae_model->encode(x.to(device)).mean).clamp(-1, 1).cpu();
    VaeQuality q;
    q.psnr = psnr(recon, x, 2.0);
    auto rgb = recon.add(1).mul(127.5).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
    int kept = 0;
    for (int i = 0; i < count; ++i) {
        cv::Mat picture(side, side, CV_8UC3, rgb[i].data_ptr());
        const auto& s = scenes[static_cast<size_t>(i)];
        shapes::Spec all{s.shape, s.size, s.color, s.position, s.background};
        kept += shapes::score(all, shapes::detect(picture)).all();
    }
    q.detected = static_cast<double>(kept) / count;
    return q;
}

}  // namespace

ShapesArchitecture shapes_architecture(int vocab_size) {
    ShapesArchitecture a;
    a.vae = vae::VAEConfig{.ch = 32, .ch_mult = {1, 2, 2, 4}, .num_res_blocks = 1};
    a.text = TextConfig{.vocab_size = vocab_size, .context_length = 77, .width = 64, .layers = 2, .heads = 4};
    a.unet = unet::UNetConfig{.model_channels = 32,
                              .channel_mult = {1, 2, 2},
                              .num_res_blocks = 1,
                              .transformer_depth = {1, 1, 1},
                              .transformer_depth_middle = 1,
                              .context_dim = 64,
                              .num_heads = 8};
    return a;
}

torch::Tensor reconstruction_loss(const torch::Tensor& recon, const torch::Tensor& x, double fg_share) {
    auto err = ((recon - x).abs() + (recon - x).pow(2)).mean(1, true);  // [n, 1, H, W]
    if (fg_share <= 0) {
        return err.mean();
    }
    auto background = x.slice(2, 0, 1).slice(3, 0, 1);
    auto shape = ((x - background).abs().amax(1, true) > 0.04).to(x.scalar_type());
    shape = torch::max_pool2d(shape, 3, 1, 1);
    auto per_picture = [](const torch::Tensor& e, const torch::Tensor& m) {
        return (e * m).sum({1, 2, 3}) / m.sum({1, 2, 3}).clamp_min(1);
    };
    auto fg = per_picture(err, shape);
    auto bg = per_picture(err, 1 - shape);
    return (fg_share * fg + (1 - fg_share) * bg).mean();
}

int caption_scene(int picture, int t, int scene_count, double p, int below, std::mt19937& rng) {
    if (t >= below || scene_count < 2 || !std::bernoulli_distribution(p)(rng)) {
        return picture;
    }
    const int other = std::uniform_int_distribution<int>(0, scene_count - 2)(rng);
    return other < picture ? other : other + 1;
}

TrainReport train_shapes(const TrainOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Device device = parse_device(o.device);
    WordTokenizer tokenizer(shapes::vocabulary());
    const auto arch = shapes_architecture(tokenizer.vocab_size());
    std::filesystem::create_directories(o.work_dir);
    if (o.output.has_parent_path()) {
        std::filesystem::create_directories(o.output.parent_path());
    }
    TrainReport report;
    report.loss_csv = o.work_dir / "loss.csv";
    const bool fresh = !std::filesystem::exists(o.work_dir / "state.safetensors");
    if (fresh) {
        std::ofstream(report.loss_csv, std::ios::trunc) << "stage,step,loss\n";
    }
    std::ofstream csv(report.loss_csv, std::ios::app);
    std::mt19937 rng(static_cast<uint32_t>(o.seed));
    torch::manual_seed(o.seed);

    vae::AutoencoderKL vae_model(arch.vae);
    clip::CLIPTextModel text_model(arch.text);
    unet::UNetModel unet_model(arch.unet);
    set_norm_groups(*vae_model, arch.norm_groups, "Sfumato Shapes VAE");
    set_norm_groups(*unet_model, arch.norm_groups, "Sfumato Shapes UNet");
    vae_model->to(device);
    text_model->to(device);
    unet_model->to(device);

    int vae_done = 0;
    int unet_done = 0;
    std::shared_ptr<SafetensorsFile> state;
    if (!fresh) {
        state = SafetensorsFile::open(o.work_dir / "state.safetensors");
        vae_done = std::stoi(state->metadata().at("vae_step"));
        unet_done = std::stoi(state->metadata().at("unet_step"));
        load_prefixed(*vae_model, *state, "first_stage_model.");
        load_prefixed(*text_model, *state, "cond_stage_model.transformer.");
        load_prefixed(*unet_model, *state, "model.diffusion_model.");
        log_info("resuming: VAE step " + std::to_string(vae_done) + ", UNet step " + std::to_string(unet_done));
        drop_rows_after(report.loss_csv, vae_done, unet_done);
    }
    // A finished model to continue: read its latent scale; its weights only when nothing is saved yet.
    std::optional<double> init_scale;
    if (!o.init.empty()) {
        auto f = SafetensorsFile::open(o.init);
        const auto& meta = f->metadata();
        if (!meta.count("sfumato.latent_scale")) {
            throw Error(o.init.string() + ": not a Sfumato Shapes model (no sfumato.latent_scale in its metadata)");
        }
        init_scale = std::stod(meta.at("sfumato.latent_scale"));
        if (fresh) {
            load_prefixed(*vae_model, *f, "first_stage_model.");
            load_prefixed(*text_model, *f, "cond_stage_model.transformer.");
            load_prefixed(*unet_model, *f, "model.diffusion_model.");
            log_info("starting from " + o.init.string());
        }
    }
    if (!o.reuse_vae.empty() && vae_done == 0) {
        auto f = SafetensorsFile::open(o.reuse_vae);
        load_prefixed(*vae_model, *f, "first_stage_model.");
        vae_done = o.vae_steps;
    }

    auto save_state = [&](Ema* unet_ema, Ema* text_ema) {
        std::map<std::string, torch::Tensor> t;
        add_prefixed(t, *vae_model, "first_stage_model.", torch::kFloat32);
        add_prefixed(t, *text_model, "cond_stage_model.transformer.", torch::kFloat32);
        add_prefixed(t, *unet_model, "model.diffusion_model.", torch::kFloat32);
        if (unet_ema && text_ema) {
            auto up = unet_model->parameters();
            auto named = unet_model->named_parameters();
            for (size_t i = 0; i < named.size(); ++i) {
                t["ema.model.diffusion_model." + named[i].key()] = unet_ema->shadow[i].cpu();
            }
            auto tn = text_model->named_parameters();
            for (size_t i = 0; i < tn.size(); ++i) {
                t["ema.cond_stage_model.transformer." + tn[i].key()] = text_ema->shadow[i].cpu();
            }
        }
        write_safetensors(o.work_dir / "state.safetensors", t,
                          {{"vae_step", std::to_string(vae_done)}, {"unet_step", std::to_string(unet_done)}});
    };

    // Stage 1: the autoencoder (reconstruction + a light KL term).
    if (vae_done < o.vae_steps) {
        if (vae_done == 0 && o.init.empty()) {
            // Start the posterior almost deterministic (std e^-4): with logvar 0 the decoder first sees unit
            // noise that drowns the mean, and the reconstruction loss barely moves for hundreds of steps.
            torch::NoGradGuard no_grad;
            const int64_t z = vae_model->quant_conv->options.out_channels() / 2;
            vae_model->quant_conv->bias.slice(0, z).fill_(-8.0);
        }
        vae_model->train();
        std::vector<torch::Tensor> vae_params = vae_model->parameters();
        if (o.vae_decoder_only) {
            vae_params = vae_model->decoder->parameters();
            for (const auto& p : vae_model->post_quant_conv->parameters()) {
                vae_params.push_back(p);
            }
        }
        torch::optim::AdamW opt(vae_params, torch::optim::AdamWOptions(o.vae_lr).weight_decay(0.0));
        double smooth = 0;
        for (int step = vae_done; step < o.vae_steps; ++step) {
            set_lr(opt, lr_at(step, o.vae_steps, o.vae_lr));
            auto [x, scenes] = render_batch(o.vae_batch, o.image_size, rng);
            x = x.to(device);
            auto post = [&] {
                std::optional<torch::NoGradGuard> frozen;
                if (o.vae_decoder_only) {
                    frozen.emplace();
                }
                return vae_model->encode(x);
            }();
            auto z = post.mean + torch::exp(0.5 * post.logvar) * torch::randn_like(post.mean);
            auto recon = vae_model->decode(z);
            auto rec = reconstruction_loss(recon, x, o.vae_foreground_share);
            auto kl = 0.5 * (post.mean.pow(2) + post.logvar.exp() - 1 - post.logvar).mean();
            auto loss = o.vae_decoder_only ? rec : rec + 1e-4 * kl;
            opt.zero_grad();
            loss.backward();
            if (!std::isfinite(loss.item<double>())) {
                throw Error("training diverged: the VAE loss is not finite at step " + std::to_string(step) +
                            " (lower --lr)");
            }
            torch::nn::utils::clip_grad_norm_(vae_params, 1.0);
            opt.step();
            double l = rec.item<double>();
            smooth = step == vae_done ? l : 0.98 * smooth + 0.02 * l;
            vae_done = step + 1;
            if (step % 10 == 0) {
                csv << "vae," << step << ',' << l << '\n';
                csv.flush();  // the curve keeps its rows up to the saved state when a run is stopped
            }
            if (o.progress) {
                o.progress("vae", vae_done, o.vae_steps, smooth);
            }
            if (vae_done % o.save_every == 0) {
                save_state(nullptr, nullptr);
                auto q = vae_quality(vae_model, device, o.image_size, std::max(1, o.vae_eval_count / 2));
                log_info("VAE step " + std::to_string(vae_done) + ": round trip " + std::to_string(q.psnr) +
                         " dB, detector reads back " + std::to_string(q.detected * 100) + "% of the scenes");
            }
        }
        report.vae_loss = smooth;
        save_state(nullptr, nullptr);
    }
    vae_model->eval();
    report.vae = vae_quality(vae_model, device, o.image_size, std::max(1, o.vae_eval_count));
    log_info("VAE: round trip " + std::to_string(report.vae.psnr) + " dB, detector reads back " +
             std::to_string(report.vae.detected * 100) + "% of " + std::to_string(o.vae_eval_count) +
             " held-out scenes");
    for (auto& p : vae_model->parameters()) {
        p.set_requires_grad(false);
    }

    // The latent dataset: every picture rendered and encoded once (posterior mean).
    std::vector<shapes::Scene> scenes;
    std::vector<torch::Tensor> chunks;
    {
        torch::NoGradGuard no_grad;
        std::mt19937 data_rng(static_cast<uint32_t>(o.seed) + 1000);
        for (int done = 0; done < o.dataset_size; done += 256) {
            int n = std::min(256, o.dataset_size - done);
            auto [x, s] = render_batch(n, o.image_size, data_rng);
            chunks.push_back(vae_model->encode(x.to(device)).mean);
            scenes.insert(scenes.end(), s.begin(), s.end());
        }
    }
    auto latents = torch::cat(chunks);  // [N, 4, S/8, S/8]
    // A continued model keeps its latent space, and so its scale, unless its encoder was trained again.
    const bool same_latents = init_scale && (o.vae_steps == 0 || o.vae_decoder_only);
    const double scale = same_latents ? *init_scale : 1.0 / latents.std().item<double>();
    latents = latents * scale;
    report.latent_scale = scale;
    log_info("latent scale " + std::to_string(scale));

    // Stage 2: text encoder + UNet, eps prediction on the SD1 discrete schedule.
    auto alphas = sd1_alphas_cumprod().to(device);
    std::vector<torch::Tensor> params = unet_model->parameters();
    for (const auto& p : text_model->parameters()) {
        params.push_back(p);
    }
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).weight_decay(0.01));
    Ema unet_ema(*unet_model);
    Ema text_ema(*text_model);
    if (state && state->contains("ema.model.diffusion_model.input_blocks.0.0.weight")) {
        auto named = unet_model->named_parameters();
        for (size_t i = 0; i < named.size(); ++i) {
            unet_ema.shadow[i].copy_(state->tensor("ema.model.diffusion_model." + named[i].key()));
        }
        auto tn = text_model->named_parameters();
        for (size_t i = 0; i < tn.size(); ++i) {
            text_ema.shadow[i].copy_(state->tensor("ema.cond_stage_model.transformer." + tn[i].key()));
        }
    }
    // The shipped file: EMA weights in the SD1 single-file layout, float16, self-contained tokenizer. Also
    // written at every checkpoint, so a run in progress can be evaluated (`sfumato-cli eval-shapes`).
    auto export_model = [&] {
        std::map<std::string, torch::Tensor> out;
        auto add_ema = [&](nn::Module& m, const Ema& ema, const std::string& prefix) {
            auto named = m.named_parameters();
            for (size_t i = 0; i < named.size(); ++i) {
                out[prefix + named[i].key()] = ema.shadow[i].to(torch::kCPU, torch::kFloat16).contiguous();
            }
            for (const auto& b : m.named_buffers()) {
                out[prefix + b.key()] = b.value().detach().to(torch::kCPU).contiguous();
            }
        };
        add_ema(*unet_model, unet_ema, "model.diffusion_model.");
        add_ema(*text_model, text_ema, "cond_stage_model.transformer.");
        add_prefixed(out, *vae_model, "first_stage_model.", torch::kFloat16);
        out["alphas_cumprod"] = sd1_alphas_cumprod();
        char scale_text[32];
        std::snprintf(scale_text, sizeof scale_text, "%.6f", scale);
        std::map<std::string, std::string> meta{
            {"format", "pt"},
            {"sfumato.model", "Sfumato Shapes"},
            {WordTokenizer::kMetadataKey, tokenizer.to_json()},
            {"sfumato.latent_scale", scale_text},
            {"sfumato.text_heads", std::to_string(arch.text.heads)},
            {"sfumato.prediction", "eps"},
            {"sfumato.default_size", std::to_string(o.image_size)},
            {kNormGroupsKey, std::to_string(arch.norm_groups)},
            {"sfumato.train.vae_steps", std::to_string(vae_done)},
            {"sfumato.train.steps", std::to_string(unet_done)},
            {"sfumato.train.batch", std::to_string(o.batch)},
            {"sfumato.train.seed", std::to_string(o.seed)}};
        if (!o.init.empty()) {
            meta["sfumato.train.init"] = o.init.filename().string();
        }
        if (o.mismatch_probability > 0) {
            meta["sfumato.train.mismatch"] =
                std::to_string(o.mismatch_probability) + " below t " + std::to_string(o.mismatch_below);
        }
        write_safetensors(o.output, out, meta);
    };
    unet_model->train();
    text_model->train();
    double smooth = 0;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(scenes.size()) - 1);
    for (int step = unet_done; step < o.steps; ++step) {
        set_lr(opt, lr_at(step, o.steps, o.lr));
        std::vector<int64_t> index;
        std::vector<int64_t> ids;
        auto t = torch::randint(0, 1000, {o.batch}, torch::kInt64);
        for (int i = 0; i < o.batch; ++i) {
            int k = pick(rng);
            index.push_back(k);
            const int described = caption_scene(k, static_cast<int>(t[i].item<int64_t>()), static_cast<int>(scenes.size()),
                                                o.mismatch_probability, o.mismatch_below, rng);
            auto tok = tokenizer.encode_padded(random_caption(scenes[described], o.uncond_probability, rng), 77);
            ids.insert(ids.end(), tok.begin(), tok.end());
        }
        auto x0 = latents.index_select(0, torch::tensor(index).to(device));
        auto tokens = torch::tensor(ids, torch::kInt64).reshape({o.batch, 77}).to(device);
        t = t.to(device);
        auto noise = torch::randn_like(x0);
        auto a = alphas.index_select(0, t).view({-1, 1, 1, 1});
        auto xt = a.sqrt() * x0 + (1 - a).sqrt() * noise;
        auto context = text_model->encode(tokens, 1);
        auto pred = unet_model->forward(xt, t.to(torch::kFloat32), context);
        auto loss = torch::mse_loss(pred, noise);
        opt.zero_grad();
        loss.backward();
        if (!std::isfinite(loss.item<double>())) {
            throw Error("training diverged: the UNet loss is not finite at step " + std::to_string(step) +
                        " (lower --lr)");
        }
        torch::nn::utils::clip_grad_norm_(params, 1.0);
        opt.step();
        unet_ema.update(*unet_model, std::min(o.ema_decay, (1.0 + step) / (10.0 + step)));
        text_ema.update(*text_model, std::min(o.ema_decay, (1.0 + step) / (10.0 + step)));
        double l = loss.item<double>();
        smooth = step == unet_done ? l : 0.98 * smooth + 0.02 * l;
        unet_done = step + 1;
        if (step % 10 == 0) {
            csv << "unet," << step << ',' << l << '\n';
            csv.flush();
        }
        if (o.progress) {
            o.progress("unet", unet_done, o.steps, smooth);
        }
        if (unet_done % o.save_every == 0) {
            save_state(&unet_ema, &text_ema);
            export_model();
        }
    }
    save_state(&unet_ema, &text_ema);
    report.loss = smooth;

    report.vae_steps = vae_done;
    report.steps = unet_done;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    export_model();
    return report;
}

}  // namespace sf::train
