// What `sfumato-cli generate` and `grid` share: flags → GenerateRequest, checks, output names, the progress
// line, and one driver that runs requests through sf::Worker (the app's path too), with Ctrl+C cancelling.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "app/cli_args.h"
#include "core/parameters.h"
#include "core/request.h"
#include "core/worker.h"

namespace sf::cli {

/// Width and height limits (pixels; both must also be multiples of 8).
constexpr int kMinSize = 64;
constexpr int kMaxSize = 4096;

/// Option names generate and grid both take (the request's fields, --output, --verbose, --threads, --help).
const std::set<std::string>& request_options();
/// The help text for those options, one per line.
std::string request_options_help();
/// Builds a request from the flags (a lone positional argument is the prompt) and validates it;
/// throws UsageError naming the flag. The model stays empty when --model is absent.
GenerateRequest request_from_args(const Args& args);
/// Checks sizes, ranges, names and that the model / init image exist; throws UsageError naming the flag.
void validate_request(const GenerateRequest& request);

/// The seed of image `index` of a (resolved) request: seeds[index], else seed + index.
int64_t image_seed(const GenerateRequest& request, int index);

/// Where images are written: a folder (A1111 numbering) or one .png file.
struct OutputTarget {
    std::filesystem::path path;
    bool folder = true;
};
/// A path ending in .png is a file; an existing folder, a path ending in '/' or without extension is a
/// folder; any other extension is a UsageError.
OutputTarget output_target(const std::string& text);
/// Folder: <dir>/NNNNN-<seed>.png with the next free number. File: the path itself when `count` is 1,
/// else <stem>-<index+1>.png.
std::filesystem::path output_path(const OutputTarget& target, int64_t seed, int index, int count);

/// "[#########...........] 9/20  3.4 it/s  ETA 3s" (the terminal progress bar).
std::string format_progress_bar(int step, int steps, double its, int bar_width = 20);
/// "step 9/20  3.4 it/s  ETA 3s" (one plain line per step when stderr is not a terminal).
std::string format_progress_line(int step, int steps, double its);

/// The metadata that goes with every image: model name/hash, program and libtorch version, and the
/// device and precision the request resolves to.
InfotextInfo infotext_info(const GenerateRequest& request, const std::string& model_hash);

/// The model's short hash (core/parameters.h), computed once on first use: hashing a multi-GB file takes
/// seconds, so only when an image is saved. Thread-safe; "" when the model cannot be read.
class ModelHash {
public:
    explicit ModelHash(std::filesystem::path model) : model_(std::move(model)) {}
    const std::string& get();

private:
    std::filesystem::path model_;
    std::once_flag once_;
    std::string hash_;
};

/// Applies --threads N when given (UsageError when N < 1).
void apply_threads(const Args& args);
/// Creates the output folder (or a file's parent folder); throws sf::Error naming it.
void prepare_output(const OutputTarget& target);
/// Fills the default model when none was given and reads + fits the init image; throws sf::Error.
void prepare_request(GenerateRequest& request);

/// Saves image `index` of job `job` (its place in the list given to run_jobs); returns the path written.
/// Called on the worker thread.
using JobSaver = std::function<std::filesystem::path(size_t job, const GenerateRequest& request, const Image& image,
                                                     int index)>;

/// One finished job.
struct JobOutcome {
    GenerateRequest request;  ///< with the resolved seed
    std::vector<Image> images;
    std::vector<std::filesystem::path> paths;
};

/// Runs the requests one after another on a sf::Worker with `runner`, `saver` writing each image; shows
/// progress on stderr (a bar on a terminal) and each saved path on stdout. Ctrl+C cancels the running job
/// and drops the queue. Returns the outcomes in request order; throws sf::Error with the first failure
/// (the remaining jobs are cancelled) and sf::Cancelled after Ctrl+C.
std::vector<JobOutcome> run_jobs(std::vector<GenerateRequest> requests, JobRunner runner, JobSaver saver);

}  // namespace sf::cli
