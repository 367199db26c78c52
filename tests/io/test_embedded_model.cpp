// End to end on the embedded default model: sfumato-cli generate is deterministic and its PNG metadata
// round-trips; img2img runs; the model draws what Shapes captions ask for (a few fixed captions and seeds,
// with margins: `sfumato-cli eval-shapes` reports the full numbers).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <opencv2/core.hpp>

#include <filesystem>
#include <fstream>

#include "app/default_model.h"
#include "core/parameters.h"
#include "core/pipeline.h"
#include "io/png_io.h"
#include "shapes/shapes.h"
#include "train/shapes_eval.h"
#include "tests/io/run_program.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using sf::test::fresh_dir;
using sf::test::run_cli;

namespace {

// Below what eval-shapes measured on the shipped model with these captions and seeds (MODEL_CARD.md: position
// 1.000, overall 0.944 at guidance 7; img2img here: followed 1.000 at strength 0.9, kept the position 0.875 at 0.3),
// by two or more pictures in eighteen, so other CPUs' rounding may move a picture or two but a broken model
// or pipeline fails.
constexpr double kMinPositionAdherence = 0.85;
constexpr double kMinOverallAdherence = 0.8;
constexpr double kMinImg2ImgKeptPosition = 0.5;
constexpr double kMinImg2ImgFollowed = 0.6;
constexpr double kMinImg2ImgKeptAtZero = 0.75;  // the autoencoder reads back 0.94 of scenes
constexpr double kMinImg2ImgUncaptionedShape = 0.45;  // measured 0.625 (20 of 32)

fs::path embedded_model() {
    return fs::path(SFUMATO_SOURCE_DIR) / "resources" / "models" / "sfumato-shapes.safetensors";
}

}  // namespace

TEST_CASE("embedded model: generate is deterministic and its PNG metadata round-trips", "[unit][embedded]") {
    if (!fs::exists(embedded_model())) {
        SKIP("embedded model not found at " << embedded_model());
    }
    auto dir = fresh_dir("gen");
    const std::string common = "generate --prompt 'a large red circle in the center on a blue background' "
                               "--negative-prompt 'a green square' --steps 12 --cfg 5 --seed 42 --sampler 'DPM++ 2M' "
                               "--schedule Karras --width 64 --height 64 --output ";
    REQUIRE(run_cli(common + "'" + (dir / "a.png").string() + "'").code == 0);
    REQUIRE(run_cli(common + "'" + (dir / "b.png").string() + "'").code == 0);
    auto a = sf::io::read_png(dir / "a.png");
    auto b = sf::io::read_png(dir / "b.png");
    CHECK(a.width == 64);
    CHECK(a.rgb == b.rgb);

    auto text = sf::io::find_png_text(sf::io::read_png_text(dir / "a.png"), "parameters");
    auto parsed = sf::parse_parameters(text);
    CHECK(parsed.request.prompt == "a large red circle in the center on a blue background");
    CHECK(parsed.request.negative_prompt == "a green square");
    CHECK(parsed.request.steps == 12);
    CHECK(parsed.request.cfg_scale == 5.0);
    CHECK(parsed.request.seed == 42);
    CHECK(parsed.request.width == 64);
    CHECK(parsed.request.sampler == "DPM++ 2M");
    CHECK(parsed.request.schedule == "Karras");
    CHECK(parsed.info.model_hash.size() == 10);

    // img2img from the picture just made, twice: identical, and a valid picture.
    const std::string i2i = "generate --prompt 'a small yellow square' --init-image '" + (dir / "a.png").string() +
                            "' --strength 0.5 --steps 10 --seed 3 --width 64 --height 64 --output ";
    REQUIRE(run_cli(i2i + "'" + (dir / "c.png").string() + "'").code == 0);
    REQUIRE(run_cli(i2i + "'" + (dir / "d.png").string() + "'").code == 0);
    CHECK(sf::io::read_png(dir / "c.png").rgb == sf::io::read_png(dir / "d.png").rgb);
    auto c_params = sf::parse_parameters(sf::io::find_png_text(sf::io::read_png_text(dir / "c.png"), "parameters"));
    CHECK(c_params.img2img);
    CHECK(c_params.request.strength == 0.5);
}

std::vector<std::string> fixed_captions() {
    std::ifstream in(fs::path(SFUMATO_SOURCE_DIR) / "tests" / "data" / "shapes_captions.txt");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            out.push_back(line);
        }
    }
    return out;
}

