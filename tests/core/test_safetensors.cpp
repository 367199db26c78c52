#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <unistd.h>

#include "core/checkpoint/safetensors.h"
#include "core/error.h"
#include "tests/support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;

namespace {

/// Writes a raw file: 8-byte length + header text + data bytes.
std::filesystem::path raw_file(const std::string& name, const std::string& header, size_t data_bytes,
                               std::optional<uint64_t> declared_len = std::nullopt) {
    auto path = sf::test::test_dir("st") / name;
    std::ofstream out(path, std::ios::binary);
    uint64_t len = declared_len.value_or(header.size());
    for (int i = 0; i < 8; ++i) {
        out.put(static_cast<char>((len >> (8 * i)) & 0xFF));
    }
    out << header;
    out << std::string(data_bytes, '\0');
    return path;
}

std::string open_error(const std::filesystem::path& path) {
    try {
        sf::SafetensorsFile::open(path);
    } catch (const sf::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("safetensors round trip through the writer, zero-copy views", "[unit]") {
    auto path = sf::test::test_dir("st") / "roundtrip.safetensors";
    std::map<std::string, torch::Tensor> tensors = {
        {"a.f32", torch::arange(12, torch::kFloat32).reshape({3, 4})},
        {"b.f16", torch::linspace(-2, 2, 7).to(torch::kFloat16)},
        {"c.bf16", torch::ones({2, 2}, torch::kBFloat16)},
        {"d.i64", torch::arange(5, torch::kInt64)},
        {"e.bool", torch::tensor({true, false, true})},
        {"f.u8", torch::arange(4, torch::kUInt8)},
        {"g.empty", torch::zeros({0, 3})},
        {"h.scalar", torch::tensor(3.5)},
    };
    sf::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "é"}});
    CHECK_FALSE(std::filesystem::exists(path.string() + ".partial"));
    auto file = sf::SafetensorsFile::open(path);
    CHECK(file->metadata().at("note") == "é");
    REQUIRE(file->tensors().size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        auto loaded = file->tensor(name);
        CHECK(loaded.scalar_type() == t.scalar_type());
        CHECK(loaded.sizes() == t.sizes());
        CHECK(torch::equal(loaded, t));
    }
    // Native dtypes view the mapping; in-place ops are copy-on-write and never reach the file.
    auto view = file->tensor("a.f32");
    CHECK(view.data_ptr() == file->tensor("a.f32").data_ptr());
    view.add_(1);
    CHECK(torch::equal(sf::SafetensorsFile::open(path)->tensor("a.f32"), tensors["a.f32"]));
}

TEST_CASE("safetensors converts float8 on load", "[unit]") {
    // E4M3: 0x38 = 1.0, 0x40 = 2.0, 0xC0 = -2.0, 0x01 = 2^-9, 0x7E = 448; E5M2: 0x3C = 1.0, 0x7B = 57344.
    auto path = raw_file("f8.safetensors",
                         R"({"a":{"dtype":"F8_E4M3","shape":[5],"data_offsets":[0,5]},)"
                         R"("b":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[5,7]}})",
                         0);
    {
        std::ofstream out(path, std::ios::binary | std::ios::app);
        const unsigned char bytes[] = {0x38, 0x40, 0xC0, 0x01, 0x7E, 0x3C, 0x7B};
        out.write(reinterpret_cast<const char*>(bytes), sizeof bytes);
    }
    auto file = sf::SafetensorsFile::open(path);
    auto a = file->tensor("a").to(torch::kFloat32);
    CHECK(a.scalar_type() == torch::kFloat32);
    CHECK(torch::equal(a, torch::tensor({1.0f, 2.0f, -2.0f, std::ldexp(1.0f, -9), 448.0f})));
    CHECK(torch::equal(file->tensor("b").to(torch::kFloat32), torch::tensor({1.0f, 57344.0f})));
}

TEST_CASE("safetensors rejects malformed files with a message naming file and tensor", "[unit]") {
    const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

    SECTION("shorter than the length prefix") {
        auto path = sf::test::test_dir("st") / "tiny.safetensors";
        std::ofstream(path) << "abc";
        CHECK_THAT(open_error(path), ContainsSubstring("shorter than the 8-byte"));
    }
    SECTION("header larger than the file") {
        auto path = raw_file("hdr_big.safetensors", "{" + ok_entry + "}", 8, 4096);
        CHECK_THAT(open_error(path), ContainsSubstring("larger than the file"));
    }
    SECTION("absurd header length") {
        auto path = raw_file("hdr_huge.safetensors", "{}", 0, uint64_t{1} << 40);
        CHECK_THAT(open_error(path), ContainsSubstring("100 MB"));
    }
    SECTION("truncated data") {
        auto path = raw_file("truncated.safetensors", "{" + ok_entry + "}", 4);
        CHECK_THAT(open_error(path), ContainsSubstring("'t'"));
        CHECK_THAT(open_error(path), ContainsSubstring("truncated"));
        // A header-only open accepts it, and reading the tensor fails cleanly.
        auto file = sf::SafetensorsFile::open(path, sf::Validation::header_only);
        CHECK_FALSE(file->has_data());
        CHECK_THROWS_AS(file->tensor("t"), sf::Error);
    }
    SECTION("overlapping offsets") {
        auto path = raw_file("overlap.safetensors",
                             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             12);
        CHECK_THAT(open_error(path), ContainsSubstring("overlap"));
    }
    SECTION("byte size does not match dtype and shape") {
        auto path = raw_file("size.safetensors", R"({"t":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", 8);
        CHECK_THAT(open_error(path), ContainsSubstring("needs 6"));
    }
    SECTION("end before begin") {
        auto path = raw_file("order.safetensors", R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", 8);
        CHECK_THAT(open_error(path), ContainsSubstring("before begin"));
    }
    SECTION("unknown dtype") {
        auto path = raw_file("dtype.safetensors", R"({"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
        CHECK_THAT(open_error(path), ContainsSubstring("unknown dtype"));
    }
    SECTION("non-UTF-8 header") {
        auto path = raw_file("utf8.safetensors", "{\"t\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        CHECK_THAT(open_error(path), ContainsSubstring("UTF-8"));
    }
    SECTION("deeply nested JSON") {
        auto path = raw_file("deep.safetensors", "{\"__metadata__\":" + std::string(5000, '[') + std::string(5000, ']') + "}", 0);
        CHECK_THAT(open_error(path), ContainsSubstring("nesting"));
    }
    SECTION("not JSON at all") {
        auto path = raw_file("garbage.safetensors", "PK\x03\x04 this is a zip", 0);
        CHECK_THAT(open_error(path), ContainsSubstring("not valid"));
    }
    SECTION("negative or fractional shape") {
        auto path = raw_file("shape.safetensors", R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8);
        CHECK_THAT(open_error(path), ContainsSubstring("non-negative"));
    }
    SECTION("metadata values must be strings") {
        auto path = raw_file("meta.safetensors", R"({"__metadata__":{"a":1}})", 0);
        CHECK_THAT(open_error(path), ContainsSubstring("__metadata__"));
    }
    SECTION("missing file") {
        CHECK_THAT(open_error(sf::test::test_dir("st") / "nope.safetensors"), ContainsSubstring("cannot open"));
    }
}
