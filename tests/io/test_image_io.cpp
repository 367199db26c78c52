#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/image_io.h"
#include "io/png_io.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::test::fresh_dir;
using Catch::Matchers::ContainsSubstring;

namespace {

// Left half red, right half blue, with a green top row and a white bottom row.
sf::Image halves(int w, int h) {
    sf::Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w * h * 3))};
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            auto* p = &img.rgb[static_cast<size_t>((y * w + x) * 3)];
            if (y == 0) {
                p[1] = 255;
            } else if (y == h - 1) {
                p[0] = p[1] = p[2] = 255;
            } else if (x < w / 2) {
                p[0] = 255;
            } else {
                p[2] = 255;
            }
        }
    }
    return img;
}

const uint8_t* px(const sf::Image& img, int x, int y) { return &img.rgb[static_cast<size_t>((y * img.width + x) * 3)]; }

}  // namespace

TEST_CASE("image_io: read_image_rgb and read_image read what write_png wrote", "[unit]") {
    auto dir = fresh_dir("imgio_read");
    auto img = halves(40, 30);
    sf::io::write_png(dir / "h.png", img);
    auto back = sf::io::read_image_rgb(dir / "h.png");
    CHECK(back.width == 40);
    CHECK(back.height == 30);
    CHECK(back.rgb == img.rgb);
    auto t = sf::io::read_image(dir / "h.png");
    CHECK(t.sizes() == torch::IntArrayRef({1, 3, 30, 40}));
    CHECK(t.min().item<float>() == -1.0f);
    CHECK(t.max().item<float>() == 1.0f);
    CHECK(t[0][0][5][5].item<float>() == 1.0f);   // red channel of a red pixel
    CHECK(t[0][2][5][5].item<float>() == -1.0f);  // its blue channel
    fs::remove_all(dir);
}

TEST_CASE("image_io: unreadable images name the file", "[unit]") {
    auto dir = fresh_dir("imgio_bad");
    CHECK_THROWS_WITH(sf::io::read_image_rgb(dir / "missing.jpg"), ContainsSubstring("missing.jpg"));
    std::ofstream(dir / "junk.png") << "junk";
    CHECK_THROWS_WITH(sf::io::read_image(dir / "junk.png"), ContainsSubstring("junk.png"));
    CHECK_THROWS_WITH(sf::io::load_init_image(dir / "junk.png", 64, 64, "crop"), ContainsSubstring("junk.png"));
    fs::remove_all(dir);
}

TEST_CASE("image_io: fit_image stretch, crop and fit", "[unit]") {
    auto img = halves(200, 100);
    auto s = sf::io::fit_image(img, 64, 96, "stretch");
    CHECK(s.width == 64);
    CHECK(s.height == 96);
    CHECK(px(s, 5, 48)[0] == 255);   // red on the left
    CHECK(px(s, 58, 48)[2] == 255);  // blue on the right

    // crop: cover 64x64 (scaled to 128x64), cut the middle: still red left / blue right, green top row kept.
    auto c = sf::io::fit_image(img, 64, 64, "crop");
    CHECK(c.width == 64);
    CHECK(c.height == 64);
    CHECK(px(c, 10, 32)[0] > 200);
    CHECK(px(c, 54, 32)[2] > 200);
    // A tall crop of a wide picture keeps only the middle columns: the red/blue border is in the middle.
    auto tall = sf::io::fit_image(img, 64, 128, "crop");
    CHECK(tall.width == 64);
    CHECK(tall.height == 128);
    CHECK(px(tall, 2, 64)[0] > 200);
    CHECK(px(tall, 61, 64)[2] > 200);

    // fit: 200x100 into 64x64 → 64x32 content centred, 16 rows of padding above and below that repeat the
    // edge rows (green on top, white at the bottom), as A1111's "Resize and fill".
    auto f = sf::io::fit_image(img, 64, 64, "fit");
    CHECK(f.width == 64);
    CHECK(f.height == 64);
    for (int y : {0, 8, 15}) {
        CHECK(std::vector<uint8_t>(px(f, 0, y), px(f, 0, y) + 64 * 3) ==
              std::vector<uint8_t>(px(f, 0, 16), px(f, 0, 16) + 64 * 3));
    }
    for (int y : {48, 56, 63}) {
        CHECK(std::vector<uint8_t>(px(f, 0, y), px(f, 0, y) + 64 * 3) ==
              std::vector<uint8_t>(px(f, 0, 47), px(f, 0, 47) + 64 * 3));
    }
    CHECK(px(f, 10, 32)[0] > 200);
    CHECK(px(f, 54, 32)[2] > 200);

    CHECK_THROWS_WITH(sf::io::fit_image(img, 64, 64, "zoom"), ContainsSubstring("zoom"));
}

TEST_CASE("image_io: fit_image_tensor is [1, 3, H, W] in [-1, 1]", "[unit]") {
    auto t = sf::io::fit_image_tensor(halves(50, 70), 64, 48, "crop");
    CHECK(t.sizes() == torch::IntArrayRef({1, 3, 48, 64}));
    CHECK(t.dtype() == torch::kFloat32);
    CHECK(t.min().item<float>() >= -1.0f);
    CHECK(t.max().item<float>() <= 1.0f);
}

TEST_CASE("image_io: make_grid places cells and label bands", "[unit]") {
    auto colour = [](uint8_t r, uint8_t g, uint8_t b) {
        sf::Image img{64, 48, {}};
        for (int i = 0; i < 64 * 48; ++i) {
            img.rgb.insert(img.rgb.end(), {r, g, b});
        }
        return img;
    };
    std::vector<sf::Image> cells = {colour(255, 0, 0), colour(0, 255, 0), colour(0, 0, 255),
                                    colour(10, 10, 10), colour(200, 200, 0), sf::Image{}};
    auto plain = sf::io::make_grid(cells, 2, 3, {}, {});
    CHECK(plain.width == 3 * 64);
    CHECK(plain.height == 2 * 48);
    CHECK(px(plain, 64 * 2 + 5, 5)[2] == 255);                        // (0, 2) blue
    CHECK(px(plain, 64 + 5, 48 + 5)[0] == 200);                       // (1, 1) yellow
    CHECK(std::vector<uint8_t>(px(plain, 64 * 2 + 5, 48 + 5), px(plain, 64 * 2 + 5, 48 + 5) + 3) ==
          std::vector<uint8_t>{255, 255, 255});                        // (1, 2) missing → white

    auto labelled = sf::io::make_grid(cells, 2, 3, {"Seed: 1", "Seed: 2"}, {"CFG scale: 3", "CFG scale: 5", "CFG scale: 7"});
    CHECK(labelled.width > 3 * 64);
    CHECK(labelled.height > 2 * 48);
    const int left = labelled.width - 3 * 64;
    const int top = labelled.height - 2 * 48;
    CHECK(px(labelled, left + 5, top + 5)[0] == 255);  // (0, 0) red, after the bands
    // Some dark label pixels in the top band.
    int dark = 0;
    for (int y = 0; y < top; ++y) {
        for (int x = left; x < labelled.width; ++x) {
            dark += px(labelled, x, y)[0] < 128;
        }
    }
    CHECK(dark > 20);
    CHECK_THROWS_AS(sf::io::make_grid({}, 1, 1, {}, {}), sf::Error);
    // Non-ASCII labels do not break anything.
    CHECK_NOTHROW(sf::io::make_grid(cells, 2, 3, {"\xE7\x8C\xAB", ""}, {"a very long label that must wrap somehow", "", ""}));
}
