#include "app/cli_common.h"

#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

#include "app/sampler_names.h"
#include "core/pipeline.h"
#include "core/device.h"
#include "core/error.h"
#include "io/png_io.h"
#include "app/default_model.h"
#include "io/image_io.h"

#ifndef SFUMATO_VERSION
#define SFUMATO_VERSION "0.0.0"
#endif

namespace sf::cli {

namespace fs = std::filesystem;

const std::set<std::string>& request_options() {
    static const std::set<std::string> names = {
        "model",  "prompt", "negative-prompt", "steps", "cfg",       "seed",   "width", "height",
        "sampler", "schedule", "batch",        "init-image", "strength", "fit", "output", "device",
        "dtype",  "clip-skip", "preview",      "verbose", "threads", "help",
    };
    return names;
}

std::string request_options_help() {
    std::ostringstream out;
    out << "  --prompt TEXT            what to draw (or give it as the one positional argument)\n"
           "  --negative-prompt TEXT   what to avoid\n"
           "  --model PATH             .safetensors file or diffusers folder (default: the embedded model)\n"
           "  --steps N                sampling steps (default 20)\n"
           "  --cfg X                  guidance scale (default 7)\n"
           "  --seed N                 seed; -1 = random (default -1)\n"
           "  --width N --height N     size in pixels, multiples of 8 in "
        << kMinSize << ".." << kMaxSize
        << " (default: the model's own size: 64 for the embedded model, 512 SD 1.x, 768 SD 2.x, 1024 SDXL)\n"
           "  --sampler NAME           one of: ";
    for (size_t i = 0; i < sampler_names().size(); ++i) {
        out << (i ? ", " : "") << sampler_names()[i];
    }
    out << "\n  --schedule NAME          one of: ";
    for (size_t i = 0; i < schedule_names().size(); ++i) {
        out << (i ? ", " : "") << schedule_names()[i];
    }
    out << "\n  --batch N                images per run, seeds seed..seed+N-1 (default 1)\n"
           "  --init-image PATH        img2img reference picture\n"
           "  --strength X             img2img denoising strength 0..1 (default 0.75)\n"
           "  --fit MODE               crop | fit (pad with stretched edges) | stretch (default crop)\n"
           "  --clip-skip N            text-encoder layers to skip from the end, 1 = none (default 1)\n"
           "  --device D               auto | cpu | cuda | cuda:N (default auto)\n"
           "  --dtype T                auto | fp32 | fp16 | bf16 (default auto)\n"
           "  --preview MODE           none | latent | taesd (default latent)\n"
           "  --output PATH            folder (NNNNN-<seed>.png) or file.png (default: outputs)\n"
           "  --threads N              CPU threads for libtorch\n"
           "  --verbose                debug log\n";
    return out.str();
}

namespace {

bool is_device_text(const std::string& d) {
    if (d == "auto" || d == "cpu" || d == "cuda" || d == "mps") {
        return true;
    }
    if (d.rfind("cuda:", 0) == 0 && d.size() > 5) {
        return std::all_of(d.begin() + 5, d.end(), [](unsigned char c) { return std::isdigit(c); });
    }
    return false;
}

void check_size(const char* flag, int v) {
    if (v < kMinSize || v > kMaxSize || v % 8 != 0) {
        throw UsageError(std::string("--") + flag + " must be a multiple of 8 between " + std::to_string(kMinSize) +
                         " and " + std::to_string(kMaxSize) + ", got " + std::to_string(v));
    }
}

}  // namespace

void validate_request(const GenerateRequest& r) {
    if (r.width != 0) {
        check_size("width", r.width);
    }
    if (r.height != 0) {
        check_size("height", r.height);
    }
    if (r.steps < 1 || r.steps > 1000) {
        throw UsageError("--steps must be between 1 and 1000, got " + std::to_string(r.steps));
    }
    auto check_cfg = [](double cfg) {
        if (!(cfg >= 0 && cfg <= 100)) {
            throw UsageError("--cfg must be between 0 and 100, got " + format_number(cfg));
        }
    };
    check_cfg(r.cfg_scale);
    for (double c : r.cfg_scales) {
        check_cfg(c);
    }
    if (r.seed < -1 || r.seed > 0xFFFFFFFFLL) {
        throw UsageError("--seed must be -1 (random) or between 0 and 4294967295, got " + std::to_string(r.seed));
    }
    if (r.batch_size < 1 || r.batch_size > kMaxBatch) {
        throw UsageError("--batch must be between 1 and " + std::to_string(kMaxBatch) + ", got " +
                         std::to_string(r.batch_size));
    }
    if (!(r.strength >= 0 && r.strength <= 1)) {
        throw UsageError("--strength must be between 0 and 1, got " + format_number(r.strength));
    }
    if (r.clip_skip < 1 || r.clip_skip > 12) {
        throw UsageError("--clip-skip must be between 1 and 12, got " + std::to_string(r.clip_skip));
    }
    if (!resolve_sampler(r.sampler)) {
        std::string list;
        for (const auto& s : sampler_names()) {
            list += (list.empty() ? "" : ", ") + s;
        }
        throw UsageError("unknown sampler '" + r.sampler + "' (known: " + list + ")");
    }
    if (!resolve_schedule(r.schedule)) {
        std::string list;
        for (const auto& s : schedule_names()) {
            list += (list.empty() ? "" : ", ") + s;
        }
        throw UsageError("unknown schedule '" + r.schedule + "' (known: " + list + ")");
    }
    const auto& modes = io::fit_modes();
    if (std::find(modes.begin(), modes.end(), r.fit) == modes.end()) {
        throw UsageError("--fit must be crop, fit or stretch, got '" + r.fit + "'");
    }
    if (!is_device_text(r.device)) {
        throw UsageError("--device must be auto, cpu, cuda, cuda:N or mps, got '" + r.device + "'");
    }
    if (r.dtype != "auto" && r.dtype != "fp32" && r.dtype != "fp16" && r.dtype != "bf16") {
        throw UsageError("--dtype must be auto, fp32, fp16 or bf16, got '" + r.dtype + "'");
    }
    if (r.preview != "none" && r.preview != "latent" && r.preview != "taesd") {
        throw UsageError("--preview must be none, latent or taesd, got '" + r.preview + "'");
    }
    std::error_code ec;
    if (!r.model.empty() && !fs::exists(r.model, ec)) {
        throw UsageError("model not found: '" + r.model.string() + "'");
    }
    if (!r.init_image_path.empty() && !fs::is_regular_file(r.init_image_path, ec)) {
        throw UsageError("init image not found: '" + r.init_image_path.string() + "'");
    }
}

GenerateRequest request_from_args(const Args& args) {
    GenerateRequest r;
    if (args.positional().size() > 1) {
        throw UsageError("expected at most one positional argument (the prompt), got " +
                         std::to_string(args.positional().size()));
    }
    if (!args.positional().empty() && args.has("prompt")) {
        throw UsageError("give the prompt either as --prompt or as the positional argument, not both");
    }
    r.prompt = args.positional().empty() ? args.get("prompt", "") : args.positional()[0];
    r.negative_prompt = args.get("negative-prompt", "");
    r.model = args.get("model", "");
    r.steps = args.get_int("steps", r.steps);
    r.cfg_scale = args.get_double("cfg", r.cfg_scale);
    r.seed = args.get_int64("seed", r.seed);
    r.width = args.get_int("width", 0);  // 0: the model's own size, resolved in prepare_request
    r.height = args.get_int("height", 0);
    r.batch_size = args.get_int("batch", r.batch_size);
    r.clip_skip = args.get_int("clip-skip", r.clip_skip);
    r.strength = args.get_double("strength", r.strength);
    r.fit = args.get("fit", r.fit);
    r.device = args.get("device", r.device);
    r.dtype = args.get("dtype", r.dtype);
    r.preview = args.get("preview", r.preview);
    r.init_image_path = args.get("init-image", "");
    if (args.has("strength") && r.init_image_path.empty()) {
        throw UsageError("--strength needs --init-image");
    }
    const std::string sampler = args.get("sampler", r.sampler);
    r.sampler = resolve_sampler(sampler).value_or(sampler);
    const std::string schedule = args.get("schedule", r.schedule);
    r.schedule = resolve_schedule(schedule).value_or(schedule);
    cli::validate_request(r);
    return r;
}

int64_t image_seed(const GenerateRequest& r, int index) {
    const auto i = static_cast<size_t>(index);
    return i < r.seeds.size() ? r.seeds[i] : r.seed + index;
}

OutputTarget output_target(const std::string& text) {
    if (text.empty()) {
        throw UsageError("--output needs a path");
    }
    fs::path p(text);
    std::error_code ec;
    if (fs::is_directory(p, ec) || text.back() == '/' || !p.has_extension()) {
        return {p, true};
    }
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext != ".png") {
        throw UsageError("--output: '" + text + "' is neither a folder nor a .png file (images are written as PNG)");
    }
    return {p, false};
}

