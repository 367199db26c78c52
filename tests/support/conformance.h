// Data-driven conformance cases: every case file in <root>/<area>, root = $SFUMATO_CONFORMANCE_DIR or
// ../shared/conformance beside the source tree. Configs, weight files and tolerances come from each file's
// metadata, so new cases need no code.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/safetensors.h"
#include "core/device.h"
#include "core/json.h"

namespace sf::test {

/// $SFUMATO_CONFORMANCE_DIR when set, else <source>/../shared/conformance.
std::filesystem::path conformance_root();
/// The area's folder, or nullopt when it is absent (tests then SKIP with a visible message).
std::optional<std::filesystem::path> area_dir(const std::string& area);

struct Tolerance {
    double max_abs = 0;
    double rel_l2 = 0;
    json::Value raw;  ///< the whole tolerance object (per-output and named extras)
    /// The tolerance for one output: `per_output.<name>` when present, else the top-level numbers.
    Tolerance for_output(const std::string& name) const;
};

/// One case file.
struct Case {
    std::filesystem::path path;
    std::string name;  ///< file stem
    std::string area;
    std::shared_ptr<SafetensorsFile> file;
    std::map<std::string, std::string> meta;
    json::Value config;  ///< parsed `config` metadata (null when absent)
    bool detinit = false;
    std::vector<std::filesystem::path> weights;  ///< resolved weight files (empty for `none` / `detinit`)
    Tolerance tolerance;

    bool has_input(const std::string& n) const { return file->contains("input." + n); }
    bool has_output(const std::string& n) const { return file->contains("output." + n); }
    torch::Tensor input(const std::string& n) const { return file->tensor("input." + n); }
    torch::Tensor output(const std::string& n) const { return file->tensor("output." + n); }
    /// Names of output.* tensors (without the prefix), sorted.
    std::vector<std::string> outputs() const;
    /// Names of input.* tensors (without the prefix), sorted.
    std::vector<std::string> inputs() const;
    /// Metadata value parsed as JSON (null when absent or not JSON).
    json::Value meta_json(const std::string& key) const;
};

/// Every case file (a .safetensors holding output.* tensors) of an area, sorted by name. Empty when absent.
std::vector<Case> load_cases(const std::string& area);
/// Loads a single case file by path.
Case load_case(const std::filesystem::path& path, const std::string& area = "");

struct Comparison {
    double max_abs = 0;
    double rel_l2 = 0;
    bool pass = false;
    std::string message;  ///< "<case>: <output>: max_abs ... rel_l2 ... (tolerance ...)"
};

/// Compares in float64 on the CPU: rel_l2 = ||ours - ref|| / ||ref||. Passes when both numbers are within
/// the tolerance; shape mismatches fail with a message.
Comparison compare(const torch::Tensor& ours, const torch::Tensor& ref, const Tolerance& tol,
                   const std::string& label);

/// Tallies one conformance test's cases and prints "conformance <area> (<what>): N checked, P passed,
/// F failed" when it ends. Use `check` for every output; a case fails if any of its outputs fails.
class AreaRun {
public:
    AreaRun(std::string area, std::string what);
    ~AreaRun();
    /// Runs on another device or in another precision than the references' CPU float32: every comparison is
    /// printed, and in float16 / bfloat16 the relative L2 bound reduced_precision_rel_l2(dtype) replaces the
    /// case's tolerance (max_abs is not bounded there: one rounding in a large activation can reach it).
    void set_target(const DeviceChoice& target);
    /// CHECKs one output of a case against its reference with the case's tolerance for that output.
    bool check(const Case& c, const std::string& output, const torch::Tensor& ours);
    /// CHECKs with an explicit reference and tolerance.
    bool check(const Case& c, const std::string& label, const torch::Tensor& ours, const torch::Tensor& ref,
               const Tolerance& tol);
    /// Records a case that this test cannot run, with the reason (printed, not failed).
    void skip(const Case& c, const std::string& why);
    /// Marks a case as failed for a reason other than a tensor comparison (e.g. an exception).
    void fail(const Case& c, const std::string& why);
    int checked() const { return static_cast<int>(results_.size()); }

private:
    std::string area_;
    std::string what_;
    std::map<std::string, bool> results_;  // case name → passed
    std::optional<DeviceChoice> target_;
    std::vector<std::string> skipped_;
};

/// The relative L2 bound for a model's output computed in `dtype` against the float32 reference: float16
/// (11-bit significand) 1e-2, bfloat16 (8-bit) 4e-2; float32 0 (use the case's tolerance).
double reduced_precision_rel_l2(torch::Dtype dtype);

/// The GPU runs of the conformance tests: CUDA in float32, float16 and bfloat16.
std::vector<DeviceChoice> cuda_targets();

/// SKIPs the current Catch2 test with a visible message when no CUDA device is present.
#define SF_REQUIRE_CUDA()                                                                                      \
    do {                                                                                                       \
        if (!torch::cuda::is_available()) {                                                                    \
            SKIP("no CUDA device: GPU conformance runs only where libtorch sees one");                        \
        }                                                                                                      \
    } while (0)

/// SKIPs the current Catch2 test with a visible message when the area folder is absent.
#define SF_REQUIRE_AREA(area)                                                                                    \
    do {                                                                                                       \
        if (!::sf::test::area_dir(area)) {                                                                     \
            SKIP("conformance area '" << area << "' not found under " << ::sf::test::conformance_root()        \
                                      << " (set SFUMATO_CONFORMANCE_DIR)");                                    \
        }                                                                                                      \
    } while (0)

}  // namespace sf::test