// The adherence targets, on the fixed captions with fixed seeds (deterministic on the CPU), with
// margins below what `sfumato-cli eval-shapes --captions tests/data/shapes_captions.txt` measured (MODEL_CARD.md).
TEST_CASE("embedded model: draws what Shapes captions ask for, better with guidance", "[unit][embedded]") {
    if (!fs::exists(embedded_model())) {
        SKIP("embedded model not found at " << embedded_model());
    }
    auto pipeline = sf::Pipeline::load(embedded_model(), {});
    sf::train::EvalOptions o;
    o.captions = fixed_captions();
    REQUIRE(o.captions.size() >= 18);
    o.cfg_scales = {1.0, 7.0};  // 7: the default guidance scale
    auto rows = sf::train::evaluate_shapes(*pipeline, o);
    REQUIRE(rows.size() == 2);
    for (const auto& r : rows) {
        UNSCOPED_INFO("guidance " << r.cfg << ": shape " << r.shape << ", colour " << r.color << ", position "
                                  << r.position << ", size " << r.size << ", background " << r.background
                                  << ", overall " << r.overall);
    }
    CHECK(rows[1].position >= kMinPositionAdherence);
    CHECK(rows[1].overall >= kMinOverallAdherence);
    CHECK(rows[1].position > rows[0].position);
    CHECK(rows[1].overall > rows[0].overall);
}

// The issue also asks that strength 0.3 keeps the reference's shape and position: with a caption naming another
// shape, colour and place this model redraws the shape the caption names and keeps the place only more often than
// not (7 of 8 here, 73 % of 96 pairs in eval-shapes; MODEL_CARD.md explains), so that much is asserted at 0.3.
// Strength 0 returns the reference (encoded and decoded), so there every keep rate is the autoencoder's read-back
// (0.94). With no caption, strength 0.3 keeps the shape most of the time: that is asserted too.
TEST_CASE("embedded model: img2img keeps the reference's place more at strength 0.3, follows a new prompt at 0.9",
          "[unit][embedded]") {
    if (!fs::exists(embedded_model())) {
        SKIP("embedded model not found at " << embedded_model());
    }
    auto pipeline = sf::Pipeline::load(embedded_model(), {});
    auto checks = sf::train::evaluate_img2img(*pipeline, {0.0, 0.3, 0.9}, 8, 7.0, 20, 1000);
    REQUIRE(checks.size() == 3);
    for (const auto& c : checks) {
        UNSCOPED_INFO("strength " << c.strength << ": kept " << c.kept << " (position " << c.kept_position
                                  << ", shape " << c.kept_shape << ", large " << c.kept_large << " of "
                                  << c.large_images << "), followed " << c.followed);
    }
    const auto& unchanged = checks[0];
    CHECK(unchanged.kept >= kMinImg2ImgKeptAtZero);
    CHECK(unchanged.kept_shape >= kMinImg2ImgKeptAtZero);
    CHECK(unchanged.kept_position >= kMinImg2ImgKeptAtZero);
    CHECK(unchanged.followed == 0);
    REQUIRE(unchanged.large_images > 0);
    REQUIRE(unchanged.large_images < unchanged.images);
    CHECK(unchanged.kept_large >= kMinImg2ImgKeptAtZero);
    CHECK(checks[1].kept_position >= kMinImg2ImgKeptPosition);
    CHECK(checks[1].kept_position > checks[2].kept_position);
    CHECK(checks[2].followed >= kMinImg2ImgFollowed);
    CHECK(checks[2].followed > checks[1].followed);

    // References with no caption (the same 8 first, 32 in all; cheap: 6 steps without guidance): the noise of
    // strength 0.3 leaves the shape readable far more often than the captioned run keeps it, so what redraws the
    // shape there is the caption, not the noise.
    auto bare = sf::train::evaluate_img2img(*pipeline, {0.3}, 32, 1.0, 20, 1000, /*captioned=*/false);
    REQUIRE(bare.size() == 1);
    UNSCOPED_INFO("strength 0.3, no caption: kept " << bare[0].kept << " (position " << bare[0].kept_position
                                                    << ", shape " << bare[0].kept_shape << ")");
    CHECK(bare[0].kept_position >= kMinImg2ImgKeptAtZero);
    CHECK(bare[0].kept_shape >= kMinImg2ImgUncaptionedShape);
    CHECK(bare[0].kept_shape > checks[1].kept_shape);
}

TEST_CASE("embedded model: eval-shapes --img2img reports each strength with the new caption and with none",
          "[unit][embedded]") {
    if (!fs::exists(embedded_model())) {
        SKIP("embedded model not found at " << embedded_model());
    }
    const auto captions = fs::path(SFUMATO_SOURCE_DIR) / "tests" / "data" / "shapes_captions.txt";
    const auto r = run_cli("eval-shapes --model '" + embedded_model().string() + "' --captions '" +
                           captions.string() + "' --count 16 --cfgs 5 --steps 8 --img2img --strengths 0.3,0.9");
    const auto& out = r.output;
    UNSCOPED_INFO(out);
    REQUIRE(r.code == 0);
    CHECK_THAT(out, ContainsSubstring("img2img strength 0.30, guidance 5.0: 4 images, kept reference shape+position"));
    CHECK_THAT(out, ContainsSubstring("img2img strength 0.90, guidance 5.0: 4 images"));
    CHECK_THAT(out, ContainsSubstring("img2img strength 0.30, no caption: 4 images, kept reference shape+position"));
    CHECK_THAT(out, ContainsSubstring("img2img strength 0.90, no caption: 4 images"));
}
