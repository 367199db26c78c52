// The one factory that gives sfumato-cli (and later the app) its pipeline, as a sf::JobRunner for sf::Worker.
#pragma once

#include "core/worker.h"

namespace sf::cli {

/// The job runner that turns a GenerateRequest into images (loads request.model on first use).
/// For now a stub whose jobs fail with sf::Error("pipeline not available yet"); the pipeline replaces it.
JobRunner make_pipeline_runner();

}  // namespace sf::cli
