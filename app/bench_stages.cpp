#include "app/bench_stages.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <torch/version.h>

#include "app/default_model.h"
#include "core/bench/unet_bench.h"
#include "core/bench/vae_bench.h"
#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/family.h"
#include "core/checkpoint/safetensors.h"
#include "core/cuda_graph.h"
#include "core/error.h"
#include "core/image.h"
#include "core/models/clip.h"
#include "core/models/onednn.h"
#include "core/models/taesd.h"
#include "core/models/unet.h"
#include "core/models/vae.h"
#include "core/pipeline.h"
#include "core/sampling/denoiser.h"
#include "core/sampling/noise.h"
#include "core/sampling/samplers.h"
#include "core/sampling/schedule.h"

namespace sf::bench {

namespace fs = std::filesystem;
using cli::UsageError;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* format, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    return buf;
}

double gb(uint64_t bytes) { return static_cast<double>(bytes) / 1e9; }

/// Display width of UTF-8 text (code points; "²", "≤" and "×" are one column each).
size_t columns(const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, size_t width) { return s + std::string(width - std::min(width, columns(s)), ' '); }

/// A kB field of /proc/self/status ("VmHWM:  123456 kB") in bytes; 0 when absent.
uint64_t proc_status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stoull(line.substr(field.size() + 1)) * 1024;
        }
    }
    return 0;
}

/// The reference times of the UNet target table: SD1.5, one CFG step (batch 2) on the CPU.
struct UNetTarget {
    int64_t size;
    double target_s, pytorch_s, sdcpp_s;
};
constexpr UNetTarget kUNetTargets[] = {{256, 3.1, 4.0, 7.2}, {512, 12.0, 15.8, 43.0}};
/// GPU throughput targets (half precision, CFG steps per second on an H200; the best published SD1.5 figure
/// is about 105 it/s on an H100).
struct GpuTarget {
    const char* family;
    int64_t size;
    double it_per_s;
};
constexpr GpuTarget kGpuTargets[] = {{"sd15", 512, 110.0}, {"sdxl", 1024, 23.0}};

constexpr double kLoadTargetS = 2.0;
constexpr double kVaeBoundTarget = 1.5;
constexpr double kLoadRssTarget = 1.3;
constexpr double kSamplerTargetPct = 1.0;
constexpr double kPreviewTargetPct = 1.0;
constexpr double kTaesdTargetPct = 5.0;
constexpr double kGridTargetSpeedup = 2.0;
/// A GPU's decoded image against the CPU's float32 one (issue #3).
constexpr double kAgreementTargetDb = 35.0;

/// Every regular file of a model (the file itself, or a diffusers folder's files).
std::vector<fs::path> model_files(const fs::path& model) {
    if (fs::is_regular_file(model)) {
        return {model};
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(model)) {
        if (e.is_regular_file()) {
            files.push_back(e.path());
        }
    }
    return files;
}

/// Reads every byte once, so the load that follows starts from a warm page cache. Returns bytes read.
uint64_t warm_page_cache(const std::vector<fs::path>& files) {
    std::vector<char> buf(16 << 20);
    uint64_t total = 0;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
            total += static_cast<uint64_t>(in.gcount());
        }
    }
    return total;
}

/// Runs argv (argv[0] a path) in a child process; returns its stdout. stderr passes through. Throws
/// sf::Error when it does not exit 0.
std::string run_child(const std::vector<std::string>& argv) {
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    int fds[2];
    if (::pipe(fds) != 0) {
        throw Error("cannot create a pipe for the load child process");
    }
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw Error("cannot start the load child process (fork failed)");
    }
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw Error("the load child process (" + argv[0] + ") failed" +
                    (WIFEXITED(status) ? " with exit code " + std::to_string(WEXITSTATUS(status)) : std::string()) +
                    "; its message is above");
    }
    return out;
}

/// "key=value" from a line of words; throws sf::Error when missing.
double field(const std::string& text, const std::string& key) {
    auto at = text.find(key + "=");
    if (at == std::string::npos) {
        throw Error("the load child process printed no " + key + " (output: '" + text + "')");
    }
    return std::stod(text.substr(at + key.size() + 1));
}

/// Removes a folder when it goes out of scope (the load stage's built file, also after an error).
struct RemoveOnExit {
    fs::path dir;
    ~RemoveOnExit() {
        if (!dir.empty()) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    }
};

std::string device_label(const DeviceChoice& d) { return d.device.str() + " " + dtype_name(d.dtype); }

unet::UNetConfig unet_family(const std::string& family) {
    if (family == "sd15") {
        return unet::UNetConfig::sd15();
    }
    if (family == "sd21") {
        return unet::UNetConfig::sd21();
    }
    if (family == "sdxl") {
        return unet::UNetConfig::sdxl_base();
    }
    throw UsageError("--family must be sd15, sd21 or sdxl, got '" + family + "'");
}

/// Mean seconds of fn over enough calls to fill ~0.2 s (at least 3, at most 200), after one warm-up call.
template <typename F>
double mean_time(F&& fn) {
    fn();
    int calls = 0;
    auto t0 = Clock::now();
    while (calls < 3 || (calls < 200 && since(t0) < 0.2)) {
        fn();
        ++calls;
    }
    return since(t0) / calls;
}

/// part / whole as a whole percentage ("42%").
std::string pct(double part, double whole) { return fmt("%.0f%%", whole > 0 ? 100.0 * part / whole : 0.0); }

}  // namespace

void Report::line(const std::string& text) { out_ << text << std::endl; }

