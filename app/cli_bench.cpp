// sfumato-cli bench: the benchmark stages of app/bench_stages.h as a sfumato-cli command.
#include <iostream>

#include "app/bench_stages.h"
#include "app/cli_commands.h"
#include "app/default_model.h"

namespace sf::cli {

int cmd_bench(const Args& args) {
    bench::BenchEnv env;
    env.program = "sfumato-cli bench";
    env.child_prefix = {executable_path().string(), "bench"};
    return bench::run_bench(args, env, std::cout);
}

}  // namespace sf::cli
