// The model card's loss curve: loss.csv (stage,step,loss) drawn as a PNG.
#pragma once

#include <filesystem>

namespace sf::train {

/// Draws each stage's loss (log scale, smoothed) against its step; throws sf::Error when unreadable.
void plot_loss(const std::filesystem::path& csv, const std::filesystem::path& png);

}  // namespace sf::train
