#include "tests/support/conformance.h"

#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <iostream>
#include <limits>
#include <sstream>

namespace sf::test {

std::filesystem::path conformance_root() {
    if (const char* env = std::getenv("SFUMATO_CONFORMANCE_DIR"); env && *env) {
        return env;
    }
    return std::filesystem::path(SFUMATO_SOURCE_DIR) / ".." / "shared" / "conformance";
}

std::optional<std::filesystem::path> area_dir(const std::string& area) {
    auto dir = conformance_root() / area;
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
        return dir;
    }
    return std::nullopt;
}

Tolerance Tolerance::for_output(const std::string& name) const {
    if (const json::Value* per = raw.find("per_output")) {
        if (const json::Value* t = per->find(name)) {
            Tolerance out;
            out.max_abs = t->get("max_abs", max_abs);
            out.rel_l2 = t->get("rel_l2", rel_l2);
            out.raw = *t;
            return out;
        }
    }
    return *this;
}

std::vector<std::string> Case::outputs() const {
    std::vector<std::string> out;
    for (const auto& t : file->tensors()) {
        if (t.name.rfind("output.", 0) == 0) {
            out.push_back(t.name.substr(7));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> Case::inputs() const {
    std::vector<std::string> out;
    for (const auto& t : file->tensors()) {
        if (t.name.rfind("input.", 0) == 0) {
            out.push_back(t.name.substr(6));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

json::Value Case::meta_json(const std::string& key) const {
    auto it = meta.find(key);
    if (it == meta.end()) {
        return {};
    }
    try {
        return json::parse(it->second);
    } catch (const std::exception&) {
        return {};
    }
}

Case load_case(const std::filesystem::path& path, const std::string& area) {
    Case c;
    c.path = path;
    c.name = path.stem().string();
    c.area = area;
    c.file = SafetensorsFile::open(path);
    c.meta = c.file->metadata();
    c.config = c.meta_json("config");
    auto weights = c.meta.count("weights") ? c.meta.at("weights") : std::string("none");
    if (weights == "detinit") {
        c.detinit = true;
    } else if (weights != "none" && !weights.empty()) {
        std::stringstream list(weights);
        std::string item;
        while (std::getline(list, item, ',')) {
            item.erase(0, item.find_first_not_of(' '));
            item.erase(item.find_last_not_of(' ') + 1);
            c.weights.push_back((path.parent_path() / item).lexically_normal());
        }
    }
    c.tolerance.raw = c.meta_json("tolerance");
    c.tolerance.max_abs = c.tolerance.raw.get("max_abs", 0.0);
    c.tolerance.rel_l2 = c.tolerance.raw.get("rel_l2", 0.0);
    return c;
}

std::vector<Case> load_cases(const std::string& area) {
    std::vector<Case> cases;
    auto dir = area_dir(area);
    if (!dir) {
        return cases;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(*dir)) {
        if (e.path().extension() == ".safetensors") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        auto header = SafetensorsFile::open(f, Validation::header_only);
        bool is_case = false;
        for (const auto& t : header->tensors()) {
            is_case = is_case || t.name.rfind("output.", 0) == 0;
        }
        if (is_case) {
            cases.push_back(load_case(f, area));
        }
    }
    return cases;
}

Comparison compare(const torch::Tensor& ours, const torch::Tensor& ref, const Tolerance& tol,
                   const std::string& label) {
    Comparison r;
    std::ostringstream msg;
    if (ours.sizes() != ref.sizes()) {
        msg << label << ": shape " << ours.sizes() << ", reference " << ref.sizes();
        r.message = msg.str();
        return r;
    }
    auto a = ours.detach().to(torch::kCPU, torch::kFloat64);
    auto b = ref.detach().to(torch::kCPU, torch::kFloat64);
    auto diff = a - b;
    r.max_abs = diff.numel() ? diff.abs().max().item<double>() : 0.0;
    double ref_norm = b.norm().item<double>();
    double diff_norm = diff.norm().item<double>();
    r.rel_l2 = ref_norm > 0 ? diff_norm / ref_norm : diff_norm;
    bool finite = torch::isfinite(a).all().item<bool>() || !torch::isfinite(b).all().item<bool>();
    r.pass = finite && r.rel_l2 <= tol.rel_l2 && r.max_abs <= tol.max_abs;
    msg << label << ": max_abs " << r.max_abs << " rel_l2 " << r.rel_l2 << " (tolerance max_abs " << tol.max_abs
        << ", rel_l2 " << tol.rel_l2 << ")" << (finite ? "" : " non-finite values");
    r.message = msg.str();
    return r;
}

AreaRun::AreaRun(std::string area, std::string what) : area_(std::move(area)), what_(std::move(what)) {}

AreaRun::~AreaRun() {
    int passed = 0;
    for (const auto& [name, ok] : results_) {
        passed += ok ? 1 : 0;
    }
    std::ostringstream out;
    out << "conformance " << area_ << " (" << what_ << "): " << results_.size() << " checked, " << passed
        << " passed, " << results_.size() - passed << " failed";
    if (!skipped_.empty()) {
        out << ", " << skipped_.size() << " not run";
    }
    std::cout << out.str() << '\n';
    for (const auto& s : skipped_) {
        std::cout << "  not run: " << s << '\n';
    }
}

bool AreaRun::check(const Case& c, const std::string& output, const torch::Tensor& ours) {
    return check(c, output, ours, c.output(output), c.tolerance.for_output(output));
}

double reduced_precision_rel_l2(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kFloat16: return 1e-2;
        case torch::kBFloat16: return 4e-2;
        default: return 0;
    }
}

std::vector<DeviceChoice> cuda_targets() {
    const torch::Device cuda(torch::kCUDA, 0);
    return {{cuda, torch::kFloat32}, {cuda, torch::kFloat16}, {cuda, torch::kBFloat16}};
}

void AreaRun::set_target(const DeviceChoice& target) {
    target_ = target;
    what_ += " on " + target.device.str() + " " + dtype_name(target.dtype);
}

bool AreaRun::check(const Case& c, const std::string& label, const torch::Tensor& ours, const torch::Tensor& ref,
                    const Tolerance& case_tol) {
    Tolerance tol = case_tol;
    if (target_ && reduced_precision_rel_l2(target_->dtype) > 0) {
        tol.rel_l2 = reduced_precision_rel_l2(target_->dtype);
        tol.max_abs = std::numeric_limits<double>::infinity();
    }
    auto r = compare(ours, ref, tol, c.area + "/" + c.name + ": " + label);
    if (!r.pass) {
        std::cout << "FAILED " << r.message << '\n';
    } else if (target_) {
        std::cout << "  " << r.message << " [" << target_->device.str() << " " << dtype_name(target_->dtype) << "]\n";
    }
    CHECK(r.pass);
    if (!r.pass) {
        UNSCOPED_INFO(r.message);
    }
    auto [it, inserted] = results_.emplace(c.name, r.pass);
    if (!inserted) {
        it->second = it->second && r.pass;
    }
    return r.pass;
}

void AreaRun::skip(const Case& c, const std::string& why) { skipped_.push_back(c.name + ": " + why); }

void AreaRun::fail(const Case& c, const std::string& why) {
    std::cout << "FAILED " << c.area << "/" << c.name << ": " << why << '\n';
    results_[c.name] = false;
    FAIL_CHECK(c.area + "/" + c.name + ": " + why);
}

}  // namespace sf::test
