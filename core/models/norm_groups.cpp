#include "core/models/norm_groups.h"

#include "core/models/layers.h"

#include "core/error.h"

namespace sf {

void set_norm_groups(torch::nn::Module& root, int64_t groups, const std::string& what) {
    if (groups < 1) {
        throw Error(what + ": GroupNorm group count must be positive (got " + std::to_string(groups) + ")");
    }
    for (const auto& item : root.named_modules()) {
        auto* norm = item.value()->as<layers::GroupNormImpl>();
        if (!norm) {
            continue;
        }
        const int64_t channels = norm->options.num_channels();
        if (channels % groups != 0) {
            throw Error(what + ": GroupNorm '" + item.key() + "' has " + std::to_string(channels) +
                        " channels, not a multiple of " + std::to_string(groups) + " groups");
        }
        norm->options.num_groups(groups);
    }
}

}  // namespace sf
