// sfumato-cli train: trains the embedded "Sfumato Shapes" model (resumable).
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "app/cli_args.h"
#include "core/error.h"
#include "train/loss_plot.h"
#include "train/shapes_trainer.h"

namespace sf::cli {

int cmd_train(const Args& args) {
    if (args.has("help")) {
        const train::TrainOptions d;
        std::cout << "usage: sfumato-cli train [options]\n\n"
                     "Trains the embedded Sfumato Shapes model: the VAE, then the text encoder and UNet together\n"
                     "(eps prediction, SD1 schedule, AdamW, EMA weights). Resumes from the work folder; raising\n"
                     "--vae-steps or --steps there continues the run.\n\n"
                     "  --output FILE       the single-file model (default sfumato-shapes.safetensors); also written\n"
                     "                      at every checkpoint, with FILE's .loss.png curve at the end\n"
                     "  --work-dir DIR      resumable state (default FILE.train)\n"
                     "  --reuse-vae FILE    take the VAE from this model instead of training one\n"
                     "  --init FILE         continue this finished model (VAE, text encoder, UNet, latent scale)\n"
                     "                      instead of starting from scratch; the steps below count from 0\n"
                     "  --vae-decoder-only  train only the VAE's decoder: the latent space, and the UNet, stay valid\n"
                  << "  --vae-steps N       VAE steps (default " << d.vae_steps << ")   --vae-batch N (default "
                  << d.vae_batch << ")\n"
                  << "  --vae-lr X          VAE learning rate (default " << d.vae_lr << ")\n"
                  << "  --vae-fg-share X    share of each picture's VAE loss carried by its shape, whatever its\n"
                  << "                      size (default " << d.vae_foreground_share << ", 0: plain mean)\n"
                  << "  --steps N           UNet + text encoder steps (default " << d.steps << ")   --batch N (default "
                  << d.batch << ")\n"
                  << "  --lr X              UNet + text encoder learning rate (default " << d.lr << ")\n"
                  << "  --mismatch P        share of the captions of pictures noised below --mismatch-below that\n"
                  << "                      describe another picture, so that at low noise what the model sees wins\n"
                  << "                      over the caption, as img2img at low strength needs (default "
                  << d.mismatch_probability << ")\n"
                  << "  --mismatch-below T  (default " << d.mismatch_below << ")\n"
                  << "  --dataset N         pictures encoded once for the UNet stage (default " << d.dataset_size
                  << ")\n"
                  << "  --size N            side of the training pictures, a multiple of 32 in [64, 512]; also the\n"
                     "                      model's default size (default " << d.image_size << ")\n"
                  << "  --seed N            (default " << d.seed << ")   --device cpu|cuda|cuda:N (default cpu)\n";
        return 0;
    }
    args.allow_only({"output", "work-dir", "reuse-vae", "vae-steps", "vae-batch", "steps", "batch", "lr", "vae-lr", "vae-fg-share", "seed",
                     "device", "dataset", "verbose", "init", "vae-decoder-only", "mismatch", "mismatch-below", "size"});
    train::TrainOptions o;
    o.output = args.get("output", "sfumato-shapes.safetensors");
    o.work_dir = args.get("work-dir", o.output.string() + ".train");
    o.reuse_vae = args.get("reuse-vae", "");
    o.init = args.get("init", "");
    o.vae_decoder_only = args.has("vae-decoder-only");
    o.mismatch_probability = args.get_double("mismatch", o.mismatch_probability);
    o.mismatch_below = args.get_int("mismatch-below", o.mismatch_below);
    if (o.mismatch_probability < 0 || o.mismatch_probability > 1 || o.mismatch_below < 0 || o.mismatch_below > 1000) {
        throw UsageError("--mismatch must be in [0, 1] and --mismatch-below in [0, 1000]");
    }
    o.vae_steps = args.get_int("vae-steps", o.vae_steps);
    o.vae_batch = args.get_int("vae-batch", o.vae_batch);
    o.steps = args.get_int("steps", o.steps);
    o.batch = args.get_int("batch", o.batch);
    o.lr = args.get_double("lr", o.lr);
    o.vae_lr = args.get_double("vae-lr", o.vae_lr);
    o.vae_foreground_share = args.get_double("vae-fg-share", o.vae_foreground_share);
    if (o.vae_foreground_share < 0 || o.vae_foreground_share >= 1) {
        throw UsageError("--vae-fg-share must be in [0, 1)");
    }
    o.seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int>(o.seed)));
    o.device = args.get("device", "cpu");
    o.dataset_size = args.get_int("dataset", o.dataset_size);
    o.image_size = args.get_int("size", o.image_size);
    // The VAE downsamples 8x and the UNet twice more (2x each), so the side must divide by 32.
    if (o.image_size < 64 || o.image_size > 512 || o.image_size % 32 != 0) {
        throw UsageError("--size must be a multiple of 32 in [64, 512], got " + std::to_string(o.image_size));
    }
    if (o.steps < 1 || o.batch < 1 || o.vae_steps < 0) {
        throw UsageError("--steps and --batch must be positive, --vae-steps not negative");
    }
    const bool tty = ::isatty(STDERR_FILENO);
    const auto start = std::chrono::steady_clock::now();
    o.progress = [&](const std::string& stage, int step, int steps, double loss) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char line[160];
        const int width = 30;
        int filled = steps ? width * step / steps : width;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(width, '.');
        std::snprintf(line, sizeof line, "%-4s [%s] %d/%d  loss %.4f  %.0fs", stage.c_str(), bar.c_str(), step, steps,
                      loss, s);
        if (tty) {
            std::cerr << '\r' << line << (step == steps ? "\n" : "") << std::flush;
        } else if (step % 100 == 0 || step == steps) {  // plain lines when not on a terminal
            std::cerr << line << '\n';
        }
    };
    auto report = train::train_shapes(o);
    auto curve = o.output;
    curve.replace_extension(".loss.png");
    train::plot_loss(report.loss_csv, curve);
    std::cout << "loss curve: " << curve.string() << '\n';
    std::cout << "wrote " << o.output.string() << ": VAE " << report.vae_steps << " steps, UNet " << report.steps
              << " steps, loss " << report.loss << ", VAE round trip " << report.vae.psnr << " dB ("
              << report.vae.detected * 100 << "% of scenes read back), latent scale " << report.latent_scale << ", "
              << report.seconds << " s\n";
    return 0;
}

}  // namespace sf::cli
