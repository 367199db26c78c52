#include "core/host_memory.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace sf::host_memory {
namespace {

/// Every block starts with this many bytes holding its size, so one deleter (the raw_deleter that oneDNN's
/// raw_allocate/raw_deallocate rely on) can tell a cached block from a small one. 64 keeps libtorch's
/// 64-byte alignment of the data.
constexpr std::size_t kHeader = 64;
/// Large requests are rounded up to this, so that sizes which differ by a few bytes share blocks.
constexpr std::size_t kGranule = std::size_t{64} << 10;

std::size_t default_limit() {
    if (const char* env = std::getenv("SFUMATO_HOST_CACHE_MB")) {
        return static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) << 20;
    }
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    const std::size_t physical = pages > 0 && page > 0 ? std::size_t(pages) * std::size_t(page) : 0;
    return std::min<std::size_t>(physical / 8, std::size_t{4} << 30);
}

/// Blocks of this size and more are aligned to it and asked to be backed by transparent huge pages: a first
/// touch then faults in 2 MiB at a time instead of 4 KiB, which is what makes converting a checkpoint's
/// weights to fp32 (4.3 GB of new memory for SD1.5) and a model's first step fast on a VM.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

void* allocate_block(std::size_t size) {
    void* base = nullptr;
    const std::size_t alignment = size >= kHugePage ? kHugePage : kHeader;
    if (posix_memalign(&base, alignment, kHeader + size) != 0) {
        return nullptr;
    }
#ifdef MADV_HUGEPAGE
    if (size >= kHugePage) {
        madvise(base, (kHeader + size) / kHugePage * kHugePage, MADV_HUGEPAGE);  // a hint: failure is harmless
    }
#endif
    return base;
}

struct Block {
    std::size_t size;
    void* base;
    std::uint64_t stamp;  ///< when it entered the cache (for oldest-first eviction)
};

class Cache {
public:
    /// A free block of at least `size` and at most 1/8 more, or nullptr.
    void* take(std::size_t size) {
        std::lock_guard lock(mutex_);
        auto best = blocks_.end();
        for (auto it = blocks_.begin(); it != blocks_.end(); ++it) {
            if (it->size >= size && it->size <= size + size / 8 && (best == blocks_.end() || it->size < best->size)) {
                best = it;
            }
        }
        if (best == blocks_.end()) {
            ++stats_.misses;
            return nullptr;
        }
        ++stats_.hits;
        void* base = best->base;
        stats_.cached_bytes -= best->size;
        blocks_.erase(best);
        return base;
    }

    void give_back(void* base, std::size_t size) {
        std::lock_guard lock(mutex_);
        if (size > stats_.limit_bytes) {
            std::free(base);
            return;
        }
        shrink_to(stats_.limit_bytes - size);
        blocks_.push_back({size, base, ++clock_});
        stats_.cached_bytes += size;
    }

    std::size_t set_limit(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        const std::size_t previous = stats_.limit_bytes;
        stats_.limit_bytes = bytes;
        shrink_to(bytes);
        return previous;
    }

    void release() {
        std::lock_guard lock(mutex_);
        shrink_to(0);
    }

    Stats stats() {
        std::lock_guard lock(mutex_);
        Stats s = stats_;
        s.cached_blocks = blocks_.size();
        return s;
    }

private:
    /// Frees the oldest blocks until at most `bytes` are cached. Caller holds the mutex.
    void shrink_to(std::size_t bytes) {
        while (stats_.cached_bytes > bytes) {
            auto oldest = std::min_element(blocks_.begin(), blocks_.end(),
                                           [](const Block& a, const Block& b) { return a.stamp < b.stamp; });
            std::free(oldest->base);
            stats_.cached_bytes -= oldest->size;
            blocks_.erase(oldest);
        }
    }

    std::mutex mutex_;
    std::vector<Block> blocks_;
    std::uint64_t clock_ = 0;
    Stats stats_{.limit_bytes = default_limit()};
};

Cache& cache() {
    static Cache* instance = new Cache();  // never destroyed: tensors may die after static destruction
    return *instance;
}

void free_data(void* data) {
    if (data == nullptr) {
        return;
    }
    void* base = static_cast<char*>(data) - kHeader;
    std::size_t size = 0;
    std::memcpy(&size, base, sizeof size);
    if (size < kMinCachedBytes) {
        std::free(base);
    } else {
        cache().give_back(base, size);
    }
}

c10::DataPtr allocate_data(std::size_t n) {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) {
        return {nullptr, nullptr, &free_data, cpu};
    }
    std::size_t size = n;
    void* base = nullptr;
    if (n >= kMinCachedBytes) {
        size = (n + kGranule - 1) / kGranule * kGranule;
        base = cache().take(size);
        if (base != nullptr) {
            std::memcpy(&size, base, sizeof size);  // the block may be a little larger than asked
        }
    }
    if (base == nullptr) {
        base = allocate_block(size);
    }
    if (base == nullptr && n >= kMinCachedBytes) {
        cache().release();  // what the cache holds may be what is missing
        base = allocate_block(size);
    }
    TORCH_CHECK(base != nullptr, "out of memory: could not allocate ", n, " bytes of host memory");
    std::memcpy(base, &size, sizeof size);
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &free_data, cpu};
}

/// libtorch 1.x declares Allocator::allocate const; 2.3 and later make it non-const and add a pure
/// copy_data. Both forms are defined here without `override`, so the class builds against either: the form a
/// version does not declare is a plain overload.
class CachingAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(std::size_t n) const { return allocate_data(n); }
    c10::DataPtr allocate(std::size_t n) { return allocate_data(n); }
    void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
    c10::DeleterFnPtr raw_deleter() const override { return &free_data; }
};

CachingAllocator allocator;
std::once_flag install_once;

}  // namespace

void install() {
    std::call_once(install_once, [] {
        if (cache().stats().limit_bytes > 0) {
            c10::SetCPUAllocator(&allocator, /*priority=*/1);
        }
    });
}

bool installed() { return c10::GetCPUAllocator() == &allocator; }

Stats stats() { return cache().stats(); }

void release() { cache().release(); }

std::size_t set_limit(std::size_t bytes) { return cache().set_limit(bytes); }

}  // namespace sf::host_memory
