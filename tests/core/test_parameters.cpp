#include <catch2/catch_test_macros.hpp>

#include "core/parameters.h"

using sf::GenerateRequest;
using sf::InfotextInfo;
using sf::parse_parameters;

TEST_CASE("parameters: A1111 1.x infotext with old-style sampler name", "[unit]") {
    // As A1111 1.6 wrote it (schedule inside the sampler name, no Schedule type).
    const char* text =
        "girl with an artist's beret, determined, blue eyes, desert scene, (coquettish), detailed\n"
        "Negative prompt: ugly, fat, (((deformed))), [blurry], bad anatomy\n"
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 965400086, Size: 512x768, "
        "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Clip skip: 2, ENSD: 31337, Version: v1.6.0";
    auto p = parse_parameters(text);
    CHECK(p.request.prompt ==
          "girl with an artist's beret, determined, blue eyes, desert scene, (coquettish), detailed");
    CHECK(p.request.negative_prompt == "ugly, fat, (((deformed))), [blurry], bad anatomy");
    CHECK(p.request.steps == 30);
    CHECK(p.request.sampler == "DPM++ 2M");
    CHECK(p.request.schedule == "Karras");
    CHECK(p.request.cfg_scale == 7.5);
    CHECK(p.request.seed == 965400086);
    CHECK(p.request.width == 512);
    CHECK(p.request.height == 768);
    CHECK(p.request.clip_skip == 2);
    CHECK(p.info.model_hash == "6ce0161689");
    CHECK(p.info.model_name == "v1-5-pruned-emaonly");
    CHECK(p.info.version == "v1.6.0");
    CHECK_FALSE(p.img2img);
    REQUIRE(p.extra.size() == 1);
    CHECK(p.extra.at("ENSD") == "31337");
}

TEST_CASE("parameters: A1111 1.9+ infotext with quoted values and img2img", "[unit]") {
    const char* text =
        "a castle\non a hill\n"
        "Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 1, Size: 768x512, "
        "Model hash: e6e99610c4, Model: sd_xl_base_1.0, Denoising strength: 0.6, "
        "Lora hashes: \"add_detail: 7c6bad76eb54, x: 1\", Hires upscaler: Latent, Version: v1.10.1";
    auto p = parse_parameters(text);
    CHECK(p.request.prompt == "a castle\non a hill");
    CHECK(p.request.negative_prompt.empty());
    CHECK(p.request.sampler == "Euler a");
    CHECK(p.request.schedule == "Automatic");
    CHECK(p.request.cfg_scale == 7);
    CHECK(p.request.width == 768);
    CHECK(p.request.height == 512);
    CHECK(p.img2img);
    CHECK(p.request.strength == 0.6);
    CHECK(p.request.clip_skip == 1);
    CHECK(p.extra.at("Lora hashes") == "add_detail: 7c6bad76eb54, x: 1");
    CHECK(p.extra.at("Hires upscaler") == "Latent");
}

TEST_CASE("parameters: a last line with fewer than 3 pairs belongs to the prompt", "[unit]") {
    auto p = parse_parameters("portrait, style: baroque\nNegative prompt: text: none, watermark");
    CHECK(p.request.prompt == "portrait, style: baroque");
    CHECK(p.request.negative_prompt == "text: none, watermark");
    CHECK(p.extra.empty());
    CHECK(p.request.steps == GenerateRequest{}.steps);

    auto q = parse_parameters("Steps: 5, Sampler: Euler, Seed: 3");  // empty prompt
    CHECK(q.request.prompt.empty());
    CHECK(q.request.steps == 5);
    CHECK(q.request.seed == 3);
}

TEST_CASE("parameters: unreadable values stay in extra", "[unit]") {
    auto p = parse_parameters("x\nSteps: many, Sampler: Euler, Size: big, Seed: 9");
    CHECK(p.request.steps == GenerateRequest{}.steps);
    CHECK(p.extra.at("Steps") == "many");
    CHECK(p.extra.at("Size") == "big");
    CHECK(p.request.seed == 9);
}

TEST_CASE("parameters: quote and unquote follow A1111", "[unit]") {
    CHECK(sf::quote_parameter("Euler a") == "Euler a");
    CHECK(sf::quote_parameter("a, b") == "\"a, b\"");
    CHECK(sf::quote_parameter("k: v") == "\"k: v\"");
    CHECK(sf::quote_parameter("line\nbreak \"q\"") == "\"line\\nbreak \\\"q\\\"\"");
    CHECK(sf::quote_parameter("\xE7\x8C\xAB, \xF0\x9F\x90\xB1") == "\"\xE7\x8C\xAB, \xF0\x9F\x90\xB1\"");  // UTF-8 kept
    CHECK(sf::unquote_parameter("\"a, b\"") == "a, b");
    CHECK(sf::unquote_parameter("plain") == "plain");
    CHECK(sf::unquote_parameter("\"broken") == "\"broken");
}

