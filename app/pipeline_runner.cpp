// Stub until core/pipeline exists: every job fails with a clear message.
#include "app/pipeline_runner.h"

#include "core/error.h"

namespace sf::cli {

JobRunner make_pipeline_runner() {
    return [](GenerateRequest&, JobContext& ctx) -> std::vector<Image> {
        ctx.check();
        throw Error("pipeline not available yet");
    };
}

}  // namespace sf::cli