void Report::row(const std::string& stage, const std::string& measurement, const std::string& value,
                 const std::string& target, std::optional<bool> met) {
    rows_.push_back({stage, measurement, value, target, met ? (*met ? "ok" : "miss") : "-"});
}

void Report::print_summary() {
    if (rows_.empty()) {
        return;
    }
    std::vector<SummaryRow> all = {{"stage", "measurement", "value", "target", "status"}};
    all.insert(all.end(), rows_.begin(), rows_.end());
    size_t w[4] = {0, 0, 0, 0};
    for (const auto& r : all) {
        w[0] = std::max(w[0], columns(r.stage));
        w[1] = std::max(w[1], columns(r.measurement));
        w[2] = std::max(w[2], columns(r.value));
        w[3] = std::max(w[3], columns(r.target));
    }
    out_ << "\nsummary\n";
    for (const auto& r : all) {
        out_ << pad(r.stage, w[0]) << "  " << pad(r.measurement, w[1]) << "  " << pad(r.value, w[2]) << "  "
             << pad(r.target.empty() ? "-" : r.target, w[3]) << "  " << r.status << '\n';
    }
    out_.flush();
}

uint64_t peak_rss_bytes() { return proc_status_kb("VmHWM"); }
uint64_t current_rss_bytes() { return proc_status_kb("VmRSS"); }

// ---------------------------------------------------------------------------------------------- unet

void run_unet_stage(const StageOptions& o, Report& report) {
    const bool gpu = !o.device.device.is_cpu();
    UNetBenchOptions b;
    b.config = unet_family(o.family);
    b.image_sizes = o.sizes;
    b.warmup = gpu ? std::max(o.warmup, 3) : o.warmup;
    b.repeats = gpu ? std::max(o.repeats, 20) : o.repeats;  // a GPU step takes milliseconds: a median of many
    b.device = o.device.device;
    b.dtype = o.device.dtype;
    b.channels_last = onednn::prefer_channels_last(b.device, b.dtype);  // as Pipeline::load runs the UNet
    b.all_variants = gpu;  // NCHW / channels-last, eager / CUDA graph: which one the pipeline should run
    b.agree_size = gpu && o.family != "sdxl" ? 256 : 0;  // SDXL: a 10 GB float32 copy on the CPU; not worth the minutes
    std::vector<uint64_t> rss;  // peak RSS after each progress report: "building", then one per size
    b.progress = [&](const std::string& text) {
        rss.push_back(peak_rss_bytes());
        std::cerr << "unet: " << text << std::endl;
    };
    const auto result = bench_unet(b);
    report.line(fmt("unet %s: %.1f M parameters, build %.2f s, weights %.2f s (%s)", o.family.c_str(),
                    static_cast<double>(result.parameters) / 1e6, result.build_s, result.fill_s,
                    device_label(o.device).c_str()));
    std::map<int64_t, const UNetBenchStep*> best;  // per size: the fastest variant (by median)
    for (size_t i = 0; i < result.steps.size(); ++i) {
        const auto& st = result.steps[i];
        const uint64_t peak = i + 1 < rss.size() ? rss[i + 1] : peak_rss_bytes();
        const double n = static_cast<double>(st.image_size);
        report.line(fmt("unet %s %.0fx%.0f %s: CFG step (batch 2) best %.4f s, median %.4f s (%.1f it/s) [input "
                        "%.4f s %s, middle %.4f s %s, output %.4f s %s], warm-up %.2f s, peak RSS %.2f GB",
                        o.family.c_str(), n, n, st.variant.c_str(), st.step_s, st.median_s, 1.0 / st.median_s,
                        st.input_blocks_s, pct(st.input_blocks_s, st.step_s).c_str(), st.middle_block_s,
                        pct(st.middle_block_s, st.step_s).c_str(), st.output_blocks_s,
                        pct(st.output_blocks_s, st.step_s).c_str(), st.warmup_s, gb(peak)));
        if (gpu) {
            report.row("unet", fmt("%s %.0f² CFG step, ", o.family.c_str(), n) + st.variant,
                       fmt("%.2f ms, %.1f it/s", 1e3 * st.median_s, 1.0 / st.median_s));
            auto& slot = best[st.image_size];
            if (!slot || st.median_s < slot->median_s) {
                slot = &st;
            }
            continue;
        }
        const std::string what = fmt("%s %.0f² CFG step", o.family.c_str(), n);
        const UNetTarget* target = nullptr;
        for (const auto& t : kUNetTargets) {
            if (t.size == st.image_size && o.family == "sd15") {
                target = &t;
            }
        }
        if (target) {
            report.line(fmt("unet %s %.0fx%.0f: ours %.2f s, target %.1f s, ratio vs PyTorch eager %.2f× (%.1f s), "
                            "vs stable-diffusion.cpp %.2f× (%.1f s)",
                            o.family.c_str(), n, n, st.step_s, target->target_s, st.step_s / target->pytorch_s,
                            target->pytorch_s, st.step_s / target->sdcpp_s, target->sdcpp_s));
            report.row("unet", what, fmt("%.2f s", st.step_s), fmt("≤ %.1f s", target->target_s),
                       st.step_s <= target->target_s);
            report.row("unet", what + " / PyTorch eager", fmt("%.2f×", st.step_s / target->pytorch_s));
        } else {
            report.row("unet", what, fmt("%.3f s", st.step_s));
        }
        report.row("unet", fmt("%s %.0f² peak RSS", o.family.c_str(), n), fmt("%.2f GB", gb(peak)));
    }
    for (const auto& [size, st] : best) {
        const double n = static_cast<double>(size);
        const double it_s = 1.0 / st->median_s;
        const GpuTarget* target = nullptr;
        for (const auto& t : kGpuTargets) {
            if (t.size == size && o.family == t.family && o.device.dtype != torch::kFloat32) {
                target = &t;
            }
        }
        const std::string what = fmt("%s %.0f² CFG steps per second (best: ", o.family.c_str(), n) + st->variant + ")";
        if (target) {
            report.line(fmt("unet %s %.0fx%.0f: %.1f it/s (%s), target %.0f it/s: %.2f× the target", o.family.c_str(),
                            n, n, it_s, st->variant.c_str(), target->it_per_s, it_s / target->it_per_s));
            report.row("unet", what, fmt("%.1f it/s", it_s), fmt("≥ %.0f it/s", target->it_per_s),
                       it_s >= target->it_per_s);
        } else {
            report.row("unet", what, fmt("%.1f it/s", it_s));
        }
    }
    for (const auto& a : result.agreement) {
        report.line(fmt("unet %s 256x256 %s: %s against the CPU in float32: relative L2 difference %.2e, max abs %.3g",
                        o.family.c_str(), a.variant.c_str(), device_label(o.device).c_str(), a.rel_l2, a.max_abs));
        report.row("unet", fmt("%s 256² %s vs CPU fp32 (rel. L2), ", o.family.c_str(), device_label(o.device).c_str()) +
                   a.variant, fmt("%.2e", a.rel_l2));
    }
    // The live TAESD preview at each size (its cost does not depend on the weights) against the step.
    for (const auto& st : result.steps) {
        if (gpu && best[st.image_size] != &st) {
            continue;
        }
        const double n = static_cast<double>(st.image_size);
        VaeBenchOptions tb;
        tb.device = o.device.device;
        tb.dtype = o.device.device.is_cpu() ? taesd::cpu_preview_dtype() : o.device.dtype;  // as the app's preview
        tb.sizes = {st.image_size};
        tb.warmup = 1;
        tb.runs = gpu ? 10 : 3;
        tb.sd_vae = false;
        const auto taesd = bench_vae(tb).at(0);
        const double step_s = gpu ? st.median_s : st.step_s;
        const double taesd_pct = 100.0 * taesd.best_s / step_s;
        report.line(fmt("unet %s %.0fx%.0f: TAESD preview decode %.4f s = %.2f%% of the step, target %.0f%%",
                        o.family.c_str(), n, n, taesd.best_s, taesd_pct, kTaesdTargetPct));
        report.row("unet", fmt("%s %.0f² TAESD preview / step", o.family.c_str(), n), fmt("%.2f%%", taesd_pct),
                   fmt("≤ %.0f%%", kTaesdTargetPct), taesd_pct <= kTaesdTargetPct);
    }
    if (o.device.device.is_cpu() && o.family != "sd15") {
        report.line("unet: the CPU targets are SD1.5 figures; none apply to " + o.family);
    }
}

