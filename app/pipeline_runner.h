// The one factory that gives sfumato-cli and the app their pipeline, as a sf::JobRunner for sf::Worker.
#pragma once

#include "core/worker.h"

namespace sf {

/// The job runner that turns a GenerateRequest into images: loads request.model (the embedded default model
/// when empty) on first use and keeps it loaded between jobs.
JobRunner make_pipeline_runner();

}  // namespace sf
