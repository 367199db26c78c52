// Adherence of a model to the Sfumato Shapes grammar: generate pictures for captions, read them back with
// the OpenCV detector (shapes/shapes.h), and count how often each named attribute was drawn.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/pipeline.h"

namespace sf::train {

struct EvalOptions {
    std::vector<std::string> captions;  ///< empty: `count` random captions naming colour + shape + position
    int count = 48;
    std::vector<double> cfg_scales = {1.0, 5.0};
    int steps = 20;
    std::string sampler = "Euler";
    int64_t seed = 1000;                ///< caption i uses seed + i
    uint32_t caption_seed = 7;          ///< for the random captions
    std::function<void(int done, int total)> progress;
};

/// Fractions in [0, 1] of the pictures whose attribute matches what the caption named.
struct Adherence {
    double cfg = 0;
    int images = 0;
    double shape = 0, color = 0, position = 0, size = 0, background = 0, overall = 0;
};

/// One row per guidance scale.
std::vector<Adherence> evaluate_shapes(Pipeline& pipeline, const EvalOptions& options);

/// img2img check: a reference picture of one scene, re-generated with a caption naming another scene.
/// Returns the fraction of pictures that keep the reference's shape and position (`kept`) and that follow
/// the new caption's shape, colour and position (`followed`).
struct Img2ImgCheck {
    double strength = 0;
    int images = 0;
    double kept = 0;           ///< the reference's shape and position both read back
    double kept_position = 0;  ///< the reference's position read back, whatever the shape
    double kept_shape = 0;     ///< the reference's shape read back, wherever it is
    int large_images = 0;      ///< of `images`, those whose reference shape is large
    double kept_large = 0;     ///< `kept` among the large references alone
    double followed = 0;       ///< everything the new caption names read back
};
/// `captioned` false: the same references and seeds with the empty prompt, so nothing pulls the picture elsewhere:
/// what the noise of each strength leaves of the reference, the most a captioned run could keep.
std::vector<Img2ImgCheck> evaluate_img2img(Pipeline& pipeline, const std::vector<double>& strengths, int count,
                                           double cfg, int steps, int64_t seed, bool captioned = true);

/// The autoencoder alone: random scenes rendered, encoded (as img2img does), decoded and read back by the
/// detector. Per attribute, the fraction read back as drawn (`cfg` 0): the ceiling the VAE puts on adherence.
Adherence evaluate_autoencoder(Pipeline& pipeline, int count, uint32_t seed);

/// Random captions that name colour + shape + position (and sometimes size and background).
std::vector<std::string> position_captions(int count, uint32_t seed);

}  // namespace sf::train
