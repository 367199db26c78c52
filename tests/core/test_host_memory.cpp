#include <catch2/catch_test_macros.hpp>

#include <torch/torch.h>

#include <cstdint>

#include "core/host_memory.h"

namespace hm = sf::host_memory;

namespace {

/// Floats that make a block of at least `bytes`.
int64_t floats(std::size_t bytes) { return static_cast<int64_t>(bytes / sizeof(float)) + 1; }

}  // namespace

TEST_CASE("host memory: the test run uses the caching allocator", "[unit][host_memory]") {
    // The test main calls sf::init_runtime(), as every executable does.
    CHECK(hm::installed());
}

TEST_CASE("host memory: a large block is reused, a small one is not cached", "[unit][host_memory]") {
    REQUIRE(hm::installed());
    hm::release();
    const auto before = hm::stats();
    void* first = nullptr;
    {
        auto t = torch::empty({floats(3 << 20)});
        first = t.data_ptr();
        CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);  // libtorch's alignment
    }
    auto cached = hm::stats();
    CHECK(cached.cached_blocks == 1);
    CHECK(cached.cached_bytes >= (3u << 20));
    {
        auto t = torch::ones({floats(3 << 20) - 100});  // a little smaller: the same block
        CHECK(t.data_ptr() == first);
        CHECK(hm::stats().cached_blocks == 0);
        CHECK(t.sum().item<double>() == static_cast<double>(t.numel()));
    }
    CHECK(hm::stats().hits == before.hits + 1);
    {
        auto small = torch::empty({16});
    }
    CHECK(hm::stats().cached_blocks == 1);  // only the large one
    hm::release();
    CHECK(hm::stats().cached_bytes == 0);
}

TEST_CASE("host memory: a block much larger than the request is not handed out", "[unit][host_memory]") {
    hm::release();
    { auto big = torch::empty({floats(8 << 20)}); }
    const auto misses = hm::stats().misses;
    auto half = torch::empty({floats(4 << 20)});
    CHECK(hm::stats().misses == misses + 1);
    CHECK(hm::stats().cached_blocks == 1);  // the 8 MiB block stays for a request of its size
    hm::release();
}

TEST_CASE("host memory: the cache stays within its limit, oldest blocks leave first", "[unit][host_memory]") {
    hm::release();
    const auto previous = hm::set_limit(std::size_t{10} << 20);
    {
        auto a = torch::empty({floats(4 << 20)});
        auto b = torch::empty({floats(5 << 20)});
        auto c = torch::empty({floats(3 << 20)});
        a.reset();  // cached first
        b.reset();
        c.reset();  // 4 + 5 + 3 MiB > 10 MiB: a leaves
    }
    auto s = hm::stats();
    CHECK(s.cached_bytes <= (std::size_t{10} << 20));
    CHECK(s.cached_blocks == 2);
    const auto misses = s.misses;
    auto again = torch::empty({floats(4 << 20)});  // a's size: a is gone, and the 5 MiB block is over 1/8 larger
    CHECK(hm::stats().misses == misses + 1);
    { auto too_big = torch::empty({floats(11 << 20)}); }  // larger than the limit: never cached
    CHECK(hm::stats().cached_bytes <= (std::size_t{10} << 20));
    hm::set_limit(0);
    CHECK(hm::stats().cached_bytes == 0);
    hm::set_limit(previous);
}

TEST_CASE("host memory: oneDNN's raw allocations and libtorch ops work through it", "[unit][host_memory]") {
    // A convolution large enough that oneDNN reorders its weights into buffers it allocates through the
    // allocator's raw interface; the result must match the same product done by matmul.
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    auto x = torch::randn({2, 256, 16, 16});
    auto w = torch::randn({512, 256, 1, 1});
    auto conv = torch::conv2d(x, w);
    auto ref = torch::matmul(w.view({512, 256}), x.view({2, 256, 256})).view({2, 512, 16, 16});
    CHECK(torch::allclose(conv, ref, 1e-3, 1e-3));
}
