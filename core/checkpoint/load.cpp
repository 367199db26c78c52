#include "core/checkpoint/load.h"

#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace sf {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string first_few(const std::vector<std::string>& keys) {
    std::ostringstream out;
    for (size_t i = 0; i < keys.size() && i < 5; ++i) {
        out << (i ? ", " : "") << keys[i];
    }
    if (keys.size() > 5) {
        out << " and " << keys.size() - 5 << " more";
    }
    return out.str();
}

}  // namespace

bool ignore_known_extras(const std::string& key) {
    static const std::set<std::string> schedule = {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
        "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "logvar", "model_ema.decay", "model_ema.num_updates"};
    return schedule.count(key) || key.rfind("model_ema.", 0) == 0 || key.find(".loss.") != std::string::npos ||
           key.rfind("loss.", 0) == 0 || ends_with(key, "logit_scale") || ends_with(key, "position_ids");
}

void load_module(torch::nn::Module& module, const Checkpoint& ckpt, const std::string& prefix,
                 const LoadOptions& options) {
    torch::NoGradGuard no_grad;
    std::vector<std::string> missing;
    std::vector<std::string> mismatched;
    std::set<std::string> used;

    auto fill = [&](const std::string& name, torch::Tensor& dst) {
        const std::string key = prefix + name;
        if (!ckpt.contains(key)) {
            missing.push_back(key);
            return;
        }
        const TensorInfo& info = ckpt.info(key);
        if (c10::IntArrayRef(info.shape) != dst.sizes()) {
            mismatched.push_back(key + ": file " + c10::str(c10::IntArrayRef(info.shape)) + ", model expects " +
                                 c10::str(dst.sizes()));
            return;
        }
        used.insert(key);
        torch::Tensor src = ckpt.get(key);
        const auto dtype = dst.is_floating_point() ? options.dtype : dst.scalar_type();
        // set_data swaps the storage: the constructor's tensor is freed at once (under layers::SkipInit it
        // never took memory), and when file dtype and target match on the CPU the parameter views the
        // memory-mapped file without a copy. When it is a copy (another dtype or device), the file's pages are
        // dropped at once, so loading holds the file and its converted copy only one tensor at a time.
        torch::Tensor loaded =
            options.channels_last && src.dim() == 4
                ? src.to(options.device, dtype, false, false, at::MemoryFormat::ChannelsLast)
                : src.to(options.device, dtype);
        const bool copied = !loaded.is_alias_of(src);
        src.reset();
        dst.set_data(loaded);
        if (copied) {
            ckpt.release(key);
        }
    };
    for (auto& p : module.named_parameters(/*recurse=*/true)) {
        fill(p.key(), p.value());
    }
    for (auto& b : module.named_buffers(/*recurse=*/true)) {
        fill(b.key(), b.value());
    }

    const std::string where = "model '" + ckpt.path().string() + "'";
    if (!mismatched.empty()) {
        throw Error(where + ": tensor shapes do not match the architecture: " + first_few(mismatched));
    }
    if (!missing.empty()) {
        throw Error(where + ": missing " + std::to_string(missing.size()) + " tensors: " + first_few(missing));
    }
    std::vector<std::string> unexpected;
    std::vector<std::string> ignored;
    for (const auto& key : ckpt.keys()) {
        if (key.rfind(prefix, 0) != 0 || used.count(key)) {
            continue;
        }
        (options.ignore && options.ignore(key) ? ignored : unexpected).push_back(key);
    }
    if (!unexpected.empty()) {
        throw Error(where + ": " + std::to_string(unexpected.size()) + " unexpected tensors under '" + prefix +
                    "': " + first_few(unexpected));
    }
    if (!ignored.empty()) {
        log_debug(where + ": ignored " + std::to_string(ignored.size()) + " non-model tensors under '" + prefix +
                  "': " + first_few(ignored));
    }
}

}  // namespace sf
