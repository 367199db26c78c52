// The trainer of the embedded model: a tiny run writes a checkpoint the pipeline loads, and a resumed run
// continues from the saved state with one loss row per step.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/pipeline.h"
#include "train/shapes_trainer.h"

namespace fs = std::filesystem;

namespace {

std::set<std::pair<std::string, int>> loss_rows(const fs::path& csv, int* count) {
    std::ifstream in(csv);
    std::set<std::pair<std::string, int>> rows;
    *count = 0;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        const auto comma = line.find(',');
        rows.insert({line.substr(0, comma), std::atoi(line.c_str() + comma + 1)});
        ++*count;
    }
    return rows;
}

}  // namespace

TEST_CASE("trainer: a tiny run loads as a pipeline, and a resumed run continues", "[unit][train]") {
    const fs::path dir = fs::temp_directory_path() / ("sfumato_test_train_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    sf::train::TrainOptions o;
    o.output = dir / "tiny.safetensors";
    o.work_dir = dir / "work";
    o.vae_steps = 20;
    o.vae_batch = 2;
    o.steps = 20;
    o.batch = 2;
    o.dataset_size = 8;
    o.save_every = 10;
    o.vae_eval_count = 8;
    auto first = sf::train::train_shapes(o);
    CHECK(first.vae_steps == 20);
    CHECK(first.steps == 20);
    CHECK(first.vae.psnr > 0);
    REQUIRE(fs::exists(o.output));
    auto pipeline = sf::Pipeline::load(o.output, {});
    CHECK(pipeline->default_size() == 64);
    CHECK(pipeline->family_name() == "Sfumato Shapes");

    // A stale row past the saved state (as an interrupted run leaves) is dropped on resume.
    std::ofstream(o.work_dir / "loss.csv", std::ios::app) << "unet,25,0.5\n";
    o.steps = 40;
    auto second = sf::train::train_shapes(o);
    CHECK(second.steps == 40);
    int count = 0;
    auto rows = loss_rows(second.loss_csv, &count);
    CHECK(static_cast<int>(rows.size()) == count);  // no step twice
    CHECK(rows.count({"unet", 30}) == 1);
    CHECK(rows.count({"vae", 10}) == 1);
    CHECK(rows.count({"unet", 25}) == 0);
    fs::remove_all(dir);
}
