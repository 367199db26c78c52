#include <catch2/catch_test_macros.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unistd.h>

#include "core/checkpoint/checkpoint.h"
#include "core/device.h"
#include "core/checkpoint/load.h"
#include "core/checkpoint/safetensors.h"
#include "core/models/layers.h"
#include "core/models/onednn.h"
#include "tests/support/conformance.h"
#include "tests/support/temp_dir.h"

namespace nn = torch::nn;
namespace layers = sf::layers;

namespace {

/// Built from the same seed, ours and torch::nn's layer have the same parameter names, shapes and values,
/// and the same output.
template <class Ours, class Theirs, class Options>
void check_same_as_torch(const Options& options, const torch::Tensor& input) {
    torch::manual_seed(7);
    Theirs theirs(options);
    torch::manual_seed(7);
    Ours ours(options);
    auto a = theirs->named_parameters();
    auto b = ours->named_parameters();
    REQUIRE(a.keys() == b.keys());
    for (const auto& key : a.keys()) {
        INFO(key);
        CHECK(torch::equal(a[key], b[key]));
    }
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(theirs->forward(input), ours->forward(input), 1e-5, 1e-6));
}

}  // namespace

TEST_CASE("layers: the same parameters, initial values and outputs as torch::nn", "[unit][layers]") {
    auto image = torch::randn({2, 8, 9, 11});
    check_same_as_torch<layers::Conv2d, nn::Conv2d>(nn::Conv2dOptions(8, 16, 3).stride(2).padding(1), image);
    check_same_as_torch<layers::Conv2d, nn::Conv2d>(nn::Conv2dOptions(8, 4, 1).bias(false), image);
    check_same_as_torch<layers::GroupNorm, nn::GroupNorm>(nn::GroupNormOptions(4, 8).eps(1e-6), image);
    auto tokens = torch::randn({2, 5, 24});
    check_same_as_torch<layers::Linear, nn::Linear>(nn::LinearOptions(24, 40), tokens);
    check_same_as_torch<layers::Linear, nn::Linear>(nn::LinearOptions(24, 40).bias(false), tokens);
    check_same_as_torch<layers::LayerNorm, nn::LayerNorm>(nn::LayerNormOptions({24}).eps(1e-5), tokens);

    torch::manual_seed(3);
    nn::Embedding theirs(10, 6);
    torch::manual_seed(3);
    layers::Embedding ours(10, 6);
    CHECK(torch::equal(theirs->weight, ours->weight));
    auto ids = torch::tensor({{1, 9, 0}}, torch::kInt64);
    CHECK(torch::equal(theirs->forward(ids), ours->forward(ids)));
}

TEST_CASE("onednn: rows as a channels-last image, and linear on any input layout and dtype", "[unit][layers]") {
    auto rows = torch::randn({7, 5});
    auto image = sf::onednn::rows_as_image(rows);
    CHECK(image.sizes() == at::IntArrayRef{1, 5, 7, 1});
    CHECK(image.data_ptr() == rows.data_ptr());  // a view, no copy
    CHECK(image.is_contiguous(at::MemoryFormat::ChannelsLast));
    CHECK(torch::equal(sf::onednn::image_as_rows(image), rows));

    auto weight = torch::randn({6, 5});
    auto bias = torch::randn({6});
    auto strided = torch::randn({3, 5, 4}).transpose(1, 2);  // [3, 4, 5], not contiguous
    CHECK(torch::allclose(sf::onednn::linear(strided, weight, bias), torch::linear(strided, weight, bias), 1e-5,
                          1e-6));
    CHECK(torch::allclose(sf::onednn::linear(strided, weight), torch::linear(strided, weight), 1e-5, 1e-6));
    auto as_double = strided.to(torch::kFloat64);
    CHECK_FALSE(sf::onednn::applies(as_double));
    CHECK(torch::equal(sf::onednn::linear(as_double, weight.to(torch::kFloat64)),
                       torch::linear(as_double, weight.to(torch::kFloat64))));
}

TEST_CASE("onednn: products at the full-size models' shapes equal float64, on every thread the runtime uses",
          "[unit][layers]") {
    // Small products can pass where a kernel chosen only for larger ones fails: oneDNN 3.7.2 (Debian 13's
    // libtorch 2.6) gets [256, 320] x [320, 2560] wrong with 2 threads. These are SD1.5's shapes at a 16x16
    // latent: feed-forward in and out, cross-attention keys, the middle block.
    torch::manual_seed(7);
    const sf::test::Tolerance tol{.max_abs = std::numeric_limits<double>::infinity(), .rel_l2 = 1e-5, .raw = {}};
    auto agrees = [&](const torch::Tensor& ours, const torch::Tensor& ref, const std::string& label) {
        const auto r = sf::test::compare(ours, ref, tol, label);
        INFO(r.message);
        return r.pass;
    };
    const std::vector<std::array<int64_t, 3>> shapes{
        {256, 320, 2560}, {256, 1280, 320}, {77, 768, 320}, {64, 640, 5120}, {16, 1280, 1280}, {256, 320, 2048}};
    for (const auto& [m, k, n] : shapes) {
        CAPTURE(m, k, n);
        auto x = torch::randn({1, m, k});
        auto w = torch::randn({n, k}) / std::sqrt(static_cast<double>(k));
        auto b = torch::randn({n});
        auto ref = torch::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), b.to(torch::kFloat64));
        CHECK(agrees(sf::onednn::linear(x, w, b), ref, "linear with bias"));
        CHECK(agrees(sf::onednn::linear(x, w), ref - b.to(torch::kFloat64), "linear without bias"));
    }
}