// ----------------------------------------------------------------------------------------------- vae

void run_vae_stage(const StageOptions& o, Report& report) {
    VaeBenchOptions b;
    b.device = o.device.device;
    b.dtype = o.device.dtype;
    b.sizes = o.sizes;
    b.warmup = o.warmup;
    b.runs = o.runs;
    // The compute bound: the device's peak when given, else what a large matrix product reaches here.
    double peak = 0;
    std::string peak_source;
    if (o.peak_gflops) {
        peak = *o.peak_gflops;
        peak_source = "--peak-gflops";
    } else {
        const auto mm = bench_matmul(o.device.device, o.device.dtype);
        peak = mm.gflops;
        peak_source = mm.name + " here";
        report.line(fmt("vae: %s (%s) reaches %.1f GFLOP/s, taken as the compute bound (a floor of it: give "
                        "--peak-gflops for the device's peak)",
                        mm.name.c_str(), device_label(o.device).c_str(), peak));
    }
    std::cerr << "vae: building the SD VAE and TAESD decoders, timing decode at each size" << std::endl;
    for (const auto& r : bench_vae(b)) {
        const double bound_s = r.gflop / peak;
        const double ratio = r.best_s / bound_s;
        report.line(fmt("vae %s (%s): best %.4f s, median %.4f s, %.1f GFLOP, %.1f GFLOP/s, %.2f× the compute bound "
                        "(%.4f s at %.0f GFLOP/s, %s)",
                        r.name.c_str(), device_label(o.device).c_str(), r.best_s, r.median_s, r.gflop, r.gflops,
                        ratio, bound_s, peak, peak_source.c_str()));
        // Judged only against a peak the user gave: a BLAS matmul can run slower than the convolutions (on
        // the development machine OpenBLAS reaches 64 GFLOP/s, oneDNN's convolutions 150-215), so it is a
        // floor of the bound, not the bound.
        const bool judged = o.peak_gflops && r.name.rfind("sd_vae", 0) == 0;
        report.row("vae", r.name, fmt("%.4f s, %.1f GFLOP/s, %.2f× bound", r.best_s, r.gflops, ratio),
                   judged ? fmt("≤ %.1f× bound", kVaeBoundTarget) : "",
                   judged ? std::optional<bool>(ratio <= kVaeBoundTarget) : std::nullopt);
    }
}

// ---------------------------------------------------------------------------------------------- load

