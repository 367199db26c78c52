// The group count of every GroupNorm in a module tree. SD's UNet and VAE hard-wire 32 groups (ldm's
// GroupNorm32, the VAE's Normalize), and a checkpoint cannot show it: a GroupNorm stores one weight per channel
// whatever the grouping. Narrow models need fewer: at 32 channels, 32 groups is instance normalisation, which
// erases every per-channel constant (a flat background's colour) before the output convolution. The embedded
// model keeps SD's 4 channels per group at its narrowest level and says so in metadata `sfumato.norm_groups`.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>

namespace sf {

/// Metadata key of the group count (absent: SD's 32).
inline constexpr const char* kNormGroupsKey = "sfumato.norm_groups";

/// Sets the group count of every GroupNorm under `root`. Throws sf::Error naming `what` and the module when a
/// GroupNorm's channels are not a multiple of `groups`.
void set_norm_groups(torch::nn::Module& root, int64_t groups, const std::string& what);

}  // namespace sf
