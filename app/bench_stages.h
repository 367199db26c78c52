// The benchmark stages behind `sfumato-cli bench` and `sfumato-bench` (one implementation, core-only): UNet
// step time, autoencoder decode, checkpoint loading, and the pipeline's overheads around the model. Output is
// plain text, one line per measurement, then a summary table against the project's targets.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/cli_args.h"
#include "core/device.h"

namespace sf::bench {

/// Everything the stages take from the command line (parse_stage_options reads it from Args).
struct StageOptions {
    DeviceChoice device;
    std::string device_text = "cpu";  ///< as given ("cpu", "cuda:1"), passed on to the load child
    std::string dtype_text = "fp32";
    std::vector<int64_t> sizes = {256, 512};  ///< unet / vae image edges (square)
    std::string family = "sd15";              ///< unet: sd15, sd21, sdxl
    int warmup = 1;
    int repeats = 1;  ///< unet timed steps per size (best reported)
    int runs = 3;     ///< vae timed decodes per size
    std::optional<double> peak_gflops;
    std::filesystem::path model;  ///< load / pipeline; empty: built (load) or the embedded default (pipeline)
    bool keep_model = false;      ///< load: keep the built file and print its path
    std::optional<int64_t> text_heads;
    std::filesystem::path taesd_dir;  ///< pipeline: a folder with taesd_decoder (and encoder) .safetensors
    int steps = 10;                   ///< pipeline steps per run
    int grid_steps = 0;               ///< pipeline steps per grid run (0: steps)
    int size = 0;                     ///< pipeline image edge (0: the model's default size)
    std::string sampler = "Euler a";
    double cfg_scale = 7.0;
    std::string prompt = "a red circle on a blue background";
};

/// One row of the closing summary table.
struct SummaryRow {
    std::string stage;
    std::string measurement;
    std::string value;
    std::string target;  ///< empty: no target
    std::string status;  ///< "ok", "miss" or "-"
};

/// Collects measurement lines (written at once to `out`) and summary rows.
class Report {
public:
    explicit Report(std::ostream& out) : out_(out) {}
    /// One measurement line, written and flushed at once.
    void line(const std::string& text);
    /// A row for the summary table; `met` empty: no target.
    void row(const std::string& stage, const std::string& measurement, const std::string& value,
             const std::string& target = "", std::optional<bool> met = std::nullopt);
    /// The table of every row so far.
    void print_summary();
    const std::vector<SummaryRow>& rows() const { return rows_; }

private:
    std::ostream& out_;
    std::vector<SummaryRow> rows_;
};

/// How the binary re-executes itself for the load stage's clean child process: the argv prefix before
/// `--load-child` (e.g. {"/proc/self/exe", "bench"}).
struct BenchEnv {
    std::string program = "sfumato-cli bench";  ///< for messages and --help
    std::vector<std::string> child_prefix;
    bool pipeline_stage = true;  ///< whether `--stage pipeline` is offered
};

/// Full-size UNet (unet_bench.h): time per CFG step after warm-up, block split, peak RSS, targets (SD1.5).
void run_unet_stage(const StageOptions& options, Report& report);
/// SD VAE and TAESD decode (vae_bench.h): time, GFLOP/s, and time / compute bound with peak_gflops.
void run_vae_stage(const StageOptions& options, Report& report);
/// Checkpoint loading in a fresh child process: seconds and peak RSS / file size, from a warm page cache.
/// Builds a random fp16 SD1.5-layout file (UNet + VAE + CLIP-L, ~2.1 GB) when options.model is empty.
void run_load_stage(const StageOptions& options, const BenchEnv& env, Report& report);
/// A txt2img run of options.model: time per step, sampler + guidance, latent preview and TAESD preview as
/// a share of a step, and a 4 seeds x 3 guidance scales grid batched vs one run per image.
void run_pipeline_stage(const StageOptions& options, Report& report);

/// The load child: loads `model` with Pipeline::load and prints one line
/// "load_child seconds=S base_kb=B hwm_kb=H" on stdout. Returns the exit code.
int load_child_main(const std::filesystem::path& model, const DeviceChoice& device,
                    std::optional<int64_t> text_heads);

/// Writes a random SD1.5-layout checkpoint (UNet, VAE, CLIP-L text encoder; float weights in `dtype`).
/// Returns the file size in bytes.
uint64_t write_random_sd15(const std::filesystem::path& path, torch::Dtype dtype = torch::kFloat16);

/// Peak and current resident set size of this process in bytes (/proc/self/status VmHWM, VmRSS); 0 when
/// unknown.
uint64_t peak_rss_bytes();
uint64_t current_rss_bytes();

/// Reads the bench options from the command line; throws cli::UsageError naming the bad flag.
StageOptions parse_stage_options(const cli::Args& args);

/// The whole command: --stage unet|vae|load|pipeline|all (default unet), --help, and the hidden
/// --load-child. Returns the exit code; throws cli::UsageError / sf::Error like every command.
int run_bench(const cli::Args& args, const BenchEnv& env, std::ostream& out);

/// The usage text of the command.
std::string bench_help(const BenchEnv& env);

}  // namespace sf::bench
