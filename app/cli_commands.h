// The sfumato-cli commands. Each returns the exit code; UsageError means exit 2, sf::Error exit 1.
#pragma once

#include "app/cli_args.h"
#include "core/worker.h"

namespace sf::cli {

/// sfumato-cli inspect PATH [--keys]
int cmd_inspect(const Args& args);
/// sfumato-cli generate [PROMPT] [options]: runs make_pipeline_runner().
int cmd_generate(const Args& args);
/// sfumato-cli grid [PROMPT] AXES [options]: runs make_pipeline_runner().
int cmd_grid(const Args& args);

/// sfumato-cli train [options]: trains the embedded Sfumato Shapes model.
int cmd_train(const Args& args);
/// sfumato-cli bench [--stage unet|vae|load|pipeline|all] [options]: app/bench_stages.h.
int cmd_bench(const Args& args);

/// sfumato-cli eval-shapes [options]: adherence of a model to the Sfumato Shapes grammar.
int cmd_eval_shapes(const Args& args);

/// generate / grid with a given job runner (tests pass a fake one).
int run_generate(const Args& args, JobRunner runner);
int run_grid(const Args& args, JobRunner runner);

}  // namespace sf::cli
