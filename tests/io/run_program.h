// Running the built binaries (sfumato-cli, sfumato-bench) from the io tests; SFUMATO_CLI_EXE is sfumato-cli's
// path in the build tree.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace sf::test {

struct ProgramRun {
    int code = -1;       ///< exit status; -1 when killed by a signal
    std::string output;  ///< stdout and stderr together
};

/// Runs `exe args` (args already shell-quoted) under the environment assignments `env`.
inline ProgramRun run_program(const std::string& exe, const std::string& args, const std::string& env = "") {
    const std::string cmd = env + " '" + exe + "' " + args + " 2>&1";
    ProgramRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        r.output.append(buf, n);
    }
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline ProgramRun run_cli(const std::string& args, const std::string& env = "") {
    return run_program(SFUMATO_CLI_EXE, args, env);
}

}  // namespace sf::test