uint64_t write_random_sd15(const fs::path& path, torch::Dtype dtype) {
    torch::NoGradGuard no_grad;
    std::map<std::string, torch::Tensor> tensors;
    auto add = [&](torch::nn::Module& module, const std::string& prefix) {
        for (const auto& p : module.named_parameters(true)) {
            tensors[prefix + p.key()] = p.value().detach().to(dtype).contiguous();
        }
        for (const auto& b : module.named_buffers(true)) {
            const auto& t = b.value();
            tensors[prefix + b.key()] = t.is_floating_point() ? t.to(dtype).contiguous() : t.clone();
        }
    };
    {
        unet::UNetModel m(unet::UNetConfig::sd15());
        add(*m, "model.diffusion_model.");
    }
    {
        vae::AutoencoderKL m(vae::VAEConfig::sd());
        add(*m, "first_stage_model.");
    }
    {
        clip::CLIPTextModel m(TextConfig::clip_l());
        add(*m, "cond_stage_model.transformer.");
    }
    write_safetensors(path, tensors,
                      {{"sfumato.note", "random weights (module default init) written by sfumato-bench"}});
    return fs::file_size(path);
}

/// True when most of the model's floating-point bytes are stored as fp16 (a schedule buffer may be fp32).
bool file_is_fp16(const fs::path& model) {
    const auto ckpt = Checkpoint::open(model, Validation::header_only);
    uint64_t fp16 = 0;
    uint64_t floating = 0;
    for (const auto& key : ckpt.keys()) {
        const auto& info = ckpt.info(key);
        if (c10::isFloatingType(info.torch_dtype())) {
            floating += info.end - info.begin;
            fp16 += info.torch_dtype() == torch::kFloat16 ? info.end - info.begin : 0;
        }
    }
    return floating > 0 && 2 * fp16 > floating;
}

int load_child_main(const fs::path& model, const DeviceChoice& device, std::optional<int64_t> text_heads) {
    const uint64_t base = current_rss_bytes();
    const auto t0 = Clock::now();
    auto pipeline = Pipeline::load(model, device, PipelineOptions{.text_heads = text_heads});
    const double seconds = since(t0);
    const uint64_t hwm = peak_rss_bytes();
    std::cout << fmt("load_child seconds=%.4f base_kb=%llu hwm_kb=%llu", seconds,
                     static_cast<unsigned long long>(base / 1024), static_cast<unsigned long long>(hwm / 1024))
              << std::endl;
    return 0;
}

void run_load_stage(const StageOptions& o, const BenchEnv& env, Report& report) {
    if (env.child_prefix.empty() || env.child_prefix[0].empty()) {
        throw Error("cannot find this program's own path to start the load child process");
    }
    fs::path model = o.model;
    RemoveOnExit cleanup;
    if (model.empty()) {
        const fs::path dir = fs::temp_directory_path() / ("sfumato-bench-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        if (!o.keep_model) {
            cleanup.dir = dir;
        }
        model = dir / "sd15_random_f16.safetensors";
        report.line("load: no --model given: building a random fp16 SD1.5-layout file (UNet + VAE + CLIP-L text, "
                    "about 2.1 GB) in " + dir.string() + "; this takes a minute or more");
        const auto t0 = Clock::now();
        const uint64_t bytes = write_random_sd15(model);
        report.line(fmt("load: built %s (%.2f GB) in %.1f s", model.c_str(), gb(bytes), since(t0)));
    } else {
        // A clear error before the child starts: the file must hold a model the pipeline can run.
        auto ckpt = Checkpoint::open(model, Validation::header_only);
        const auto family = detect_family(ckpt);
        if (family.family != Family::sd1 && family.family != Family::sd2 && family.family != Family::sdxl_base) {
            throw Error("model '" + model.string() + "' is " + family.name +
                        ", which the pipeline cannot load (expected SD 1.x, SD 2.x or SDXL base)");
        }
    }
    const auto files = model_files(model);
    uint64_t file_bytes = 0;
    for (const auto& f : files) {
        file_bytes += fs::file_size(f);
    }
    auto t0 = Clock::now();
    warm_page_cache(files);
    report.line(fmt("load: read %.2f GB once in %.2f s (page cache warm)", gb(file_bytes), since(t0)));

    // Two loads: into the dtype the run computes in, and, when that differs from the file's fp16, into fp16
    // itself (the "straight into the target dtype": what a CUDA fp16 load holds on the host, where the
    // parameters view the mapped file until they are copied to the GPU). fp32 from an fp16 file cannot stay
    // under 2x: the converted weights alone are twice the file.
    std::vector<std::string> dtypes = {o.dtype_text};
    if (o.dtype_text != "fp16" && file_is_fp16(model)) {
        dtypes.insert(dtypes.begin(), "fp16");
    }
    for (const auto& dtype : dtypes) {
        std::vector<std::string> argv = env.child_prefix;
        argv.insert(argv.end(), {"--load-child", model.string(), "--device", o.device_text, "--load-dtype", dtype});
        if (o.text_heads) {
            argv.insert(argv.end(), {"--text-heads", std::to_string(*o.text_heads)});
        }
        const std::string out = run_child(argv);
        const double seconds = field(out, "seconds");
        const double base = field(out, "base_kb") * 1024;
        const double hwm = field(out, "hwm_kb") * 1024;
        const double ratio = hwm / static_cast<double>(file_bytes);
        const std::string where = o.device_text + " " + dtype;
        report.line(fmt("load %s into %s: Pipeline::load %.2f s, peak RSS %.2f GB (%.2f GB before loading), file "
                        "%.2f GB, peak RSS / file %.2f× (growth / file %.2f×)",
                        model.c_str(), where.c_str(), seconds, hwm / 1e9, base / 1e9, gb(file_bytes), ratio,
                        (hwm - base) / static_cast<double>(file_bytes)));
        const bool converted = dtype != "fp16";
        report.row("load", "Pipeline::load into " + where + " (warm cache)", fmt("%.2f s", seconds),
                   fmt("≤ %.1f s", kLoadTargetS), seconds <= kLoadTargetS);
        report.row("load", "peak RSS / file size, " + where, fmt("%.2f×", ratio),
                   converted ? std::string("floor 2× (converted copy)") : fmt("≤ %.1f×", kLoadRssTarget),
                   converted ? std::optional<bool>() : std::optional<bool>(ratio <= kLoadRssTarget));
    }
    if (o.model.empty() && o.keep_model) {
        report.line("load: kept " + model.string() + " (pass it as --model to skip building)");
    }
}

