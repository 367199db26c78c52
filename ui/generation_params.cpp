#include "ui/generation_params.h"

#include <algorithm>

namespace sf::ui {

qint64 GenerationParams::seedAt(int index) const {
    if (index >= 0 && index < seeds.size()) {
        return seeds[index];
    }
    return seed < 0 ? seed : seed + index;
}

double GenerationParams::cfgAt(int index) const {
    if (index >= 0 && index < cfgScales.size()) {
        return cfgScales[index];
    }
    return cfgScale;
}

int GenerationParams::imageCount() const {
    return std::max<int>({batchSize, static_cast<int>(seeds.size()), static_cast<int>(cfgScales.size()), 1});
}

GenerationParams GenerationParams::forImage(int index) const {
    GenerationParams p = *this;
    p.seed = seedAt(index);
    p.cfgScale = cfgAt(index);
    p.seeds.clear();
    p.cfgScales.clear();
    p.batchSize = 1;
    p.batchCount = 1;
    return p;
}

}  // namespace sf::ui
