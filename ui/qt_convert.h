// The only Qt <-> core conversions (STYLE.md §3.1). Declarations use forward types, so this header stays
// torch-free; qt_convert.cpp is where the ui meets libtorch.
#pragma once

#include <QImage>
#include <QString>

#include "ui/generation_params.h"

namespace at {
class Tensor;
}
namespace sf {
struct GenerateRequest;
struct Image;
}  // namespace sf

namespace sf::ui {

/// The core request for `params` (reference image fitted to width x height as [1, 3, H, W] in [-1, 1]).
sf::GenerateRequest toRequest(const GenerationParams& params);
/// Copies a core request back (the reference image is not converted back; `base` supplies it).
GenerationParams fromRequest(const sf::GenerateRequest& request, const GenerationParams& base = {});
/// An 8-bit RGB sf::Image as a QImage (deep copy).
QImage toQImage(const sf::Image& image);
/// Preview of a latent [N, 4, h, w] (first image) as RGB: the fixed 4 -> 3 linear approximation, upscaled x8.
/// Cheap (h * w * 12 multiply-adds); safe on any thread.
QImage latentToPreview(const at::Tensor& latent);
/// CUDA devices libtorch can see (0 on a CPU-only build).
int cudaDeviceCount();

}  // namespace sf::ui