fs::path output_path(const OutputTarget& target, int64_t seed, int index, int count) {
    if (!target.folder) {
        if (count <= 1) {
            return target.path;
        }
        return target.path.parent_path() /
               (target.path.stem().string() + "-" + std::to_string(index + 1) + target.path.extension().string());
    }
    return io::numbered_png_path(target.path, seed);
}

namespace {

std::string rate_and_eta(int step, int steps, double its) {
    char buf[96];
    if (its > 0) {
        const double eta = (steps - step) / its;
        if (its >= 1) {
            std::snprintf(buf, sizeof buf, "%.1f it/s  ETA %lds", its, std::lround(eta));
        } else {
            std::snprintf(buf, sizeof buf, "%.1f s/it  ETA %lds", 1 / its, std::lround(eta));
        }
    } else {
        std::snprintf(buf, sizeof buf, "-- it/s");
    }
    return buf;
}

}  // namespace

std::string format_progress_bar(int step, int steps, double its, int bar_width) {
    const int filled = steps > 0 ? std::clamp(step * bar_width / steps, 0, bar_width) : 0;
    return "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(bar_width - filled), '.') +
           "] " + std::to_string(step) + "/" + std::to_string(steps) + "  " + rate_and_eta(step, steps, its);
}

std::string format_progress_line(int step, int steps, double its) {
    return "step " + std::to_string(step) + "/" + std::to_string(steps) + "  " + rate_and_eta(step, steps, its);
}