// ------------------------------------------------------------------------------------------ pipeline

/// The same request on the CPU in float32 (the reference computation) and, where CUDA graphs replay the
/// UNet, on the device without them: PSNR of the decoded images against `image`.
void pipeline_agreement(const StageOptions& o, const GenerateRequest& base, const torch::Tensor& image,
                        Report& report) {
    JobContext ctx{.id = 2, .stop = {}, .progress = {}};
    const auto run_on = [&](DeviceChoice device, bool graphs) {
        auto pipe = Pipeline::load(o.model, device, PipelineOptions{.text_heads = o.text_heads, .cuda_graphs = graphs});
        GenerateRequest r = base;
        return pipe->run_tensors(r, ctx).image;
    };
    const double db = psnr(image.clamp(-1, 1), run_on(DeviceChoice{}, false).clamp(-1, 1), 2.0);
    report.line(fmt("pipeline: decoded image on %s against the CPU in float32: PSNR %.2f dB (target %.0f dB)",
                    device_label(o.device).c_str(), db, kAgreementTargetDb));
    report.row("pipeline", "decoded PSNR, " + device_label(o.device) + " vs CPU fp32", fmt("%.2f dB", db),
               fmt("≥ %.0f dB", kAgreementTargetDb), db >= kAgreementTargetDb);
    if (GraphedCall::available() && o.device.device.is_cuda()) {
        const double eager = psnr(image.clamp(-1, 1), run_on(o.device, false).clamp(-1, 1), 2.0);
        report.line(fmt("pipeline: the same run without CUDA graphs: PSNR %.2f dB against the graphed run", eager));
        report.row("pipeline", "decoded PSNR, CUDA graphs vs eager", fmt("%.2f dB", eager));
    }
}

