// The only Qt <-> core conversions (STYLE.md §3.1). Declarations use forward types, so this header stays
// torch-free; qt_convert.cpp is where the ui meets libtorch.
#pragma once

#include <QImage>
#include <QString>
#include <QStringList>

#include "ui/generation_params.h"

namespace at {
class Tensor;
}
namespace sf {
struct GenerateRequest;
struct Image;
}  // namespace sf

namespace sf::ui {

/// The core request for `params` (reference image fitted to width x height by sf::io::fit_image_tensor).
sf::GenerateRequest toRequest(const GenerationParams& params);
/// Copies a core request back (the reference image is not converted back; `base` supplies it).
GenerationParams fromRequest(const sf::GenerateRequest& request, const GenerationParams& base = {});
/// An 8-bit RGB sf::Image as a QImage (deep copy).
QImage toQImage(const sf::Image& image);
/// A QImage as an 8-bit RGB sf::Image (alpha dropped; deep copy).
sf::Image toImage(const QImage& image);
/// `image` fitted to `target` with mode "crop", "fit" or "stretch" (sf::io::fit_image); null when empty.
QImage fitImage(const QImage& image, QSize target, const QString& mode);

/// The A1111 "parameters" text of image `index` of `params` (sf::format_parameters; model name = file stem).
QString parametersText(const GenerationParams& params, int index = 0);
/// Reads A1111 parameters text (sf::parse_parameters) onto `params`: prompt, negative prompt, steps,
/// sampler, schedule, guidance, seed, size, and strength / fit for img2img texts; the model and the device
/// settings are kept. False (params untouched) when the text does not end in a settings line.
bool paramsFromText(const QString& text, GenerationParams& params);

/// Live preview of a latent [N, C, h, w] (first image) as RGB through sf::latent_preview (the SD or SDXL
/// latent -> RGB factors), upscaled x8. Cheap; safe on any thread; null when the latent does not fit.
QImage latentToPreview(const at::Tensor& latent, bool sdxlLatents = false);
/// The sampler names core's registry knows (core/sampling/samplers.h), in A1111's menu order.
QStringList samplerNames();
/// The schedule names core knows (core/sampling/schedule.h), "Automatic" first.
QStringList scheduleNames();
/// CUDA devices libtorch can see (0 on a CPU-only build).
int cudaDeviceCount();

}  // namespace sf::ui