InfotextInfo infotext_info(const GenerateRequest& r, const std::string& model_hash) {
    InfotextInfo info;
    info.model_hash = model_hash;
    if (!r.model.empty()) {
        info.model_name = (fs::is_directory(r.model) ? r.model.filename() : r.model.stem()).string();
    }
    info.version = std::string("sfumato ") + SFUMATO_VERSION;
    DeviceChoice best = default_device();
    info.device = r.device == "auto" ? best.device.str() : r.device;
    if (r.dtype != "auto") {
        info.dtype = r.dtype;
    } else {
        info.dtype = dtype_name(info.device.rfind("cuda", 0) == 0 ? torch::kFloat16 : torch::kFloat32);
    }
    // Seed mode and attention backend are the pipeline's to report; left out until it exists.
    info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                         std::to_string(TORCH_VERSION_PATCH);
    return info;
}

/// The model's short hash, computed once on first use (a SHA-256 of a multi-GB file takes seconds, so only
const std::string& ModelHash::get() {
    std::call_once(once_, [this] {
        try {
            hash_ = short_model_hash(model_);
        } catch (const Error&) {
            hash_.clear();  // an unreadable model fails the job elsewhere; the metadata just lacks the hash
        }
    });
    return hash_;
}

void apply_threads(const Args& args) {
    if (args.has("threads")) {
        const int n = args.get_int("threads", 0);
        if (n < 1) {
            throw UsageError("--threads must be at least 1");
        }
        torch::set_num_threads(n);
    }
}

void prepare_output(const OutputTarget& target) {
    const fs::path dir = target.folder ? target.path : target.path.parent_path();
    if (dir.empty()) {
        return;
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) {
        throw Error("cannot create output folder '" + dir.string() + "'" + (ec ? ": " + ec.message() : ""));
    }
}

void prepare_request(GenerateRequest& request) {
    if (request.model.empty()) {
        request.model = find_default_model();
    }
    if (request.width == 0 || request.height == 0) {
        const int side = model_default_size(request.model);
        request.width = request.width ? request.width : side;
        request.height = request.height ? request.height : side;
    }
    if (!request.init_image_path.empty()) {
        request.init_image = io::load_init_image(request.init_image_path, request.width, request.height, request.fit);
    }
}

