// The trainer of the embedded default model, "Sfumato Shapes": a small SD1-family latent diffusion model
// (KL VAE + CLIP-shaped text transformer + UNet, the very modules real checkpoints load into), trained on
// the procedural Shapes pictures with the denoising objective.
#pragma once

#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "core/models/clip.h"
#include "core/models/unet.h"
#include "core/models/vae.h"

namespace sf::train {

/// The embedded model's architecture. Every module is convolutional or attends over positions, so the picture side
/// is not part of it: it is `TrainOptions::image_size`.
struct ShapesArchitecture {
    vae::VAEConfig vae;
    TextConfig text;
    unet::UNetConfig unet;
    int64_t norm_groups = 8;  ///< GroupNorm groups in UNet and VAE: SD's 4 channels per group at 32 channels
};
ShapesArchitecture shapes_architecture(int vocab_size);

struct TrainOptions {
    std::filesystem::path output;    ///< the finished single-file checkpoint (.safetensors)
    std::filesystem::path work_dir;  ///< resumable state (checkpoints every `save_every` steps)
    std::filesystem::path reuse_vae; ///< take the VAE from this checkpoint instead of training one
    /// Start from this finished model (VAE, text encoder, UNet, tokenizer's latent scale) instead of from scratch:
    /// the steps below then continue it. Only read when the work folder is fresh.
    std::filesystem::path init;
    /// Train only the VAE's decoder: the encoder, so the latent space and a UNet trained on it, stay as they are.
    bool vae_decoder_only = false;
    int vae_steps = 500;
    int vae_batch = 16;
    double vae_lr = 2e-3;
    double vae_foreground_share = 0.5;  ///< each picture's shape carries this share of its reconstruction loss
    int steps = 4000;                ///< UNet + text encoder steps
    int batch = 32;
    double lr = 1e-3;
    double ema_decay = 0.999;
    double uncond_probability = 0.1; ///< captions dropped for classifier-free guidance
    /// Share of the examples noised below `mismatch_below` whose caption describes another picture (see
    /// `caption_scene`). 0: every caption describes its own picture.
    double mismatch_probability = 0;
    int mismatch_below = 400;
    /// Side of the training pictures (the shipped model's 64: 8x8 latents); also the model's default size.
    int image_size = 64;
    int dataset_size = 8000;        ///< pictures rendered and encoded once for the UNet stage
    int save_every = 500;
    int vae_eval_count = 256;        ///< held-out pictures for the VAE quality check (half at each checkpoint)
    uint64_t seed = 1;
    std::string device = "cpu";
    /// Called every few steps: stage ("vae" / "unet"), step, steps, smoothed loss.
    std::function<void(const std::string& stage, int step, int steps, double loss)> progress;
};

/// The autoencoder's fidelity on held-out pictures.
struct VaeQuality {
    double psnr = 0;      ///< round trip (posterior mean), dB
    double detected = 0;  ///< share of reconstructions the detector reads back completely (shape, size, colours, position)
};

/// What the run did, for the model card.
struct TrainReport {
    VaeQuality vae;
    int vae_steps = 0;
    int steps = 0;
    double vae_loss = 0;
    double loss = 0;
    double seconds = 0;
    double latent_scale = 0;
    std::filesystem::path loss_csv;  ///< step,stage,loss rows (the model card's loss curve)
};

/// L1 + L2 reconstruction loss in which each picture's shape carries `fg_share` of that picture's loss and its
/// background the rest, whatever the shape's size. A small shape is 2 % of the picture, so an unweighted loss is
/// met by a sharp background around a soft blob, while the captions talk about the shape; and a fixed per-pixel
/// weight still lets the large shapes (6x the pixels of a small one) dominate, so small triangles came back as
/// round blobs. The mask is every pixel that differs from the corner's background colour, grown by one pixel so
/// the edges count too. `fg_share` <= 0 is the plain mean. recon, x: [n, 3, H, W] in [-1, 1].
torch::Tensor reconstruction_loss(const torch::Tensor& recon, const torch::Tensor& x, double fg_share);

/// Which scene the caption of training picture `picture`, noised to timestep `t`, describes: its own, or, with
/// probability `p` when t < `below`, another of the `scene_count` scenes. The target stays this picture's noise,
/// so at low noise the model learns that what it sees wins over a caption that contradicts it, which is what
/// img2img at a low strength asks of it. Trained only on agreeing pairs, it redraws the caption's shape, colour
/// and place even at strength 0.1; at high noise the caption always agrees, so text-to-image keeps following it.
int caption_scene(int picture, int t, int scene_count, double p, int below, std::mt19937& rng);

/// Trains (resuming from work_dir when it holds a state) and writes `output`. Throws sf::Error.
TrainReport train_shapes(const TrainOptions& options);

}  // namespace sf::train
