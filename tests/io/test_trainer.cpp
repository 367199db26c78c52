// The trainer of the embedded model: a tiny run writes a checkpoint the pipeline loads, and a resumed run
// continues from the saved state with one loss row per step.
#include <catch2/catch_test_macros.hpp>
#include <catch2/catch_approx.hpp>


#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/checkpoint/safetensors.h"
#include "core/pipeline.h"
#include "train/shapes_trainer.h"
#include "tests/support/temp_dir.h"

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
    const fs::path dir = sf::test::fresh_dir("train");
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

TEST_CASE("trainer: each picture's shape carries the same share of the VAE loss whatever its size", "[unit][train]") {
    // Two pictures on a background of -1: a 4x4 shape and a 20x20 one, each reconstructed with an error of 0.5 on
    // the shape only. Each shape (with its one-pixel rim) then carries fg_share of its picture's loss, so both
    // pictures' losses are equal; a per-pixel weight would make the large one count far more.
    auto x = torch::full({2, 3, 32, 32}, -1.0);
    x[0].slice(1, 10, 14).slice(2, 10, 14).fill_(1.0);
    x[1].slice(1, 5, 25).slice(2, 5, 25).fill_(1.0);
    auto recon = x.clone();
    recon[0].slice(1, 10, 14).slice(2, 10, 14).fill_(0.5);
    recon[1].slice(1, 5, 25).slice(2, 5, 25).fill_(0.5);
    const double err = 0.5 + 0.25;  // L1 + L2 on the shape's pixels
    auto small = sf::train::reconstruction_loss(recon.slice(0, 0, 1), x.slice(0, 0, 1), 0.5).item<double>();
    auto large = sf::train::reconstruction_loss(recon.slice(0, 1, 2), x.slice(0, 1, 2), 0.5).item<double>();
    CHECK(small == Catch::Approx(0.5 * err * 16.0 / 36.0));   // the 4x4 shape inside its 6x6 grown mask
    CHECK(large == Catch::Approx(0.5 * err * 400.0 / 484.0));  // the 20x20 shape inside its 22x22 mask
    auto both = sf::train::reconstruction_loss(recon, x, 0.5).item<double>();
    CHECK(both == Catch::Approx((small + large) / 2));
    // Share 0 is the plain mean over all pixels.
    auto plain = sf::train::reconstruction_loss(recon, x, 0).item<double>();
    CHECK(plain == Catch::Approx(err * (16.0 + 400.0) / (2 * 1024.0)));
}

TEST_CASE("trainer: --init continues a finished model, and a decoder-only VAE run keeps its latent space",
          "[unit][train]") {
    const fs::path dir = sf::test::fresh_dir("train_init");
    sf::train::TrainOptions o;
    o.output = dir / "base.safetensors";
    o.work_dir = dir / "base";
    o.vae_steps = 10;
    o.vae_batch = 2;
    o.steps = 10;
    o.batch = 2;
    o.dataset_size = 8;
    o.save_every = 10;
    o.vae_eval_count = 4;
    sf::train::train_shapes(o);

    sf::train::TrainOptions c = o;
    c.init = o.output;
    c.output = dir / "continued.safetensors";
    c.work_dir = dir / "continued";
    c.vae_steps = 3;
    c.vae_decoder_only = true;
    c.steps = 2;
    c.lr = 0;  // the UNet and text encoder must come out exactly as they went in
    c.mismatch_probability = 1;
    c.seed = 2;  // another dataset: the latent scale must still be the base's
    c.image_size = 96;  // continued at another side, which becomes the model's default size
    sf::train::train_shapes(c);

    auto base = sf::SafetensorsFile::open(o.output);
    auto continued = sf::SafetensorsFile::open(c.output);
    CHECK(continued->metadata().at("sfumato.latent_scale") == base->metadata().at("sfumato.latent_scale"));
    CHECK(continued->metadata().at("sfumato.train.init") == "base.safetensors");
    CHECK(base->metadata().at("sfumato.default_size") == "64");
    CHECK(continued->metadata().at("sfumato.default_size") == "96");
    int encoder = 0, decoder_changed = 0;  // post_quant_conv belongs to the decoding side
    for (const auto& info : base->tensors()) {
        const std::string& name = info.name;
        auto before = base->tensor(name);
        auto after = continued->tensor(name);
        INFO(name);
        const bool same = torch::equal(before, after);
        if (name.rfind("first_stage_model.decoder.", 0) == 0 || name.rfind("first_stage_model.post_quant_conv.", 0) == 0) {
            decoder_changed += !same;
        } else {
            CHECK(same);  // encoder, quant_conv, text encoder, UNet
            encoder += name.rfind("first_stage_model.encoder.", 0) == 0;
        }
    }
    CHECK(encoder > 0);
    CHECK(decoder_changed > 0);
    fs::remove_all(dir);
}

TEST_CASE("trainer: below the mismatch timestep a share of the captions describe another picture", "[unit][train]") {
    std::mt19937 rng(3);
    int other = 0;
    for (int i = 0; i < 1000; ++i) {
        const int low = sf::train::caption_scene(5, 100, 10, 0.5, 400, rng);
        CHECK(low >= 0);
        CHECK(low < 10);
        other += low != 5;
        CHECK(sf::train::caption_scene(5, 400, 10, 0.5, 400, rng) == 5);  // at or above it: always its own
        CHECK(sf::train::caption_scene(5, 100, 10, 0.0, 400, rng) == 5);
    }
    CHECK(other > 400);
    CHECK(other < 600);
    CHECK(sf::train::caption_scene(0, 0, 1, 1.0, 400, rng) == 0);  // one scene: nothing else to describe
}