void run_pipeline_stage(const StageOptions& o, Report& report) {
    auto t0 = Clock::now();
    auto pipe = Pipeline::load(o.model, o.device, PipelineOptions{.text_heads = o.text_heads});
    report.line(fmt("pipeline: loaded %s from %s in %.2f s (%s)", pipe->family_name().c_str(), o.model.c_str(),
                    since(t0), device_label(o.device).c_str()));
    const int size = o.size > 0 ? o.size : pipe->default_size();
    GenerateRequest base;
    base.prompt = o.prompt;
    base.width = size;
    base.height = size;
    base.steps = o.steps;
    base.cfg_scale = o.cfg_scale;
    base.sampler = o.sampler;
    base.seed = 1;
    JobContext ctx{.id = 1, .stop = {}, .progress = {}};

    // Warm-up: first calls pay for allocations and kernel selection.
    {
        GenerateRequest r = base;
        r.steps = 1;
        pipe->run_tensors(r, ctx);
    }

    // One timed txt2img run; steps are timed between progress reports.
    std::vector<Clock::time_point> stamps;
    torch::Tensor latent;
    ctx.progress = [&](int, int, const torch::Tensor& denoised) {
        stamps.push_back(Clock::now());
        latent = denoised;
    };
    GenerateRequest timed = base;
    t0 = Clock::now();
    const auto timed_out = pipe->run_tensors(timed, ctx);
    const auto t_end = Clock::now();
    ctx.progress = {};
    const double run_s = std::chrono::duration<double>(t_end - t0).count();
    std::vector<double> deltas;
    for (size_t i = 1; i < stamps.size(); ++i) {
        deltas.push_back(std::chrono::duration<double>(stamps[i] - stamps[i - 1]).count());
    }
    const bool exact = !deltas.empty();
    if (!exact) {  // one step: the first report also covers text encoding
        deltas.push_back(std::chrono::duration<double>(stamps.front() - t0).count());
    }
    std::sort(deltas.begin(), deltas.end());
    const double step_s = deltas[deltas.size() / 2];
    const double decode_s = std::chrono::duration<double>(t_end - stamps.back()).count();
    const double text_s = mean_time([&] { pipe->encode_prompt(o.prompt, 1); });
    report.line(fmt("pipeline txt2img %dx%d, %d steps (%s, CFG %.1f): %.4f s per step (median of %zu%s), run %.3f s "
                    "(text encode %.4f s, VAE decode %.4f s)",
                    size, size, o.steps, o.sampler.c_str(), o.cfg_scale, step_s, deltas.size(),
                    exact ? "" : ", with text encoding: use --steps 2 or more", run_s, text_s, decode_s));
    report.row("pipeline", fmt("txt2img %d² step", size), fmt("%.4f s", step_s));
    if (!o.device.device.is_cpu()) {
        pipeline_agreement(o, base, timed_out.image, report);
    }

    // Sampler + guidance: the same sampler and CFG over a model that returns zeros (everything but the UNet
    // forward: the schedule, the CFG batch and combine, dtype conversions, the step's copy for previews).
    const auto dtype = o.device.dtype;
    auto schedule = std::make_shared<const sampling::DiscreteSchedule>(sampling::DiscreteSchedule::scaled_linear());
    sampling::ModelFn zero = [dtype](const torch::Tensor& x_in, const torch::Tensor&, sampling::Batch) {
        return torch::zeros_like(x_in.to(dtype)).to(torch::kFloat32);
    };
    sampling::Denoiser denoiser(
        zero, sampling::DenoiserConfig{.prediction = sampling::Prediction::eps, .cfg_scales = {o.cfg_scale}}, schedule);
    sampling::SampleOptions so;
    so.sampler = o.sampler;
    so.steps = o.steps;
    const auto per_image = latent.sizes().slice(1);
    const double sampler_s = mean_time([&] {
                                 torch::NoGradGuard no_grad;
                                 sampling::CpuNoise noise(std::vector<uint64_t>{1});
                                 auto x = noise.initial(per_image, o.device.device);
                                 sampling::sample(denoiser, so, x, {}, noise,
                                                  [](int, int, const torch::Tensor&, const torch::Tensor& d) {
                                                      d.detach().to(torch::kCPU, torch::kFloat32);
                                                  });
                             }) /
                             o.steps;
    const double sampler_pct = 100.0 * sampler_s / step_s;
    report.line(fmt("pipeline sampler + guidance (zero model): %.6f s per step = %.3f%% of a step, target %.0f%%",
                    sampler_s, sampler_pct, kSamplerTargetPct));
    report.row("pipeline", "sampler + guidance / step", fmt("%.3f%%", sampler_pct), fmt("≤ %.0f%%", kSamplerTargetPct),
               sampler_pct <= kSamplerTargetPct);

    // Latent → RGB preview of one step's denoised latent.
    const double preview_s = mean_time([&] { pipe->preview(latent); });
    const double preview_pct = 100.0 * preview_s / step_s;
    report.line(fmt("pipeline latent preview: %.6f s per step = %.3f%% of a step, target %.0f%%", preview_s,
                    preview_pct, kPreviewTargetPct));
    report.row("pipeline", "latent preview / step", fmt("%.3f%%", preview_pct), fmt("≤ %.0f%%", kPreviewTargetPct),
               preview_pct <= kPreviewTargetPct);

    // TAESD preview (decoder only) when its files are given.
    if (!o.taesd_dir.empty()) {
        fs::path encoder, decoder;
        for (const auto& e : fs::directory_iterator(o.taesd_dir)) {
            const auto name = e.path().filename().string();
            if (e.path().extension() == ".safetensors") {
                if (name.find("decoder") != std::string::npos && decoder.empty()) {
                    decoder = e.path();
                } else if (name.find("encoder") != std::string::npos && encoder.empty()) {
                    encoder = e.path();
                }
            }
        }
        if (decoder.empty()) {
            throw UsageError("--taesd: no *decoder*.safetensors in '" + o.taesd_dir.string() + "'");
        }
        const auto dtype = o.device.device.is_cpu() ? taesd::cpu_preview_dtype() : torch::kFloat32;  // as the app
        auto taesd = taesd::TAESD::load(encoder, decoder, o.device.device, dtype);
        const double scale = pipe->family_name().find("SDXL") != std::string::npos ? 0.13025 : 0.18215;
        auto raw = (latent / scale).to(o.device.device);
        const double taesd_s = mean_time([&] {
            torch::NoGradGuard no_grad;
            taesd.decode(raw).sum().item<double>();
        });
        const double taesd_pct = 100.0 * taesd_s / step_s;
        report.line(fmt("pipeline TAESD preview (%s): %.5f s per step = %.2f%% of a step, target %.0f%%",
                        decoder.filename().c_str(), taesd_s, taesd_pct, kTaesdTargetPct));
        report.row("pipeline", "TAESD preview / step", fmt("%.2f%%", taesd_pct), fmt("≤ %.0f%%", kTaesdTargetPct),
                   taesd_pct <= kTaesdTargetPct);
    }

    // Grid: 4 seeds x 3 guidance scales, one run per image vs ONE batched run (noise per seed, guidance scale
    // per batch element), as `sfumato-cli grid` plans it.
    const std::vector<int64_t> seeds = {1, 2, 3, 4};
    const std::vector<double> scales = {4.0, 7.0, 10.0};
    std::cerr << "pipeline: grid 4 seeds x 3 guidance scales, 12 single runs then one batched run" << std::endl;
    const int grid_steps = o.grid_steps > 0 ? o.grid_steps : o.steps;
    std::vector<torch::Tensor> single;
    t0 = Clock::now();
    for (double c : scales) {
        for (int64_t s : seeds) {
            GenerateRequest r = base;
            r.steps = grid_steps;
            r.seed = s;
            r.cfg_scale = c;
            single.push_back(pipe->run_tensors(r, ctx).latent);
        }
    }
    const double single_s = since(t0);
    double max_diff = 0;
    t0 = Clock::now();
    {
        GenerateRequest r = base;
        r.steps = grid_steps;
        for (double c : scales) {
            for (int64_t s : seeds) {
                r.seeds.push_back(s);
                r.cfg_scales.push_back(c);
            }
        }
        r.batch_size = static_cast<int>(r.seeds.size());
        auto out = pipe->run_tensors(r, ctx).latent;
        for (size_t i = 0; i < single.size(); ++i) {
            auto d = (out[static_cast<int64_t>(i)] - single[i][0]).abs().max();
            max_diff = std::max(max_diff, d.item<double>());
        }
    }
    const double batched_s = since(t0);
    const double speedup = single_s / batched_s;
    report.line(fmt("pipeline grid 4 seeds x 3 scales at %d², %d steps: 12 runs %.3f s, one batched run %.3f s, "
                    "speed-up %.2f×, target %.0f× (max |batched - single| latent %.2g)",
                    size, grid_steps, single_s, batched_s, speedup, kGridTargetSpeedup, max_diff));
    report.row("pipeline", "grid 4x3 batched speed-up", fmt("%.2f×", speedup), fmt("≥ %.0f×", kGridTargetSpeedup),
               speedup >= kGridTargetSpeedup);
}

