#include "core/checkpoint/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/json.h"

namespace sf {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // 100 MB, as the reference implementation allows

struct DtypeSpec {
    const char* name;
    size_t bytes;
    torch::Dtype dtype;
};

constexpr std::array<DtypeSpec, 13> kDtypes{{
    {"F64", 8, torch::kFloat64},
    {"F32", 4, torch::kFloat32},
    {"F16", 2, torch::kFloat16},
    {"BF16", 2, torch::kBFloat16},
    {"I64", 8, torch::kInt64},
    {"I32", 4, torch::kInt32},
    {"I16", 2, torch::kInt16},
    {"I8", 1, torch::kInt8},
    {"U8", 1, torch::kUInt8},
    {"BOOL", 1, torch::kBool},
    {"F8_E4M3", 1, torch::kFloat16},
    {"F8_E5M2", 1, torch::kFloat16},
    {"F8_E4M3FN", 1, torch::kFloat16},
}};

const DtypeSpec* find_dtype(const std::string& name) {
    for (const auto& d : kDtypes) {
        if (name == d.name) {
            return &d;
        }
    }
    return nullptr;
}

/// float8 → float, exact (both formats fit in float16 without rounding).
float f8_to_float(uint8_t v, bool e4m3) {
    const int sign = (v & 0x80) ? -1 : 1;
    if (e4m3) {  // 1-4-3, bias 7, no infinities; S.1111.111 is NaN
        int e = (v >> 3) & 0xF;
        int m = v & 0x7;
        if (e == 0xF && m == 0x7) {
            return std::numeric_limits<float>::quiet_NaN();
        }
        if (e == 0) {
            return sign * std::ldexp(static_cast<float>(m), -9);
        }
        return sign * std::ldexp(1.0f + m / 8.0f, e - 7);
    }
    int e = (v >> 2) & 0x1F;  // 1-5-2, bias 15, IEEE-like
    int m = v & 0x3;
    if (e == 0x1F) {
        return m ? std::numeric_limits<float>::quiet_NaN() : sign * std::numeric_limits<float>::infinity();
    }
    if (e == 0) {
        return sign * std::ldexp(static_cast<float>(m), -16);
    }
    return sign * std::ldexp(1.0f + m / 4.0f, e - 15);
}

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& what) {
    throw Error("safetensors file '" + path.string() + "': " + what);
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }

}  // namespace

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (auto d : shape) {
        n *= d;
    }
    return n;
}

torch::Dtype TensorInfo::torch_dtype() const {
    const DtypeSpec* spec = find_dtype(dtype);
    return spec ? spec->dtype : torch::kFloat32;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path, Validation validation) {
    std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->self_ = file;
    file->path_ = path;

    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bad(path, std::string("cannot open: ") + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        bad(path, "not a regular file");
    }
    file->size_ = static_cast<uint64_t>(st.st_size);
    if (file->size_ < 8) {
        ::close(fd);
        bad(path, "file is " + std::to_string(file->size_) + " bytes, shorter than the 8-byte header length");
    }
    // MAP_PRIVATE with write access: tensors are copy-on-write views, so an accidental in-place op can never
    // change the file.
    void* map = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) {
        bad(path, std::string("cannot memory-map: ") + std::strerror(errno));
    }
    file->map_ = static_cast<uint8_t*>(map);

    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) {
        header_len = (header_len << 8) | file->map_[i];
    }
    if (header_len > kMaxHeader) {
        bad(path, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit (not a safetensors file?)");
    }
    if (header_len > file->size_ - 8) {
        bad(path, "header length " + std::to_string(header_len) + " is larger than the file (" +
                      std::to_string(file->size_) + " bytes): truncated or not a safetensors file");
    }
    file->data_start_ = 8 + header_len;
    const uint64_t data_size = file->size_ - file->data_start_;

    std::string_view text(reinterpret_cast<const char*>(file->map_ + 8), header_len);
    json::Value header;
    try {
        header = json::parse(text, 32);
    } catch (const Error& e) {
        bad(path, std::string("header is not valid: ") + e.what());
    }
    if (!header.is_object()) {
        bad(path, "header is not a JSON object");
    }

    for (const auto& [name, entry] : header.members()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) {
                bad(path, "__metadata__ is not an object");
            }
            for (const auto& [k, v] : entry.members()) {
                if (!v.is_string()) {
                    bad(path, "__metadata__ value '" + k + "' is not a string");
                }
                file->metadata_[k] = v.as_string();
            }
            continue;
        }
        auto fail = [&](const std::string& what) { bad(path, "tensor '" + name + "': " + what); };
        if (!entry.is_object()) {
            fail("entry is not an object");
        }
        const json::Value* dtype = entry.find("dtype");
        const json::Value* shape = entry.find("shape");
        const json::Value* offsets = entry.find("data_offsets");
        if (!dtype || !dtype->is_string()) {
            fail("missing or non-string \"dtype\"");
        }
        if (!shape || !shape->is_array()) {
            fail("missing or non-array \"shape\"");
        }
        if (!offsets || !offsets->is_array() || offsets->size() != 2) {
            fail("\"data_offsets\" must be [begin, end]");
        }
        TensorInfo info;
        info.name = name;
        info.dtype = dtype->as_string();
        const DtypeSpec* spec = find_dtype(info.dtype);
        if (!spec) {
            fail("unknown dtype \"" + info.dtype + "\" (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2)");
        }
        uint64_t count = 1;
        for (const auto& d : shape->items()) {
            if (!d.is_integer() || d.as_int() < 0) {
                fail("shape entries must be non-negative integers");
            }
            info.shape.push_back(d.as_int());
            if (mul_overflows(count, static_cast<uint64_t>(d.as_int()), count)) {
                fail("shape product overflows");
            }
        }
        for (const auto& o : offsets->items()) {
            if (!o.is_integer() || o.as_int() < 0) {
                fail("data_offsets must be non-negative integers");
            }
        }
        info.begin = static_cast<uint64_t>(offsets->at(size_t{0}).as_int());
        info.end = static_cast<uint64_t>(offsets->at(size_t{1}).as_int());
        if (info.end < info.begin) {
            fail("data_offsets end " + std::to_string(info.end) + " is before begin " + std::to_string(info.begin));
        }
        uint64_t expected = 0;
        if (mul_overflows(count, spec->bytes, expected) || expected != info.end - info.begin) {
            fail("holds " + std::to_string(info.end - info.begin) + " bytes, but " + info.dtype + " " +
                 c10::str(c10::IntArrayRef(info.shape)) + " needs " + std::to_string(count * spec->bytes));
        }
        if (info.end > data_size) {
            if (validation == Validation::full) {
                fail("data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                     ") lie outside the data section (" + std::to_string(data_size) + " bytes): file truncated?");
            }
            file->has_data_ = false;
        }
        file->index_[name] = file->tensors_.size();
        file->tensors_.push_back(std::move(info));
    }

    std::vector<const TensorInfo*> by_offset;
    for (const auto& t : file->tensors_) {
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        if (by_offset[i]->begin < by_offset[i - 1]->end) {
            bad(path, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap in the file");
        }
    }
    return file;
}

