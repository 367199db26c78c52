// TEMPORARY: a stand-in pipeline so the app runs before core/pipeline lands; app/sfumato.cpp switches to
// make_pipeline_runner() (app/pipeline_runner.h) when the real one is linked.
#pragma once

#include "core/worker.h"

namespace sf {

/// Fakes a generation: `steps` steps of ~30 ms with moving preview latents, then gradient images whose
/// colours depend on seed and guidance (blended with the reference image for img2img).
JobRunner make_fake_pipeline_runner();

}  // namespace sf