// ---- running jobs ----

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

// Ctrl+C sets a flag that the waiting thread turns into worker.cancel_all(); a second Ctrl+C kills the process
// (SA_RESETHAND restores the default action after the first).
class SigintGuard {
public:
    SigintGuard() {
        g_interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        installed_ = sigaction(SIGINT, &sa, &old_) == 0;
    }
    ~SigintGuard() {
        if (installed_) {
            sigaction(SIGINT, &old_, nullptr);
        }
    }
    SigintGuard(const SigintGuard&) = delete;
    SigintGuard& operator=(const SigintGuard&) = delete;

private:
    struct sigaction old_ {};
    bool installed_ = false;
};

}  // namespace

std::vector<JobOutcome> run_jobs(std::vector<GenerateRequest> requests, JobRunner runner, JobSaver saver) {
    const size_t total = requests.size();
    std::vector<JobOutcome> outcomes(total);
    std::mutex mutex;
    std::condition_variable cv;
    std::map<JobId, size_t> index_of;
    size_t ended = 0;
    size_t current = 0;  // worker thread only: the job whose images the saver is given
    std::string first_error;
    bool any_cancelled = false;
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    bool bar_open = false;

    auto prefix = [&](size_t job) {
        return total > 1 ? "job " + std::to_string(job + 1) + "/" + std::to_string(total) + "  " : std::string();
    };
    auto close_bar = [&] {
        if (bar_open) {
            std::cerr << '\n';
            bar_open = false;
        }
    };

    auto on_event = [&](Event event) {
        std::unique_lock lock(mutex);
        if (auto* e = std::get_if<Started>(&event)) {
            current = index_of.at(e->id);
            outcomes[current].request = e->request;
        } else if (auto* e = std::get_if<Progress>(&event)) {
            const size_t job = index_of.at(e->id);
            if (tty) {
                std::cerr << '\r' << prefix(job) << format_progress_bar(e->step, e->steps, e->its) << "   " << std::flush;
                bar_open = true;
            } else {
                std::cerr << prefix(job) << format_progress_line(e->step, e->steps, e->its) << '\n';
            }
        } else if (auto* e = std::get_if<Finished>(&event)) {
            close_bar();
            auto& out = outcomes[index_of.at(e->id)];
            out.request = e->request;
            out.images = std::move(e->images);
            out.paths = e->paths;
            for (const auto& p : out.paths) {
                if (!p.empty()) {
                    std::cout << p.string() << '\n';
                }
            }
            std::cout << std::flush;
            ++ended;
        } else if (auto* e = std::get_if<Failed>(&event)) {
            close_bar();
            if (first_error.empty()) {
                first_error = e->message;
            }
            ++ended;
        } else if (std::get_if<Cancelled_>(&event)) {
            close_bar();
            any_cancelled = true;
            ++ended;
        }
        lock.unlock();
        cv.notify_all();
    };
    ImageSaver image_saver;
    if (saver) {
        image_saver = [&](const GenerateRequest& request, const Image& image, int index) {
            return saver(current, request, image, index);
        };
    }

    SigintGuard sigint;
    Worker worker(std::move(runner), on_event, image_saver);
    {
        std::lock_guard lock(mutex);  // events wait until every id is known
        for (size_t i = 0; i < total; ++i) {
            index_of[worker.submit(std::move(requests[i]))] = i;
        }
    }
    bool cancel_sent = false;
    for (;;) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, std::chrono::milliseconds(100));
        if (ended == total) {
            break;
        }
        const bool stop = g_interrupted || !first_error.empty();
        lock.unlock();
        if (stop && !cancel_sent) {
            if (g_interrupted) {
                std::cerr << (tty ? "\n" : "") << "cancelling...\n";
            }
            worker.cancel_all();
            cancel_sent = true;
        }
    }
    worker.wait_idle();
    if (!first_error.empty()) {
        throw Error(first_error);
    }
    if (g_interrupted || any_cancelled) {
        throw Cancelled();
    }
    return outcomes;
}

}  // namespace sf::cli