SafetensorsFile::~SafetensorsFile() {
    if (map_) {
        ::munmap(map_, size_);
    }
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) {
        throw Error("safetensors file '" + path_.string() + "' has no tensor '" + name + "'");
    }
    return tensors_[it->second];
}

const uint8_t* SafetensorsFile::data(const TensorInfo& info) const {
    if (!has_data_ && info.end > size_ - data_start_) {
        throw Error("safetensors file '" + path_.string() + "': tensor '" + info.name +
                    "' has no data (the file holds only its header)");
    }
    return map_ + data_start_ + info.begin;
}

void SafetensorsFile::release(const TensorInfo& info) const {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t begin = (data_start_ + info.begin + page - 1) / page * page;
    const uint64_t end = std::min(data_start_ + info.end, size_) / page * page;
    if (end > begin) {
        ::madvise(map_ + begin, end - begin, MADV_DONTNEED);  // advisory: a failure only keeps the pages
    }
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
    const TensorInfo& ti = info(name);
    const uint8_t* bytes = data(ti);
    const DtypeSpec* spec = find_dtype(ti.dtype);
    if (ti.dtype.rfind("F8_", 0) == 0) {
        const bool e4m3 = ti.dtype != "F8_E5M2";
        std::array<float, 256> table{};
        for (int v = 0; v < 256; ++v) {
            table[v] = f8_to_float(static_cast<uint8_t>(v), e4m3);
        }
        auto out = torch::empty(ti.shape, torch::kFloat32);
        float* dst = out.data_ptr<float>();
        for (int64_t i = 0; i < ti.numel(); ++i) {
            dst[i] = table[bytes[i]];
        }
        return out.to(torch::kFloat16);
    }
    auto options = torch::TensorOptions().dtype(spec->dtype);
    if (ti.numel() == 0) {
        return torch::empty(ti.shape, options);
    }
    if (reinterpret_cast<uintptr_t>(bytes) % spec->bytes != 0) {
        // Misaligned data (the header length is not a multiple of 8): copy into an aligned tensor.
        auto out = torch::empty(ti.shape, options);
        std::memcpy(out.data_ptr(), bytes, ti.end - ti.begin);
        return out;
    }
    auto keep_alive = self_.lock();
    return torch::from_blob(const_cast<uint8_t*>(bytes), ti.shape, [keep_alive](void*) {}, options);
}

std::string safetensors_dtype(torch::Dtype dtype) {
    for (const auto& d : kDtypes) {
        if (d.dtype == dtype && d.bytes == c10::elementSize(dtype)) {
            return d.name;
        }
    }
    throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(dtype));
}

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    json::Value header = json::Value::object();
    if (!metadata.empty()) {
        json::Value meta = json::Value::object();
        for (const auto& [k, v] : metadata) {
            meta.set(k, v);
        }
        header.set("__metadata__", std::move(meta));
    }
    std::vector<torch::Tensor> payload;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        auto cpu = t.detach().to(torch::kCPU).contiguous();
        json::Value entry = json::Value::object();
        entry.set("dtype", safetensors_dtype(cpu.scalar_type()));
        json::Value shape = json::Value::array();
        for (auto d : cpu.sizes()) {
            shape.push_back(json::Value(static_cast<int64_t>(d)));
        }
        entry.set("shape", std::move(shape));
        const uint64_t bytes = cpu.numel() * cpu.element_size();
        entry.set("data_offsets", json::Value::array({json::Value(static_cast<int64_t>(offset)),
                                                      json::Value(static_cast<int64_t>(offset + bytes))}));
        offset += bytes;
        header.set(name, std::move(entry));
        payload.push_back(cpu);
    }
    std::string text = json::dump(header);
    text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned

    auto tmp = path;
    tmp += ".partial";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw Error("cannot write '" + tmp.string() + "'");
        }
        uint64_t n = text.size();
        char len[8];
        for (int i = 0; i < 8; ++i) {
            len[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
        }
        out.write(len, 8);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (const auto& t : payload) {
            out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
        }
        out.flush();
        if (!out) {
            out.close();
            std::filesystem::remove(tmp);
            throw Error("cannot write '" + path.string() + "' (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp);
        throw Error("cannot write '" + path.string() + "': " + ec.message());
    }
}

}  // namespace sf
