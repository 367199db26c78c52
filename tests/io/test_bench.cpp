// sfumato-cli bench and sfumato-bench (app/bench_stages.h), run as built binaries: exit codes and messages of
// bad input, and the pipeline stage end to end on the tiny conformance checkpoint.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>

#include "core/checkpoint/safetensors.h"
#include "tests/io/run_program.h"
#include "tests/support/conformance.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using sf::test::fresh_dir;
using sf::test::run_cli;
using sf::test::run_program;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("sfumato-cli bench: bad input exits 2 (usage) or 1 (runtime) with a clear message", "[unit][bench]") {
    auto dir = fresh_dir("bench_usage");

    auto r = run_cli("bench --stage frobnicate");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown stage 'frobnicate'"));

    r = run_cli("bench --stage pipeline --model '" + (dir / "missing.safetensors").string() + "'");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--model: no such file or folder"));

    r = run_cli("bench --stage load --model '" + (dir / "missing.safetensors").string() + "'");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("no such file or folder"));

    r = run_cli("bench --sizes 100");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--sizes"));

    r = run_cli("bench --family sd9");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--family must be sd15, sd21 or sdxl"));

    r = run_cli("bench --bogus 1");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("--bogus"));

    // A real safetensors file of another family (a standalone VAE): a runtime error naming the family.
    const fs::path vae = dir / "vae.safetensors";
    sf::write_safetensors(vae, {{"encoder.conv_in.weight", torch::zeros({8, 3, 3, 3})},
                                {"decoder.conv_in.weight", torch::zeros({8, 4, 3, 3})}});
    r = run_cli("bench --stage load --model '" + vae.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("which the pipeline cannot load"));
    r = run_cli("bench --stage pipeline --model '" + vae.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("cannot generate"));

    // Not a model at all.
    const fs::path junk = dir / "junk.safetensors";
    std::ofstream(junk) << "not a model";
    r = run_cli("bench --stage load --model '" + junk.string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, ContainsSubstring("error:"));

    r = run_cli("bench --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("--stage unet|vae|load|pipeline|all"));
    fs::remove_all(dir);
}

TEST_CASE("sfumato-bench: the core-only binary takes the same options", "[unit][bench]") {
    const std::string bench = SFUMATO_BENCH_EXE;
    auto r = run_program(bench, "--help");
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("usage: sfumato-bench"));
    r = run_program(bench, "--stage frobnicate");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown stage 'frobnicate'"));
}

TEST_CASE("sfumato-cli bench --stage pipeline: the tiny conformance checkpoint, 2 steps at 64x64", "[unit][bench]") {
    SF_REQUIRE_AREA("pipeline");
    SF_REQUIRE_AREA("text");
    const fs::path model = sf::test::conformance_root() / "pipeline" / "sd1_tiny_complete.safetensors";
    if (!fs::exists(model)) {
        SKIP("no " << model);
    }
    // The CLIP vocabulary where a user would put it (a single file carries none).
    auto home = fresh_dir("bench_xdg");
    fs::create_directories(home / "sfumato" / "tokenizer");
    for (const char* f : {"vocab.json", "merges.txt"}) {
        fs::copy_file(sf::test::conformance_root() / "text" / "tokenizer" / f, home / "sfumato" / "tokenizer" / f);
    }
    auto r = run_cli("bench --stage pipeline --model '" + model.string() +
                         "' --text-heads 4 --steps 2 --grid-steps 1 --size 64 --device cpu",
                     "XDG_DATA_HOME='" + home.string() + "'");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("pipeline: loaded SD 1.x"));
    CHECK_THAT(r.output, ContainsSubstring("pipeline txt2img 64x64, 2 steps"));
    CHECK_THAT(r.output, ContainsSubstring("s per step (median of 1)"));
    CHECK_THAT(r.output, ContainsSubstring("pipeline sampler + guidance (zero model):"));
    CHECK_THAT(r.output, ContainsSubstring("pipeline latent preview:"));
    CHECK_THAT(r.output, ContainsSubstring("pipeline grid 4 seeds x 3 scales at 64²"));
    CHECK_THAT(r.output, ContainsSubstring("speed-up"));
    CHECK_THAT(r.output, ContainsSubstring("summary"));
    CHECK_THAT(r.output, ContainsSubstring("sampler + guidance / step"));
    CHECK_THAT(r.output, ContainsSubstring("grid 4x3 batched speed-up"));
    fs::remove_all(home);
}

TEST_CASE("sfumato-cli bench --stage load: the embedded fp16 model, into fp16 and into fp32", "[unit][bench]") {
    const fs::path model = fs::path(SFUMATO_SOURCE_DIR) / "resources" / "models" / "sfumato-shapes.safetensors";
    auto r = run_cli("bench --stage load --device cpu --model '" + model.string() + "'");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK_THAT(r.output, ContainsSubstring("page cache warm"));
    CHECK_THAT(r.output, ContainsSubstring("into cpu fp16: Pipeline::load"));
    CHECK_THAT(r.output, ContainsSubstring("into cpu fp32: Pipeline::load"));
    CHECK_THAT(r.output, ContainsSubstring("peak RSS / file size, cpu fp16"));
    CHECK_THAT(r.output, ContainsSubstring("floor 2× (converted copy)"));
}
