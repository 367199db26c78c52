// The CLI's pure parts: flags → request, grid plans, output names, the progress line, the default model.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>


#include <filesystem>
#include <fstream>

#include "app/cli_args.h"
#include "app/cli_common.h"
#include "app/cli_plan.h"
#include "io/png_io.h"
#include "app/default_model.h"
#include "app/sampler_names.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::test::fresh_dir;
using Catch::Matchers::ContainsSubstring;
using namespace sf::cli;
using sf::io::next_sequence_number;

namespace {

Args make_args(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    return Args(static_cast<int>(argv.size()), argv.data(), 0, {"verbose", "help"});
}

}  // namespace

TEST_CASE("cli: flags become a request; bad values are usage errors", "[unit]") {
    auto r = request_from_args(make_args({"a cat", "--steps", "12", "--cfg", "4.5", "--seed", "3000000000", "--width",
                                          "640", "--height", "384", "--sampler", "dpmpp_2m", "--schedule", "karras",
                                          "--batch", "3", "--clip-skip", "2", "--device", "cuda:1", "--dtype", "bf16"}));
    CHECK(r.prompt == "a cat");
    CHECK(r.steps == 12);
    CHECK(r.cfg_scale == 4.5);
    CHECK(r.seed == 3000000000LL);
    CHECK(r.width == 640);
    CHECK(r.height == 384);
    CHECK(r.sampler == "DPM++ 2M");
    CHECK(r.schedule == "Karras");
    CHECK(r.batch_size == 3);
    CHECK(r.clip_skip == 2);
    CHECK(r.device == "cuda:1");
    CHECK(r.dtype == "bf16");

    CHECK_THROWS_WITH(request_from_args(make_args({"--width", "100"})), ContainsSubstring("multiple of 8"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--height", "8192"})), ContainsSubstring("--height"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--width", "56"})), ContainsSubstring("64"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--sampler", "Foo"})), ContainsSubstring("unknown sampler 'Foo'"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--schedule", "Bar"})), ContainsSubstring("unknown schedule"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--steps", "x"})), ContainsSubstring("--steps"));
    CHECK_THROWS_AS(request_from_args(make_args({"--steps", "0"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--batch", "0"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--fit", "zoom"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--device", "gpu"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--dtype", "fp8"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--seed", "-2"})), UsageError);
    CHECK_THROWS_AS(request_from_args(make_args({"--strength", "0.5"})), UsageError);  // needs --init-image
    CHECK_THROWS_AS(request_from_args(make_args({"one", "two"})), UsageError);
    CHECK_THROWS_WITH(request_from_args(make_args({"--model", "/no/such/model.safetensors"})),
                      ContainsSubstring("/no/such/model.safetensors"));
    CHECK_THROWS_WITH(request_from_args(make_args({"--init-image", "/no/such.png"})), ContainsSubstring("/no/such.png"));
    CHECK_THROWS_WITH(make_args({"--steps"}), ContainsSubstring("needs a value"));
}

TEST_CASE("cli: sampler and schedule names", "[unit]") {
    CHECK(resolve_sampler("euler a") == "Euler a");
    CHECK(resolve_sampler("euler_ancestral") == "Euler a");
    CHECK(resolve_sampler("sample_dpmpp_2m") == "DPM++ 2M");
    CHECK_FALSE(resolve_sampler("nope"));
    CHECK(resolve_schedule("EXPONENTIAL") == "Exponential");
    CHECK(std::find(sampler_names().begin(), sampler_names().end(), "Euler a") != sampler_names().end());
}

TEST_CASE("cli: grid axes parse and check their values", "[unit]") {
    auto seeds = parse_axis(AxisKind::seed, "1, 2,3");
    CHECK(seeds.values == std::vector<std::string>{"1", "2", "3"});
    CHECK(parse_axis(AxisKind::cfg, "7.50,3").values == std::vector<std::string>{"7.5", "3"});
    CHECK(parse_axis(AxisKind::sampler, "euler_ancestral,DPM++ 2M").values ==
          std::vector<std::string>{"Euler a", "DPM++ 2M"});
    CHECK_THROWS_WITH(parse_axis(AxisKind::seed, "1,x"), ContainsSubstring("--seeds: 'x'"));
    CHECK_THROWS_AS(parse_axis(AxisKind::steps, "0"), UsageError);
    CHECK_THROWS_AS(parse_axis(AxisKind::strength, "1.5"), UsageError);
    CHECK_THROWS_AS(parse_axis(AxisKind::sampler, "Bogus"), UsageError);
    CHECK_THROWS_AS(parse_axis(AxisKind::cfg, ""), UsageError);
}

TEST_CASE("cli: a seeds x cfgs grid runs as one batched request, guidance per element", "[unit]") {
    sf::GenerateRequest base;
    base.seed = 100;
    base.steps = 9;
    auto plan = plan_grid(base, parse_axis(AxisKind::seed, "1,2,3"), parse_axis(AxisKind::cfg, "3,5"), 0);
    CHECK(plan.cols == 3);
    CHECK(plan.rows == 2);
    CHECK(plan.col_labels == std::vector<std::string>{"Seed: 1", "Seed: 2", "Seed: 3"});
    CHECK(plan.row_labels == std::vector<std::string>{"CFG scale: 3", "CFG scale: 5"});
    REQUIRE(plan.jobs.size() == 1);
    const auto& job = plan.jobs[0];
    CHECK(job.request.batch_size == 6);
    CHECK(job.request.seeds == std::vector<int64_t>{1, 2, 3, 1, 2, 3});
    CHECK(job.request.cfg_scales == std::vector<double>{3, 3, 3, 5, 5, 5});
    CHECK(job.request.steps == 9);
    REQUIRE(job.cells.size() == 6);
    CHECK(job.cells[5].row == 1);
    CHECK(job.cells[5].col == 2);
    SECTION("max_batch splits it in order") {
        auto split = plan_grid(base, parse_axis(AxisKind::seed, "1,2,3"), parse_axis(AxisKind::cfg, "3,5"), 4);
        REQUIRE(split.jobs.size() == 2);
        CHECK(split.jobs[0].request.cfg_scales == std::vector<double>{3, 3, 3, 5});
        CHECK(split.jobs[1].request.seeds == std::vector<int64_t>{2, 3});
    }
    SECTION("the default batch holds 8 pictures of 512x512") {
        CHECK(sf::default_grid_batch(512, 512) == 8);
        CHECK(sf::default_grid_batch(1024, 1024) == 2);
        CHECK(sf::default_grid_batch(2048, 2048) == 1);
        CHECK(sf::default_grid_batch(64, 64) == sf::kMaxBatch);
    }
}

TEST_CASE("cli: grid plans for the other axis combinations", "[unit]") {
    sf::GenerateRequest base;
    base.seed = 42;
    SECTION("one cfg axis: one batch, every cell with the base seed") {
        auto plan = plan_grid(base, parse_axis(AxisKind::cfg, "3,5,7,9"), std::nullopt, 0);
        REQUIRE(plan.jobs.size() == 1);
        CHECK(plan.rows == 1);
        CHECK(plan.row_labels == std::vector<std::string>{""});
        CHECK(plan.jobs[0].request.seeds == std::vector<int64_t>(4, 42));
        CHECK(plan.jobs[0].request.cfg_scales == std::vector<double>{3, 5, 7, 9});
    }
    SECTION("steps columns x seed rows: one batch per column") {
        auto plan = plan_grid(base, parse_axis(AxisKind::steps, "10,20"), parse_axis(AxisKind::seed, "1,2,3"), 0);
        REQUIRE(plan.jobs.size() == 2);
        CHECK(plan.jobs[0].request.steps == 10);
        CHECK(plan.jobs[1].request.steps == 20);
        CHECK(plan.jobs[1].request.seeds == std::vector<int64_t>{1, 2, 3});
        CHECK(plan.jobs[1].cells[1].row == 1);
        CHECK(plan.jobs[1].cells[1].col == 1);
    }
    SECTION("samplers x steps: one request per cell, row-major") {
        auto plan = plan_grid(base, parse_axis(AxisKind::sampler, "Euler,DDIM"), parse_axis(AxisKind::steps, "5,6"), 0);
        REQUIRE(plan.jobs.size() == 4);
        CHECK(plan.jobs[1].request.sampler == "DDIM");
        CHECK(plan.jobs[1].request.steps == 5);
        CHECK(plan.jobs[2].request.sampler == "Euler");
        CHECK(plan.jobs[2].request.steps == 6);
        for (const auto& j : plan.jobs) {
            CHECK(j.request.batch_size == 1);
            CHECK(j.request.seeds == std::vector<int64_t>{42});
        }
    }
    SECTION("max_batch splits long rows") {
        auto plan = plan_grid(base, parse_axis(AxisKind::seed, "1,2,3,4,5"), std::nullopt, 2);
        REQUIRE(plan.jobs.size() == 3);
        CHECK(plan.jobs[0].request.seeds == std::vector<int64_t>{1, 2});
        CHECK(plan.jobs[2].request.seeds == std::vector<int64_t>{5});
        CHECK(plan.jobs[2].cells[0].col == 4);
    }
    SECTION("an unresolved seed is refused") {
        base.seed = -1;
        CHECK_THROWS_AS(plan_grid(base, parse_axis(AxisKind::cfg, "3"), std::nullopt, 0), sf::Error);
    }
}

TEST_CASE("cli: output targets and A1111 numbering", "[unit]") {
    auto dir = fresh_dir("cli_out");
    CHECK(output_target((dir / "x.png").string()).folder == false);
    CHECK(output_target((dir / "x.PNG").string()).folder == false);
    CHECK(output_target(dir.string()).folder);
    CHECK(output_target("some/new/folder").folder);
    CHECK(output_target("some/dir.d/").folder);
    CHECK_THROWS_AS(output_target("x.jpg"), UsageError);

    CHECK(next_sequence_number(dir) == 0);
    CHECK(next_sequence_number(dir / "missing") == 0);
    for (const char* name : {"00003-5.png", "00010-1.png", "grid-0099.png", "abc.png", "00011.txt", "7x.png"}) {
        std::ofstream(dir / name) << "x";
    }
    CHECK(next_sequence_number(dir) == 12);
    OutputTarget folder{dir, true};
    CHECK(output_path(folder, 42, 0, 1) == dir / "00012-42.png");
    OutputTarget file{dir / "out.png", false};
    CHECK(output_path(file, 42, 0, 1) == dir / "out.png");
    CHECK(output_path(file, 42, 0, 3) == dir / "out-1.png");
    CHECK(output_path(file, 43, 2, 3) == dir / "out-3.png");
    fs::remove_all(dir);
}

TEST_CASE("cli: progress bar and plain progress line", "[unit]") {
    CHECK(format_progress_bar(12, 20, 3.4) == "[############........] 12/20  3.4 it/s  ETA 2s");
    CHECK(format_progress_bar(0, 20, 0) == "[....................] 0/20  -- it/s");
    CHECK(format_progress_bar(20, 20, 2.0, 10) == "[##########] 20/20  2.0 it/s  ETA 0s");
    CHECK(format_progress_line(3, 10, 0.5) == "step 3/10  2.0 s/it  ETA 14s");
}

TEST_CASE("cli: the default model is found beside the executable", "[unit]") {
    auto root = fresh_dir("cli_prefix");
    fs::create_directories(root / "bin");
    fs::create_directories(root / "share" / "sfumato" / "models");
    const fs::path exe = root / "bin" / "sfumato-cli";
    ::unsetenv("SFUMATO_MODELS_DIR");
    CHECK_THROWS_WITH(find_default_model(exe), ContainsSubstring((root / "share" / "sfumato" / "models").string()));
    std::ofstream(root / "share" / "sfumato" / "models" / "b.safetensors") << "x";
    std::ofstream(root / "share" / "sfumato" / "models" / "a.safetensors") << "x";
    std::ofstream(root / "share" / "sfumato" / "models" / "README.md") << "x";
    CHECK(find_default_model(exe) == root / "share" / "sfumato" / "models" / "a.safetensors");
    std::ofstream(root / "share" / "sfumato" / "models" / "default.safetensors") << "x";
    CHECK(find_default_model(exe) == root / "share" / "sfumato" / "models" / "default.safetensors");
    CHECK_FALSE(executable_path().empty());
    fs::remove_all(root);
}
