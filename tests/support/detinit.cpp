#include "tests/support/detinit.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"

namespace sf::test {

torch::Tensor detinit(const std::string& key, c10::IntArrayRef shape) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(crc32(key)));
    auto r = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool is_weight = key.size() >= 7 && key.compare(key.size() - 7, 7, ".weight") == 0;
    if (shape.size() >= 2) {
        int64_t fan_in = 1;
        for (size_t i = 1; i < shape.size(); ++i) {
            fan_in *= shape[i];
        }
        return r / std::sqrt(static_cast<double>(fan_in));
    }
    if (shape.size() == 1 && is_weight) {
        return 1 + 0.1 * r;
    }
    return 0.05 * r;
}

void detinit_module(torch::nn::Module& module, const std::string& prefix) {
    torch::NoGradGuard no_grad;
    for (auto& p : module.named_parameters(true)) {
        p.value().copy_(detinit(prefix + p.key(), p.value().sizes()));
    }
}

std::filesystem::path header_only_from_manifest(const std::filesystem::path& manifest,
                                                const std::filesystem::path& out_dir) {
    std::ifstream in(manifest);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = json::parse(text.str());
    // Manifests are either {"tensors": {key: {dtype, shape}}} / {key: {dtype, shape}} or a list of entries.
    const json::Value* tensors = doc.find("tensors") ? doc.find("tensors") : &doc;
    json::Value header = json::Value::object();
    int64_t offset = 0;
    auto add = [&](const std::string& key, const json::Value& entry) {
        std::string dtype = entry.get("dtype", "F32");
        static const std::map<std::string, int64_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                             {"I64", 8}, {"I32", 4}, {"U8", 1},  {"BOOL", 1}};
        int64_t n = sizes.count(dtype) ? sizes.at(dtype) : 4;
        json::Value shape = json::Value::array();
        for (const auto& d : entry.at("shape").items()) {
            n *= d.as_int();
            shape.push_back(json::Value(d.as_int()));
        }
        json::Value e = json::Value::object();
        e.set("dtype", dtype);
        e.set("shape", shape);
        e.set("data_offsets", json::Value::array({json::Value(offset), json::Value(offset + n)}));
        header.set(key, e);
        offset += n;
    };
    if (tensors->is_array()) {
        for (const auto& entry : tensors->items()) {
            add(entry.at("name").as_string(), entry);
        }
    } else {
        for (const auto& [key, entry] : tensors->members()) {
            if (entry.is_object() && entry.find("shape")) {
                add(key, entry);
            }
        }
    }
    std::string h = json::dump(header);
    std::filesystem::create_directories(out_dir);
    auto path = out_dir / (manifest.stem().string() + ".header.safetensors");
    std::ofstream out(path, std::ios::binary);
    uint64_t len = h.size();
    for (int i = 0; i < 8; ++i) {
        out.put(static_cast<char>((len >> (8 * i)) & 0xFF));
    }
    out << h;
    return path;
}

}  // namespace sf::test