// ------------------------------------------------------------------------------------------- command

namespace {

const std::set<std::string> kStages = {"unet", "vae", "load", "pipeline", "all"};

std::vector<int64_t> parse_sizes(const std::string& text) {
    std::vector<int64_t> sizes;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        int64_t v = 0;
        try {
            size_t used = 0;
            v = std::stoll(item, &used);
            if (used != item.size()) {
                v = 0;
            }
        } catch (const std::exception&) {
            v = 0;
        }
        if (v < 64 || v > 4096 || v % 64 != 0) {
            throw UsageError("--sizes takes image edges that are multiples of 64 from 64 to 4096, separated by commas; "
                             "got '" + item + "'");
        }
        sizes.push_back(v);
    }
    if (sizes.empty()) {
        throw UsageError("--sizes needs at least one size");
    }
    return sizes;
}

DeviceChoice parse_device_choice(const std::string& device, const std::string& dtype) {
    DeviceChoice d = default_device();
    if (device != "auto") {
        if (device.rfind("cuda", 0) == 0 && !torch::cuda::is_available()) {
            throw Error("--device " + device + ": this libtorch build or machine has no CUDA device (use --device cpu)");
        }
        try {
            d.device = parse_device(device);
        } catch (const Error& e) {
            throw UsageError(std::string("--device: ") + e.what());
        }
        d.dtype = d.device.is_cuda() ? torch::kFloat16 : torch::kFloat32;
    }
    if (dtype != "auto") {
        try {
            d.dtype = parse_dtype(dtype);
        } catch (const Error& e) {
            throw UsageError(std::string("--dtype: ") + e.what());
        }
    }
    if (d.device.is_cpu() && d.dtype == torch::kFloat16) {
        throw UsageError("--dtype fp16 is not supported on the CPU (use fp32 or bf16)");
    }
    return d;
}

}  // namespace

StageOptions parse_stage_options(const cli::Args& args) {
    StageOptions o;
    o.device = parse_device_choice(args.get("device", "auto"), args.get("dtype", "auto"));
    o.device_text = o.device.device.str();
    o.dtype_text = dtype_name(o.device.dtype);
    if (auto s = args.get("sizes")) {
        o.sizes = parse_sizes(*s);
    }
    o.family = args.get("family", "sd15");
    unet_family(o.family);
    o.warmup = args.get_int("warmup", 1);
    o.repeats = args.get_int("repeats", 1);
    o.runs = args.get_int("runs", 3);
    if (o.warmup < 0 || o.repeats < 1 || o.runs < 1) {
        throw UsageError("--warmup must be 0 or more, --repeats and --runs 1 or more");
    }
    if (args.has("peak-gflops")) {
        o.peak_gflops = args.get_double("peak-gflops", 0);
        if (*o.peak_gflops <= 0) {
            throw UsageError("--peak-gflops must be positive");
        }
    }
    if (auto m = args.get("model")) {
        o.model = *m;
        if (!fs::exists(o.model)) {
            throw UsageError("--model: no such file or folder '" + *m + "'");
        }
    }
    o.keep_model = args.has("keep");
    if (args.has("text-heads")) {
        o.text_heads = args.get_int64("text-heads", 0);
        if (*o.text_heads < 1) {
            throw UsageError("--text-heads must be 1 or more");
        }
    }
    if (auto t = args.get("taesd")) {
        o.taesd_dir = *t;
        if (!fs::is_directory(o.taesd_dir)) {
            throw UsageError("--taesd: no such folder '" + *t + "'");
        }
    }
    o.steps = args.get_int("steps", o.steps);
    if (o.steps < 1 || o.steps > 1000) {
        throw UsageError("--steps must be between 1 and 1000");
    }
    o.grid_steps = args.get_int("grid-steps", 0);
    if (o.grid_steps < 0 || o.grid_steps > 1000) {
        throw UsageError("--grid-steps must be between 1 and 1000");
    }
    o.size = args.get_int("size", 0);
    if (o.size != 0 && (o.size < 64 || o.size > 4096 || o.size % 8 != 0)) {
        throw UsageError("--size must be a multiple of 8 between 64 and 4096, got " + std::to_string(o.size));
    }
    o.sampler = args.get("sampler", o.sampler);
    try {
        sampling::find_sampler(o.sampler);
    } catch (const Error& e) {
        throw UsageError(std::string("--sampler: ") + e.what());
    }
    o.cfg_scale = args.get_double("cfg", o.cfg_scale);
    o.prompt = args.get("prompt", o.prompt);
    return o;
}