TEST_CASE("layers: SkipInit draws no random numbers, nests, and ends with its scope", "[unit][layers]") {
    torch::manual_seed(1);
    const auto expected = torch::randn({8});
    torch::manual_seed(1);
    CHECK_FALSE(layers::SkipInit::active());
    {
        layers::SkipInit skip;
        {
            layers::SkipInit inner;
            CHECK(layers::SkipInit::active());
        }
        CHECK(layers::SkipInit::active());
        layers::Conv2d conv(nn::Conv2dOptions(3, 8, 3));
        layers::Linear linear(4, 5);
        layers::Embedding embedding(7, 4);
        CHECK(conv->weight.sizes() == c10::IntArrayRef{8, 3, 3, 3});
        CHECK(linear->bias.sizes() == c10::IntArrayRef{5});
        CHECK(embedding->weight.sizes() == c10::IntArrayRef{7, 4});
    }
    CHECK_FALSE(layers::SkipInit::active());
    CHECK(torch::equal(torch::randn({8}), expected));  // the generator never moved
    layers::Linear initialised(4, 5);
    CHECK(initialised->weight.abs().max().item<float>() > 0);
}

TEST_CASE("load_module: converted copies release the file's pages, which still read back the same",
          "[unit][layers][load]") {
    const auto dir = sf::test::test_dir("layers");
    const auto path = dir / "linear.safetensors";
    torch::manual_seed(5);
    // 512 x 512 fp16 is 512 KiB: many whole pages to drop.
    const auto weight = torch::randn({512, 512}).to(torch::kFloat16);
    const auto bias = torch::randn({512}).to(torch::kFloat16);
    sf::write_safetensors(path, {{"proj.weight", weight}, {"proj.bias", bias}});
    {
        const auto ckpt = sf::Checkpoint::open(path);
        layers::SkipInit skip;
        layers::Linear as_float(512, 512);
        sf::load_module(*as_float, ckpt, "proj.", {.dtype = torch::kFloat32});
        CHECK(as_float->weight.scalar_type() == torch::kFloat32);
        CHECK(torch::equal(as_float->weight, weight.to(torch::kFloat32)));
        CHECK(torch::equal(ckpt.get("proj.weight"), weight));  // dropped pages come back from the file

        layers::Linear as_half(512, 512);
        sf::load_module(*as_half, ckpt, "proj.", {.dtype = torch::kFloat16});
        CHECK(torch::equal(as_half->weight, weight));
        CHECK(torch::equal(as_half->bias, bias));
        auto x = torch::randn({3, 512});
        torch::NoGradGuard no_grad;
        CHECK(torch::allclose(as_float->forward(x),
                              torch::linear(x, weight.to(torch::kFloat32), bias.to(torch::kFloat32)), 1e-5, 1e-5));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("load_module: channels_last loads convolution weights channels-last, in either dtype",
          "[unit][layers][load]") {
    const auto dir = sf::test::test_dir("layers_cl");
    const auto path = dir / "conv.safetensors";
    torch::manual_seed(6);
    const auto weight = torch::randn({16, 8, 3, 3});
    const auto bias = torch::randn({16});
    sf::write_safetensors(path, {{"conv.weight", weight}, {"conv.bias", bias}});
    {
        const auto ckpt = sf::Checkpoint::open(path);
        layers::SkipInit skip;
        auto options = torch::nn::Conv2dOptions(8, 16, 3).padding(1);
        for (auto dtype : {torch::kFloat32, torch::kFloat64}) {  // the file's dtype (a copy all the same), another
            INFO(sf::dtype_name(dtype));
            layers::Conv2d conv(options);
            sf::load_module(*conv, ckpt, "conv.", {.dtype = dtype, .channels_last = true});
            CHECK(conv->weight.is_contiguous(at::MemoryFormat::ChannelsLast));
            CHECK(!conv->weight.is_alias_of(ckpt.get("conv.weight")));
            CHECK(torch::equal(conv->weight, weight.to(dtype)));
            CHECK(conv->bias.is_contiguous());
        }
    }
    std::filesystem::remove_all(dir);
}
