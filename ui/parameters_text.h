// A1111-style "parameters" text (the PNG tEXt chunk): written with every image, read back to restore.
// parseParametersText is a minimal stand-in, to be replaced by core/parameters.h.
#pragma once

#include <QString>

#include "ui/generation_params.h"

namespace sf::ui {

/// The A1111 text for one image: prompt, "Negative prompt: ...", then "Steps: .., Sampler: .., ..".
QString formatParametersText(const GenerationParams& params);

/// Reads A1111 text onto `params` (fields the text lacks are kept); false when it is not parameters text.
bool parseParametersText(const QString& text, GenerationParams& params);

}  // namespace sf::ui
