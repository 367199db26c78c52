// The one factory that gives sfumato-cli and the app their pipeline: core's job runner with a model cache,
// defaulting to the embedded model.
#include "app/pipeline_runner.h"

#include "app/default_model.h"
#include "core/pipeline.h"

namespace sf {

JobRunner make_pipeline_runner() {
    std::filesystem::path fallback;
    try {
        fallback = cli::find_default_model();
    } catch (const std::exception&) {
        // No embedded model installed: requests must name a model (the runner says so when one does not).
    }
    return make_job_runner(std::make_shared<PipelineCache>(), fallback);
}

}  // namespace sf
