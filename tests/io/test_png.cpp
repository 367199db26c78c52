#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "core/error.h"
#include "core/parameters.h"
#include "io/png_io.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::test::fresh_dir;
using Catch::Matchers::ContainsSubstring;

namespace {

sf::Image gradient(int w, int h) {
    sf::Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w * h * 3))};
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            auto* p = &img.rgb[static_cast<size_t>((y * w + x) * 3)];
            p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
            p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
            p[2] = static_cast<uint8_t>((x * 7 + y * 13) & 0xFF);
        }
    }
    return img;
}

std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

size_t count_files(const fs::path& dir) {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("png: pixels and a Latin-1 text round-trip through tEXt", "[unit]") {
    auto dir = fresh_dir("png_latin1");
    auto path = dir / "a.png";
    auto img = gradient(37, 21);
    const std::string text = "caf\xC3\xA9 au lait, cr\xC3\xA8me";  // é, è: Latin-1 representable
    sf::io::write_png(path, img, {{"parameters", text}, {"Software", "sfumato"}});
    auto back = sf::io::read_png(path);
    CHECK(back.width == 37);
    CHECK(back.height == 21);
    CHECK(back.rgb == img.rgb);
    auto texts = sf::io::read_png_text(path);
    REQUIRE(texts.size() == 2);
    CHECK(texts[0].key == "parameters");
    CHECK(texts[0].text == text);
    CHECK(sf::io::find_png_text(texts, "Software") == "sfumato");
    const auto bytes = file_bytes(path);
    CHECK(bytes.find("tEXtparameters") != std::string::npos);
    CHECK(bytes.find("iTXt") == std::string::npos);
    CHECK(bytes.find("caf\xE9") != std::string::npos);  // stored as Latin-1 bytes
    CHECK(count_files(dir) == 1);                        // no temporary file left
    fs::remove_all(dir);
}

TEST_CASE("png: a non-Latin-1 prompt goes to iTXt and reads back as UTF-8", "[unit]") {
    auto dir = fresh_dir("png_utf8");
    auto path = dir / "b.png";
    sf::GenerateRequest r;
    r.prompt = "\xE7\x8C\xAB\xE3\x81\xA8\xE7\x8A\xAC, a cat \xF0\x9F\x90\xB1: \"cute\"\nsecond line";  // 猫と犬, 🐱
    r.negative_prompt = "blurry, \xE4\xBD\x8E\xE5\x93\x81\xE8\xB3\xAA";                                   // 低品質
    r.seed = 77;
    sf::InfotextInfo info;
    info.model_name = "m";
    const auto text = sf::format_parameters(r, info);
    sf::io::write_png(path, gradient(16, 16), {{"parameters", text}});
    const auto bytes = file_bytes(path);
    CHECK(bytes.find("iTXtparameters") != std::string::npos);
    auto texts = sf::io::read_png_text(path);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].text == text);
    auto p = sf::parse_parameters(texts[0].text);
    CHECK(p.request.prompt == r.prompt);
    CHECK(p.request.negative_prompt == r.negative_prompt);
    CHECK(p.request.seed == 77);
    fs::remove_all(dir);
}

