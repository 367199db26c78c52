// Host memory for CPU tensors: a caching allocator installed as libtorch's CPU allocator.
//
// Why: a model step allocates and frees the same large buffers every time (activations, attention slices,
// and oneDNN's reordered weights, which it allocates through libtorch's allocator). glibc serves blocks past
// its mmap threshold (at most 32 MiB) with a fresh mmap and gives them back with munmap, so every step
// faults every page of them in again. On a virtual machine a page fault is expensive: on the 2-core
// development VM an SD1.5 CFG step at 256² took 7-12 s, of which 4.5 s were weight reorders that wrote
// 0.5 GB/s into new pages, and 1.75 s with this cache.
//
// Blocks of kMinCachedBytes and more go back to a cache when their tensor dies and are handed out again for a
// request of (about) the same size; smaller ones go straight back to malloc, which reuses them itself.
// The cache holds at most limit() bytes (the oldest blocks leave first), so memory stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sf::host_memory {

/// Blocks smaller than this are not cached: glibc's own initial mmap threshold, below which malloc keeps
/// freed memory for reuse. (Above it, glibc raises its threshold only when it sees an mmapped block freed,
/// which the cache prevents, so the cache must start where glibc's mmap starts.)
inline constexpr std::size_t kMinCachedBytes = std::size_t{128} << 10;

struct Stats {
    std::size_t cached_bytes = 0;   ///< held in the cache now, free for reuse
    std::size_t cached_blocks = 0;  ///< how many blocks that is
    std::size_t limit_bytes = 0;    ///< the most the cache holds
    std::uint64_t hits = 0;         ///< large requests served from the cache
    std::uint64_t misses = 0;       ///< large requests that allocated new memory
};

/// Makes the caching allocator libtorch's CPU allocator. Idempotent; call at start-up before model work
/// (sf::init_runtime does). The limit is $SFUMATO_HOST_CACHE_MB when set (0 turns caching off), else an
/// eighth of the physical memory, at most 4 GiB.
void install();

/// Whether install() has made the caching allocator libtorch's CPU allocator.
bool installed();

Stats stats();

/// Frees every cached block (e.g. after a model is unloaded).
void release();

/// Changes the limit, freeing the oldest blocks beyond it. Returns the previous limit.
std::size_t set_limit(std::size_t bytes);

}  // namespace sf::host_memory
