// sfumato-cli inspect PATH: what a checkpoint file or diffusers folder holds.
#include <iomanip>
#include <iostream>
#include <map>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "core/checkpoint/checkpoint.h"
#include "core/error.h"

namespace sf::cli {

int cmd_inspect(const Args& args) {
    args.allow_only({"keys"});
    if (args.positional().size() != 1) {
        throw UsageError("usage: sfumato-cli inspect PATH [--keys]");
    }
    auto ckpt = Checkpoint::open(args.positional()[0], Validation::header_only);
    std::cout << "file:       " << ckpt.path().string() << '\n';
    if (!ckpt.has_data()) {
        std::cout << "note:       header only (tensor data absent)\n";
    }
    std::map<std::string, int64_t> dtypes;
    int64_t params = 0;
    for (const auto& key : ckpt.keys()) {
        const auto& info = ckpt.info(key);
        dtypes[info.dtype] += info.numel();
        params += info.numel();
    }
    std::cout << "tensors:    " << ckpt.size() << " (" << params << " values)\n";
    std::cout << "dtypes:    ";
    for (const auto& [d, n] : dtypes) {
        std::cout << ' ' << d << "=" << n;
    }
    std::cout << '\n';
    if (args.has("keys")) {
        for (const auto& key : ckpt.keys()) {
            const auto& info = ckpt.info(key);
            std::cout << key << ' ' << info.dtype << ' ' << c10::IntArrayRef(info.shape) << '\n';
        }
    }
    return 0;
}

}  // namespace sf::cli
