// sfumato-bench: the benchmark stages of `sfumato-cli bench` with only sfumato_core (no OpenCV, no Qt), for
// builds without the CLI such as the `cuda` preset.
#include <cstring>
#include <iostream>
#include <set>
#include <string>

#include "app/bench_stages.h"
#include "app/cli_args.h"
#include "app/default_model.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
    sf::set_log_sink([](sf::LogLevel level, const std::string& m) {
        std::cerr << (level >= sf::LogLevel::warn ? "warning: " : "") << m << '\n';
    });
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--verbose")) {
            sf::set_log_level(sf::LogLevel::debug);
        }
    }
    sf::init_runtime();
    sf::bench::BenchEnv env;
    env.program = "sfumato-bench";
    env.child_prefix = {sf::cli::executable_path().string()};
    try {
        sf::cli::Args args(argc, argv, 1, std::set<std::string>{"verbose", "help", "keep"});
        return sf::bench::run_bench(args, env, std::cout);
    } catch (const sf::cli::UsageError& e) {
        std::cerr << "sfumato-bench: " << e.what() << "\n(see sfumato-bench --help)\n";
        return 2;
    } catch (const sf::Error& e) {
        std::cerr << "sfumato-bench: error: " << e.what() << '\n';
        return 1;
    } catch (const c10::Error& e) {
        std::cerr << "sfumato-bench: error: " << e.what_without_backtrace() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "sfumato-bench: error: " << e.what() << '\n';
        return 1;
    }
}
