#include "core/device.h"

#include <thread>

#include "core/error.h"
#include "core/host_memory.h"

namespace sf {

int init_runtime() {
    int cores = static_cast<int>(std::thread::hardware_concurrency());
    if (cores < 1) {
        cores = 1;
    }
    torch::set_num_threads(cores);
    // float32 on a GPU means float32: no TensorFloat-32 convolutions (libtorch's default lets cuDNN use
    // them, a 10-bit mantissa). Matrix products already default to full float32.
    at::globalContext().setAllowTF32CuDNN(false);
    host_memory::install();
    return cores;
}

torch::Device parse_device(const std::string& text) {
    if (text == "cpu") {
        return torch::kCPU;
    }
    if (text.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available()) {
            throw Error("device '" + text + "' requested, but this libtorch sees no CUDA device");
        }
        try {
            return torch::Device(text);
        } catch (const c10::Error&) {
        }
    }
    throw Error("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
}

torch::Dtype parse_dtype(const std::string& text) {
    if (text == "fp32" || text == "float32") {
        return torch::kFloat32;
    }
    if (text == "fp16" || text == "float16") {
        return torch::kFloat16;
    }
    if (text == "bf16" || text == "bfloat16") {
        return torch::kBFloat16;
    }
    throw Error("unknown precision '" + text + "' (expected fp32, fp16 or bf16)");
}

std::string dtype_name(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kFloat32: return "fp32";
        case torch::kFloat16: return "fp16";
        case torch::kBFloat16: return "bf16";
        case torch::kFloat64: return "fp64";
        default: return std::string(c10::toString(dtype));
    }
}

DeviceChoice default_device() {
    if (torch::cuda::is_available()) {
        return {torch::Device(torch::kCUDA, 0), torch::kFloat16};
    }
    return {};
}

}  // namespace sf
