// Cheap latent → RGB previews: one linear map per latent space (ComfyUI comfy/latent_formats.py
// `latent_rgb_factors` / `latent_rgb_factors_bias`), no network.
#pragma once

#include <torch/torch.h>

#include "core/models/vae.h"

namespace sf {

/// The [C, 3] factor matrix (float32, CPU) of a latent space: SD1/SD2 and SDXL 4 channels, SD3 and
/// FLUX.1 16 channels.
torch::Tensor latent_rgb_factors(vae::LatentSpace space);
/// The [3] bias (zeros for SD1/SD2).
torch::Tensor latent_rgb_bias(vae::LatentSpace space);

/// Latent as the diffusion model sees it (after the latent scaling), [N, C, h, w] → RGB [N, 3, h, w] in
/// [-1, 1] (clamped), on the latent's device, float32. Throws sf::Error when C does not fit the space.
torch::Tensor latent_preview(const torch::Tensor& latent, vae::LatentSpace space);

}  // namespace sf