std::string bench_help(const BenchEnv& env) {
    std::string stages = env.pipeline_stage ? "unet|vae|load|pipeline|all" : "unet|vae|load|all";
    std::string text =
        "usage: " + env.program + " [--stage " + stages + "] [options]\n\n"
        "Times Sfumato's parts; one line per measurement, then a summary table against the targets.\n\n"
        "stages:\n"
        "  unet      full-size UNet (random weights), one CFG step (batch 2) per size after warm-up,\n"
        "            input/middle/output blocks, peak RSS; SD1.5 CPU targets 3.1 s (256²), 12 s (512²);\n"
        "            ratios are our time / the reference's (PyTorch eager, stable-diffusion.cpp): < 1x is faster\n"
        "  vae       SD VAE and TAESD decode per size: GFLOP/s and time over the compute bound\n"
        "  load      Pipeline::load of --model in a fresh child process from a warm page cache: seconds\n"
        "            (target 2 s) and peak RSS / file size (target 1.3x), into --dtype and, for an fp16 file,\n"
        "            into fp16 as well; without --model a random fp16 SD1.5-layout file (~2.1 GB) is built\n"
        "            in a temporary folder first (takes a while)\n";
    if (env.pipeline_stage) {
        text +=
            "  pipeline  txt2img with --model (default: the embedded default model): time per step, sampler +\n"
            "            guidance (target 1%), latent preview (1%), TAESD preview with --taesd DIR (5%),\n"
            "            4 seeds x guidance 4, 7, 10: one batched run (guidance per element) vs 12 runs (target 2x faster)\n";
    }
    text +=
        "  all       every stage that has what it needs (default: unet)\n\n"
        "options:\n"
        "  --device auto|cpu|cuda|cuda:N   --dtype auto|fp32|fp16|bf16   --threads N\n"
        "  --sizes 256,512       image edges for unet and vae (multiples of 64)\n"
        "  --family sd15|sd21|sdxl  UNet of the unet stage (default sd15)\n"
        "  --warmup N  --repeats N (unet timed steps, best kept)  --runs N (vae timed decodes)\n"
        "  --peak-gflops G       vae: the device's peak for the compute-bound ratio (default: a 2048² matmul's rate)\n"
        "  --model PATH          load / pipeline: a checkpoint file or diffusers folder\n"
        "  --keep                load: keep the built random file and print its path\n"
        "  --text-heads N        text encoder heads for tiny test models (e.g. 4)\n";
    if (env.pipeline_stage) {
        text +=
            "  --steps N (default 10)  --size N (default: the model's)  --sampler NAME  --cfg S  --prompt TEXT\n"
            "  --grid-steps N        steps of each grid run (default: --steps)\n"
            "  --taesd DIR           a folder with taesd_decoder.safetensors (and the encoder)\n";
    }
    return text;
}

int run_bench(const cli::Args& args, const BenchEnv& env, std::ostream& out) {
    if (args.has("help")) {
        out << bench_help(env);
        return 0;
    }
    args.allow_only({"stage", "device", "dtype", "threads", "sizes", "family", "warmup", "repeats", "runs",
                     "peak-gflops", "model", "keep", "text-heads", "taesd", "steps", "size", "sampler", "cfg",
                     "prompt", "grid-steps", "load-child", "load-dtype", "verbose", "help"});
    if (!args.positional().empty()) {
        throw UsageError("unexpected argument '" + args.positional().front() + "'");
    }
    if (args.has("threads")) {
        const int threads = args.get_int("threads", 0);
        if (threads < 1) {
            throw UsageError("--threads must be 1 or more");
        }
        torch::set_num_threads(threads);
    }
    if (auto child = args.get("load-child")) {
        const StageOptions o = parse_stage_options(args);
        // The parent's second load is fp16 on the CPU too, which --dtype refuses for computing.
        DeviceChoice device = o.device;
        device.dtype = parse_dtype(args.get("load-dtype", o.dtype_text));
        return load_child_main(*child, device, o.text_heads);
    }
    const std::string stage = args.get("stage", "unet");
    if (!kStages.count(stage) || (stage == "pipeline" && !env.pipeline_stage)) {
        throw UsageError("unknown stage '" + stage + "' (expected " +
                         (env.pipeline_stage ? "unet, vae, load, pipeline or all" : "unet, vae, load or all") + ")");
    }
    StageOptions o = parse_stage_options(args);
    const bool all = stage == "all";

    // The pipeline stage's model: --model, else the embedded default model.
    std::string pipeline_skip;
    fs::path pipeline_model = o.model;
    if ((stage == "pipeline" || (all && env.pipeline_stage)) && pipeline_model.empty()) {
        try {
            pipeline_model = cli::find_default_model();
        } catch (const Error& e) {
            if (!all) {
                throw UsageError(e.what());
            }
            pipeline_skip = std::string("no model: ") + e.what();
        }
    }

    Report report(out);
    report.line(fmt("bench %s: %s, %d threads, libtorch %s", stage.c_str(), device_label(o.device).c_str(),
                    torch::get_num_threads(), TORCH_VERSION));
    if (stage == "unet" || all) {
        run_unet_stage(o, report);
    }
    if (stage == "vae" || all) {
        run_vae_stage(o, report);
    }
    if (stage == "load" || all) {
        run_load_stage(o, env, report);
    }
    if ((stage == "pipeline" || all) && env.pipeline_stage) {
        if (!pipeline_skip.empty()) {
            report.line("pipeline: skipped (" + pipeline_skip + ")");
        } else {
            StageOptions p = o;
            p.model = pipeline_model;
            run_pipeline_stage(p, report);
        }
    }
    report.print_summary();
    return 0;
}

}  // namespace sf::bench
