// sfumato-cli end to end: the built binary's exit codes and messages, and generate/grid in-process with a
// fake job runner (files, metadata, batching, Ctrl+C).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "core/error.h"
#include "core/parameters.h"
#include "io/png_io.h"
#include "tests/io/run_program.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::test::fresh_dir;
using sf::test::run_cli;
using Catch::Matchers::ContainsSubstring;

namespace {

size_t count_files(const fs::path& dir) {
    if (!fs::exists(dir)) {
        return 0;
    }
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

sf::cli::Args make_args(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    return sf::cli::Args(static_cast<int>(argv.size()), argv.data(), 0, {"verbose", "help"});
}

// A stand-in pipeline: one flat image per batch entry, its colour from the seed and guidance scale.
struct FakeRunner {
    std::shared_ptr<std::vector<sf::GenerateRequest>> seen = std::make_shared<std::vector<sf::GenerateRequest>>();
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();

    std::vector<sf::Image> operator()(sf::GenerateRequest& r, sf::JobContext& ctx) const {
        {
            std::lock_guard lock(*mutex);
            seen->push_back(r);
        }
        for (int s = 1; s <= r.steps; ++s) {
            ctx.check();
            ctx.progress(s, r.steps, torch::Tensor());
        }
        std::vector<sf::Image> out;
        for (int i = 0; i < r.batch_size; ++i) {
            const auto idx = static_cast<size_t>(i);
            const int64_t seed = idx < r.seeds.size() ? r.seeds[idx] : r.seed + i;
            const double cfg = idx < r.cfg_scales.size() ? r.cfg_scales[idx] : r.cfg_scale;
            sf::Image img{r.width, r.height, {}};
            for (int p = 0; p < r.width * r.height; ++p) {
                img.rgb.insert(img.rgb.end(), {static_cast<uint8_t>(seed * 40), static_cast<uint8_t>(cfg * 20), 128});
            }
            out.push_back(std::move(img));
        }
        return out;
    }
};

}  // namespace

TEST_CASE("sfumato-cli: bad usage exits 2 with a clear message", "[unit]") {
    auto dir = fresh_dir("cli_usage");
    const std::string model = (dir / "m.safetensors").string();
    std::ofstream(model) << "not really a model";
    const std::string m = " --model '" + model + "'";

    auto r = run_cli("");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("usage: sfumato-cli"));
    r = run_cli("frobnicate");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown command 'frobnicate'"));
    r = run_cli("generate --bogus 1" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown option --bogus"));
    r = run_cli("generate cat --width 100" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--width must be a multiple of 8 between 64 and 4096, got 100"));
    r = run_cli("generate cat --height 8192" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--height"));
    r = run_cli("generate cat --sampler 'Euler z'" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown sampler 'Euler z'"));
    r = run_cli("generate cat --steps twenty" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--steps expects a whole number, got 'twenty'"));
    r = run_cli("generate cat --model /no/such/file.safetensors");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("model not found: '/no/such/file.safetensors'"));
    r = run_cli("generate cat --init-image /no/such/in.png" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("/no/such/in.png"));
    r = run_cli("generate cat --output out.jpg" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring(".png"));
    r = run_cli("generate cat --steps");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("needs a value"));
    r = run_cli("grid cat" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("grid needs an axis"));
    r = run_cli("eval-shapes --img2img --strengths 0.3,x" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--strengths: 'x' is not a denoising strength"));
    r = run_cli("eval-shapes --img2img --strengths 1.5" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--strengths: '1.5' is not a denoising strength (0..1)"));
    r = run_cli("eval-shapes --cfgs 5,,7" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--cfgs: '' is not a guidance scale"));
    r = run_cli("grid cat --seeds 1,2 --cfgs 3 --steps-axis 4" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("at most two axes"));
    r = run_cli("grid cat --seeds 1,x" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--seeds: 'x'"));
    r = run_cli("grid cat --strengths 0.5" + m);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--strengths needs --init-image"));
    r = run_cli("generate --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("--negative-prompt"));
    r = run_cli("grid --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("--cfgs"));
    r = run_cli("train --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("--vae-fg-share"));
    CHECK_THAT(r.output, ContainsSubstring("--size"));
    // The trainer's flag checks are usage errors too, and come before any training or file.
    r = run_cli("train --size 60 --output " + (dir / "t.safetensors").string());
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--size must be a multiple of 32 in [64, 512], got 60"));
    r = run_cli("train --mismatch 2 --output " + (dir / "t.safetensors").string());
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--mismatch"));
    CHECK_FALSE(fs::exists(dir / "t.safetensors.train"));
    fs::remove_all(dir);
}

TEST_CASE("sfumato-cli: runtime failures exit 1 and leave no files", "[unit]") {
    auto dir = fresh_dir("cli_runtime");
    const std::string model = (dir / "m.safetensors").string();
    std::ofstream(model) << "not really a model";
    const auto out = dir / "out";

    auto r = run_cli("generate 'a cat, sitting' --model '" + model + "' --output '" + out.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring(model));  // the message names the bad file
    CHECK(count_files(out) == 0);

    r = run_cli("grid cat --seeds 1,2 --cfgs 3,5 --model '" + model + "' --output '" + out.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring(model));
    CHECK(count_files(out) == 0);

    // No --model: the default model folder (here from SFUMATO_MODELS_DIR) is searched and named when empty.
    const auto models = dir / "models";
    fs::create_directories(models);
    r = run_cli("generate cat --output '" + out.string() + "'", "SFUMATO_MODELS_DIR='" + models.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("no default model found"));
    CHECK_THAT(r.output, ContainsSubstring(models.string()));
    std::ofstream(models / "tiny.safetensors") << "x";
    r = run_cli("generate cat --output '" + out.string() + "'", "SFUMATO_MODELS_DIR='" + models.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("tiny.safetensors"));

    // An init image that is not an image: a runtime error naming it.
    std::ofstream(dir / "junk.png") << "junk";
    r = run_cli("generate cat --width 64 --height 64 --model '" + model + "' --init-image '" + (dir / "junk.png").string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("junk.png"));
    fs::remove_all(dir);
}

TEST_CASE("generate: a batch to a folder with A1111 numbering and metadata (fake pipeline)", "[unit]") {
    auto dir = fresh_dir("gen_folder");
    const auto model = dir / "tiny-model.safetensors";
    std::ofstream(model) << "weights";
    const auto out = dir / "out";
    fs::create_directories(out);
    std::ofstream(out / "00007-1.png") << "older picture";
    FakeRunner runner;
    int code = sf::cli::run_generate(make_args({"a fox, at dawn: \xE7\x8C\xAB", "--negative-prompt", "blurry",
                                                "--model", model.string(), "--steps", "3", "--seed", "10", "--batch", "2",
                                                "--width", "64", "--height", "72", "--cfg", "5.5", "--output",
                                                out.string()}),
                                     runner);
    CHECK(code == 0);
    REQUIRE(runner.seen->size() == 1);
    CHECK(runner.seen->at(0).batch_size == 2);
    CHECK(runner.seen->at(0).model == model);
    REQUIRE(fs::exists(out / "00008-10.png"));
    REQUIRE(fs::exists(out / "00009-11.png"));
    CHECK(count_files(out) == 3);
    auto img = sf::io::read_png(out / "00009-11.png");
    CHECK(img.width == 64);
    CHECK(img.height == 72);
    auto p = sf::parse_parameters(sf::io::find_png_text(sf::io::read_png_text(out / "00009-11.png"), "parameters"));
    CHECK(p.request.prompt == "a fox, at dawn: \xE7\x8C\xAB");
    CHECK(p.request.negative_prompt == "blurry");
    CHECK(p.request.seed == 11);
    CHECK(p.request.steps == 3);
    CHECK(p.request.cfg_scale == 5.5);
    CHECK(p.request.width == 64);
    CHECK(p.request.height == 72);
    CHECK(p.info.model_name == "tiny-model");
    CHECK(p.info.model_hash == sf::short_model_hash(model));
    CHECK(p.info.model_hash.size() == 10);
    CHECK(p.info.version.rfind("sfumato ", 0) == 0);
    CHECK_FALSE(p.info.torch_version.empty());
    CHECK_FALSE(p.info.device.empty());
    fs::remove_all(dir);
}

TEST_CASE("generate: a file path gets -1, -2 suffixes for a batch (fake pipeline)", "[unit]") {
    auto dir = fresh_dir("gen_file");
    const auto model = dir / "m.safetensors";
    std::ofstream(model) << "weights";
    FakeRunner runner;
    CHECK(sf::cli::run_generate(make_args({"cat", "--model", model.string(), "--steps", "1", "--seed", "5", "--batch",
                                           "2", "--width", "64", "--height", "64", "--output",
                                           (dir / "sub" / "pic.png").string()}),
                                runner) == 0);
    CHECK(fs::exists(dir / "sub" / "pic-1.png"));
    CHECK(fs::exists(dir / "sub" / "pic-2.png"));
    CHECK(count_files(dir / "sub") == 2);
    CHECK(sf::cli::run_generate(make_args({"cat", "--model", model.string(), "--steps", "1", "--width", "64",
                                           "--height", "64", "--output", (dir / "one.png").string()}),
                                runner) == 0);
    CHECK(fs::exists(dir / "one.png"));
    fs::remove_all(dir);
}

TEST_CASE("generate: img2img reads and fits the init image (fake pipeline)", "[unit]") {
    auto dir = fresh_dir("gen_img2img");
    const auto model = dir / "m.safetensors";
    std::ofstream(model) << "weights";
    sf::Image in{100, 50, std::vector<uint8_t>(100 * 50 * 3, 200)};
    sf::io::write_png(dir / "in.png", in);
    FakeRunner runner;
    CHECK(sf::cli::run_generate(make_args({"cat", "--model", model.string(), "--steps", "1", "--width", "64",
                                           "--height", "96", "--init-image", (dir / "in.png").string(), "--strength",
                                           "0.4", "--fit", "fit", "--output", (dir / "o.png").string()}),
                                runner) == 0);
    REQUIRE(runner.seen->size() == 1);
    const auto& r = runner.seen->at(0);
    REQUIRE(r.init_image.defined());
    CHECK(r.init_image.sizes() == torch::IntArrayRef({1, 3, 96, 64}));
    CHECK(r.strength == 0.4);
    auto p = sf::parse_parameters(sf::io::find_png_text(sf::io::read_png_text(dir / "o.png"), "parameters"));
    CHECK(p.img2img);
    CHECK(p.request.strength == 0.4);
    CHECK(p.request.fit == "fit");
    fs::remove_all(dir);
}

TEST_CASE("grid: seeds x cfgs runs as one batch and writes cells plus the labelled grid (fake pipeline)", "[unit]") {
    auto dir = fresh_dir("grid_run");
    const auto model = dir / "m.safetensors";
    std::ofstream(model) << "weights";
    const auto out = dir / "out";
    FakeRunner runner;
    CHECK(sf::cli::run_grid(make_args({"cat", "--model", model.string(), "--steps", "2", "--width", "64", "--height",
                                       "64", "--seeds", "1,2,3", "--cfgs", "3,5", "--output", out.string()}),
                            runner) == 0);
    REQUIRE(runner.seen->size() == 1);  // one request for the whole grid (64x64: the default batch holds 6)
    CHECK(runner.seen->at(0).seeds == std::vector<int64_t>{1, 2, 3, 1, 2, 3});
    CHECK(runner.seen->at(0).cfg_scales == std::vector<double>{3, 3, 3, 5, 5, 5});
    CHECK(count_files(out) == 7);  // 6 cells + the grid
    REQUIRE(fs::exists(out / "00006-grid.png"));
    auto grid = sf::io::read_png(out / "00006-grid.png");
    CHECK(grid.width > 3 * 64);
    CHECK(grid.height > 2 * 64);
    // The bottom-right cell is seed 3, cfg 5: colour (120, 100, 128).
    const uint8_t* px = &grid.rgb[static_cast<size_t>(((grid.height - 5) * grid.width + grid.width - 5) * 3)];
    CHECK(px[0] == 120);
    CHECK(px[1] == 100);
    auto cell = sf::parse_parameters(sf::io::find_png_text(sf::io::read_png_text(out / "00005-3.png"), "parameters"));
    CHECK(cell.request.seed == 3);
    CHECK(cell.request.cfg_scale == 5);

    // A grid to a file: cells beside it as <stem>-r<row>-c<col>.png.
    FakeRunner again;
    CHECK(sf::cli::run_grid(make_args({"cat", "--model", model.string(), "--steps", "1", "--width", "64", "--height",
                                       "64", "--samplers", "Euler,DDIM", "--output", (dir / "g.png").string()}),
                            again) == 0);
    CHECK(again.seen->size() == 2);  // samplers cannot share a batch
    CHECK(fs::exists(dir / "g.png"));
    CHECK(fs::exists(dir / "g-r1-c1.png"));
    CHECK(fs::exists(dir / "g-r1-c2.png"));
    fs::remove_all(dir);
}

TEST_CASE("generate: Ctrl+C cancels the running job and leaves no file (fake pipeline)", "[unit]") {
    auto dir = fresh_dir("gen_cancel");
    const auto model = dir / "m.safetensors";
    std::ofstream(model) << "weights";
    const auto out = dir / "out";
    auto runner = [](sf::GenerateRequest& r, sf::JobContext& ctx) -> std::vector<sf::Image> {
        std::raise(SIGINT);  // as if the user pressed Ctrl+C now
        for (int i = 0; i < 500; ++i) {
            ctx.check();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return {sf::Image{r.width, r.height, std::vector<uint8_t>(static_cast<size_t>(r.width * r.height * 3))}};
    };
    CHECK_THROWS_AS(sf::cli::run_generate(make_args({"cat", "--model", model.string(), "--width", "64", "--height",
                                                     "64", "--output", out.string()}),
                                          runner),
                    sf::Cancelled);
    CHECK(count_files(out) == 0);
    fs::remove_all(dir);
}