TEST_CASE("png: a prompt with commas, colons and newlines round-trips with its parameters", "[unit]") {
    auto dir = fresh_dir("png_params");
    auto path = dir / "c.png";
    sf::GenerateRequest r;
    r.prompt = "masterpiece, (cat:1.2), style: ukiyo-e\nsecond: line, with commas";
    r.negative_prompt = "text, watermark:0.5\nlowres";
    r.steps = 31;
    r.cfg_scale = 4.5;
    r.sampler = "DPM++ 2M";
    r.schedule = "Karras";
    r.seed = 4000000000LL;
    r.width = 768;
    r.height = 512;
    sf::InfotextInfo info;
    info.model_hash = "abcdef0123";
    info.model_name = "v1-5, pruned: ema";
    info.version = "sfumato 0.1.0";
    sf::io::write_png(path, gradient(8, 8), {{"parameters", sf::format_parameters(r, info)}});
    auto p = sf::parse_parameters(sf::io::find_png_text(sf::io::read_png_text(path), "parameters"));
    CHECK(p.request.prompt == r.prompt);
    CHECK(p.request.negative_prompt == r.negative_prompt);
    CHECK(p.request.steps == 31);
    CHECK(p.request.cfg_scale == 4.5);
    CHECK(p.request.sampler == "DPM++ 2M");
    CHECK(p.request.schedule == "Karras");
    CHECK(p.request.seed == 4000000000LL);
    CHECK(p.request.width == 768);
    CHECK(p.request.height == 512);
    CHECK(p.info.model_hash == "abcdef0123");
    CHECK(p.info.model_name == "v1-5, pruned: ema");
    CHECK(p.extra.empty());
    fs::remove_all(dir);
}

TEST_CASE("png: replacing a file is atomic; failures name the path and leave no temporary file", "[unit]") {
    auto dir = fresh_dir("png_fail");
    auto path = dir / "d.png";
    sf::io::write_png(path, gradient(4, 4), {{"k", "old"}});
    sf::io::write_png(path, gradient(5, 3), {{"k", "new"}});
    CHECK(sf::io::read_png(path).width == 5);
    CHECK(sf::io::find_png_text(sf::io::read_png_text(path), "k") == "new");
    CHECK(count_files(dir) == 1);

    // The folder does not exist.
    auto missing = dir / "nope" / "e.png";
    CHECK_THROWS_WITH(sf::io::write_png(missing, gradient(4, 4)), ContainsSubstring(missing.string()));

    // The target is a non-empty folder: the rename fails after the temporary file was written.
    auto blocker = dir / "f.png";
    fs::create_directories(blocker / "inside");
    CHECK_THROWS_WITH(sf::io::write_png(blocker, gradient(4, 4)), ContainsSubstring(blocker.string()));
    CHECK(count_files(dir) == 2);  // d.png and the f.png folder only

    // A bad key or an empty image is refused before any file is made.
    CHECK_THROWS_AS(sf::io::write_png(dir / "g.png", gradient(4, 4), {{"", "x"}}), sf::Error);
    CHECK_THROWS_AS(sf::io::write_png(dir / "g.png", sf::Image{}), sf::Error);
    CHECK_FALSE(fs::exists(dir / "g.png"));
    fs::remove_all(dir);
}

TEST_CASE("png: reading something that is not a PNG names the file", "[unit]") {
    auto dir = fresh_dir("png_bad");
    auto path = dir / "bad.png";
    std::ofstream(path) << "not a png at all";
    CHECK_THROWS_WITH(sf::io::read_png(path), ContainsSubstring(path.string()));
    CHECK_THROWS_WITH(sf::io::read_png_text(dir / "missing.png"), ContainsSubstring("missing.png"));
    // A truncated PNG.
    auto good = dir / "good.png";
    sf::io::write_png(good, gradient(32, 32));
    auto bytes = file_bytes(good);
    std::ofstream(dir / "cut.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    CHECK_THROWS_WITH(sf::io::read_png(dir / "cut.png"), ContainsSubstring("cut.png"));
    fs::remove_all(dir);
}

TEST_CASE("png: Latin-1 conversion", "[unit]") {
    std::string out;
    CHECK(sf::io::utf8_to_latin1("A\xC3\xA9\xC3\xBF", out));
    CHECK(out == "A\xE9\xFF");
    CHECK_FALSE(sf::io::utf8_to_latin1("\xC4\x80", out));  // U+0100
    CHECK_FALSE(sf::io::utf8_to_latin1("\xF0\x9F\x90\xB1", out));
    CHECK(sf::io::latin1_to_utf8("A\xE9\xFF") == "A\xC3\xA9\xC3\xBF");
}
