// sfumato-cli inspect PATH: what a checkpoint file or diffusers folder holds.
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/family.h"
#include "core/error.h"

namespace sf::cli {

namespace {

/// 1234567 → "1.23 M".
std::string human(int64_t n) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2);
    if (n >= 1'000'000'000) {
        s << n / 1e9 << " G";
    } else if (n >= 1'000'000) {
        s << n / 1e6 << " M";
    } else if (n >= 1'000) {
        s << n / 1e3 << " k";
    } else {
        s << n;
    }
    return s.str();
}

struct Tally {
    int64_t tensors = 0;
    int64_t params = 0;
    std::map<std::string, int64_t> dtypes;  // dtype → tensor count

    void add(const TensorInfo& info) {
        ++tensors;
        params += info.numel();
        ++dtypes[info.dtype];
    }
    std::string dtype_list() const {
        std::string out;
        for (const auto& [d, n] : dtypes) {
            out += (out.empty() ? "" : " ") + d + "x" + std::to_string(n);
        }
        return out;
    }
};

}  // namespace

int cmd_inspect(const Args& args) {
    args.allow_only({"keys"});
    if (args.positional().size() != 1) {
        throw UsageError("usage: sfumato-cli inspect PATH [--keys]");
    }
    auto ckpt = Checkpoint::open(args.positional()[0], Validation::header_only);
    std::cout << "file:        " << ckpt.path().string() << '\n';
    if (!ckpt.has_data()) {
        std::cout << "note:        header only (tensor data absent)\n";
    }

    std::optional<FamilyInfo> fi;
    try {
        fi = detect_family(ckpt);
    } catch (const Error& e) {
        std::cout << "family:      unknown\n  " << e.what() << '\n';
    }

    // Each key belongs to the component with the longest matching prefix; the rest is "other".
    std::vector<Tally> per(fi ? fi->components.size() : 0);
    Tally other;
    Tally total;
    for (const auto& key : ckpt.keys()) {
        const auto& info = ckpt.info(key);
        total.add(info);
        int best = -1;
        size_t best_len = 0;
        for (size_t i = 0; i < per.size(); ++i) {
            const auto& p = fi->components[i].prefix;
            if (key.compare(0, p.size(), p) == 0 && (best < 0 || p.size() > best_len)) {
                best = static_cast<int>(i);
                best_len = p.size();
            }
        }
        (best < 0 ? other : per[best]).add(info);
    }

    if (fi) {
        std::cout << "family:      " << fi->name << " (" << to_string(fi->family) << ")\n";
        std::cout << "latent:      " << fi->latent_channels << " channels, scale " << fi->latent_scale;
        if (fi->latent_shift != 0) {
            std::cout << ", shift " << fi->latent_shift;
        }
        std::cout << "\nprediction:  " << to_string(fi->prediction) << '\n';
        std::cout << "components:\n";
        for (size_t i = 0; i < per.size(); ++i) {
            const auto& c = fi->components[i];
            std::cout << "  " << std::left << std::setw(15) << c.role << std::setw(15) << c.kind << "'" << c.prefix
                      << "'  " << per[i].tensors << " tensors, " << human(per[i].params) << " parameters, "
                      << per[i].dtype_list() << '\n';
        }
        if (other.tensors > 0) {
            std::cout << "  " << std::left << std::setw(30) << "other" << other.tensors << " tensors, "
                      << human(other.params) << " values, " << other.dtype_list() << '\n';
        }
        std::cout << "architecture:\n";
        for (const auto& [what, desc] : fi->summary) {
            std::cout << "  " << std::left << std::setw(15) << what << desc << '\n';
        }
        for (const auto& n : fi->notes) {
            std::cout << "note:        " << n << '\n';
        }
    }
    std::cout << "total:       " << total.tensors << " tensors, " << human(total.params) << " parameters ("
              << total.params << "), " << total.dtype_list() << '\n';
    if (args.has("keys")) {
        for (const auto& key : ckpt.keys()) {
            const auto& info = ckpt.info(key);
            std::cout << key << ' ' << info.dtype << ' ' << c10::IntArrayRef(info.shape) << '\n';
        }
    }
    return 0;
}

}  // namespace sf::cli