TEST_CASE("parameters: re_param needs keys of two or more characters", "[unit]") {
    auto pairs = sf::split_parameter_line("Ab: 1, B b: \"x, \\\"y\\\"\", C-d/e: , Fg:\"\"");
    REQUIRE(pairs.size() == 4);
    CHECK(pairs[0].first == "Ab");
    CHECK(pairs[0].second == "1");
    CHECK(pairs[1].first == "B b");
    CHECK(pairs[1].second == "x, \"y\"");
    CHECK(pairs[2].first == "C-d/e");
    CHECK(pairs[2].second.empty());
    CHECK(pairs[3].first == "Fg");
    CHECK(pairs[3].second.empty());
}

TEST_CASE("parameters: format writes A1111's order and reads back", "[unit]") {
    GenerateRequest r;
    r.prompt = "a fox, \"golden hour\"\nsecond line: more";
    r.negative_prompt = "blurry, lowres";
    r.steps = 25;
    r.cfg_scale = 6.5;
    r.sampler = "DPM++ 2M";
    r.schedule = "Karras";
    r.seed = 1234;
    r.width = 640;
    r.height = 448;
    r.clip_skip = 2;
    InfotextInfo info{.model_hash = "0123456789",
                      .model_name = "my, model",
                      .version = "sfumato 0.1.0",
                      .device = "cpu",
                      .dtype = "fp32",
                      .seed_mode = "cpu",
                      .attention = "math",
                      .torch_version = "1.13.0"};
    auto text = sf::format_parameters(r, info);
    CHECK(text ==
          "a fox, \"golden hour\"\nsecond line: more\n"
          "Negative prompt: blurry, lowres\n"
          "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, Size: 640x448, "
          "Model hash: 0123456789, Model: \"my, model\", Clip skip: 2, Version: sfumato 0.1.0, Device: cpu, "
          "Dtype: fp32, Seed mode: cpu, Attention: math, Libtorch: 1.13.0");
    auto p = parse_parameters(text);
    CHECK(p.request.prompt == r.prompt);
    CHECK(p.request.negative_prompt == r.negative_prompt);
    CHECK(p.request.steps == 25);
    CHECK(p.request.cfg_scale == 6.5);
    CHECK(p.request.sampler == "DPM++ 2M");
    CHECK(p.request.schedule == "Karras");
    CHECK(p.request.seed == 1234);
    CHECK(p.request.width == 640);
    CHECK(p.request.height == 448);
    CHECK(p.request.clip_skip == 2);
    CHECK(p.info.model_hash == info.model_hash);
    CHECK(p.info.model_name == info.model_name);
    CHECK(p.info.version == info.version);
    CHECK(p.info.device == "cpu");
    CHECK(p.info.dtype == "fp32");
    CHECK(p.info.seed_mode == "cpu");
    CHECK(p.info.attention == "math");
    CHECK(p.info.torch_version == "1.13.0");
    CHECK(p.extra.empty());
}

TEST_CASE("parameters: batch images carry their own seed and guidance scale; img2img adds strength", "[unit]") {
    GenerateRequest r;
    r.prompt = "cat";
    r.seed = 10;
    r.batch_size = 3;
    auto t2 = sf::format_parameters(r, {}, 2);
    CHECK(t2 == "cat\nSteps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 12, Size: 512x512");
    r.seeds = {5, 6, 7};
    r.cfg_scales = {3, 5, 7.5};
    auto p = parse_parameters(sf::format_parameters(r, {}, 2));
    CHECK(p.request.seed == 7);
    CHECK(p.request.cfg_scale == 7.5);

    r.init_image_path = "in.png";
    r.strength = 0.75;
    r.fit = "fit";
    auto q = parse_parameters(sf::format_parameters(r, {}, 0));
    CHECK(q.img2img);
    CHECK(q.request.strength == 0.75);
    CHECK(q.request.fit == "fit");
}

TEST_CASE("parameters: format_number is the shortest round trip", "[unit]") {
    CHECK(sf::format_number(7) == "7");
    CHECK(sf::format_number(7.5) == "7.5");
    CHECK(sf::format_number(0.75) == "0.75");
    CHECK(sf::format_number(0.1) == "0.1");
}
