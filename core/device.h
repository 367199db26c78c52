// The one place that knows about devices, dtypes and libtorch's thread pool.
#pragma once

#include <torch/torch.h>

#include <string>

namespace sf {

/// Start-up for model work, once, before any: sets libtorch's intra-op thread count to the machine's cores
/// (libtorch defaults to one thread in some builds) and installs the host memory cache
/// (core/host_memory.h). Returns the thread count set.
int init_runtime();

/// Where and in what precision a model runs.
struct DeviceChoice {
    torch::Device device = torch::kCPU;
    torch::Dtype dtype = torch::kFloat32;
};

/// Parses "cpu", "cuda", "cuda:1" and "fp32"/"fp16"/"bf16"; throws sf::Error naming the bad value.
torch::Device parse_device(const std::string& text);
torch::Dtype parse_dtype(const std::string& text);
std::string dtype_name(torch::Dtype dtype);

/// The best available device: the first CUDA device when present, else the CPU (fp16 on CUDA, fp32 on CPU).
DeviceChoice default_device();

}  // namespace sf
