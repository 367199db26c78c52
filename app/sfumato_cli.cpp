// sfumato-cli: everything the app does to make an image, as commands for scripts and batch work.
#include <cstring>
#include <iostream>
#include <string>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"


namespace {

struct CommandEntry {
    const char* name;
    sf::cli::Command run;
    const char* help;
};

const CommandEntry kCommands[] = {
    {"inspect", sf::cli::cmd_inspect, "PATH            family, components, dtypes, parameters, config"},
    {"bench", sf::cli::cmd_bench, "[--stage S] ...   per-stage times and targets (unet, vae, load, pipeline)"},
#ifdef SFUMATO_HAVE_IO
    {"generate", sf::cli::cmd_generate, "[PROMPT] ...   text (or image) to PNG files; --help for options"},
    {"grid", sf::cli::cmd_grid, "[PROMPT] AXES ...  labelled comparison grid (--seeds, --cfgs, ...)"},
    {"train", sf::cli::cmd_train, "[--output F] ... train the embedded Sfumato Shapes model (resumable)"},
    {"eval-shapes", sf::cli::cmd_eval_shapes, "[--model F] ... adherence to Sfumato Shapes captions per guidance"},
#endif
};

void usage(std::ostream& out) {
    out << "usage: sfumato-cli COMMAND [options]\n\ncommands:\n";
    for (const auto& c : kCommands) {
        out << "  " << c.name << ' ' << c.help << '\n';
    }
    out << "\nglobal options: --verbose (debug log), --threads N\n"
           "exit status: 0 done, 1 failed, 2 bad usage, 130 cancelled (Ctrl+C)\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? 2 : 0;
    }
    sf::set_log_sink([](sf::LogLevel level, const std::string& m) {
        std::cerr << (level >= sf::LogLevel::warn ? "warning: " : "") << m << '\n';
    });
    for (int i = 2; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--verbose")) {
            sf::set_log_level(sf::LogLevel::debug);
        }
    }
    sf::init_runtime();
    for (const auto& c : kCommands) {
        if (c.name == std::string(argv[1])) {
            try {
                std::set<std::string> flags = {"verbose", "keys", "help", "img2img", "autoencoder", "keep", "vae-decoder-only"};
                sf::cli::Args args(argc, argv, 2, flags);
                return c.run(args);
            } catch (const sf::cli::UsageError& e) {
                std::cerr << "sfumato-cli " << c.name << ": " << e.what() << "\n(see sfumato-cli " << c.name
                          << " --help)\n";
                return 2;
            } catch (const sf::Cancelled&) {
                std::cerr << "sfumato-cli: cancelled\n";
                return 130;
            } catch (const sf::Error& e) {
                std::cerr << "sfumato-cli " << c.name << ": error: " << e.what() << '\n';
                return 1;
            } catch (const c10::Error& e) {
                std::cerr << "sfumato-cli " << c.name << ": error: " << e.what_without_backtrace() << '\n';
                return 1;
            } catch (const std::exception& e) {
                std::cerr << "sfumato-cli " << c.name << ": error: " << e.what() << '\n';
                return 1;
            }
        }
    }
    std::cerr << "sfumato-cli: unknown command '" << argv[1] << "'\n\n";
    usage(std::cerr);
    return 2;
}
