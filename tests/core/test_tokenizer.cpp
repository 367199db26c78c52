// CLIP tokenizer: every case of text/tokenizer_cases.json with both vocabulary layouts, plus unit cases.

#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/inflate.h"
#include "core/json.h"
#include "core/models/tokenizer.h"
#include "core/unicode.h"
#include "tests/support/conformance.h"
#include "tests/support/temp_dir.h"

namespace {

using sf::CLIPTokenizer;

std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<int> ints(const sf::json::Value& v) {
    std::vector<int> out;
    for (const auto& x : v.items()) {
        out.push_back(static_cast<int>(x.as_int()));
    }
    return out;
}

std::string join(const std::vector<int>& v) {
    std::string s;
    for (int x : v) {
        s += std::to_string(x) + " ";
    }
    return s;
}

// Cases whose ftfy behaviour we do not reproduce (by prompt); empty while every case passes. A listed case
// that passes is only reported.
const std::set<std::string> kKnownExceptions = {};

// Tally in the AreaRun format for JSON cases.
struct Tally {
    std::string what;
    int checked = 0, passed = 0, known = 0;
    ~Tally() {
        std::cout << "conformance text (" << what << "): " << checked << " checked, " << passed << " passed, "
                  << checked - passed << " failed";
        if (known > 0) {
            std::cout << " (" << known << " known exceptions)";
        }
        std::cout << '\n';
    }
};

void run_cases(const CLIPTokenizer& tok, const std::string& layout) {
    auto dir = sf::test::area_dir("text");
    auto doc = sf::json::parse(read_text(*dir / "tokenizer_cases.json"));
    const auto& cases = doc.at("cases");
    REQUIRE(cases.size() > 0);
    Tally tally{"tokenizer, " + layout};
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases.at(i);
        const std::string prompt = c.at("prompt").as_string();
        const std::string label = "case " + std::to_string(i) + " [" + c.at("category").as_string() + "]";
        std::vector<std::string> problems;
        const std::string cleaned = CLIPTokenizer::clean(prompt);
        if (cleaned != c.at("cleaned").as_string()) {
            problems.push_back("cleaned '" + cleaned + "' != '" + c.at("cleaned").as_string() + "'");
        }
        std::vector<std::string> bpe_ref;
        for (const auto& b : c.at("bpe").items()) {
            bpe_ref.push_back(b.as_string());
        }
        if (tok.tokenize(prompt) != bpe_ref) {
            problems.push_back("bpe differs");
        }
        auto ids = tok.encode(prompt);
        if (ids != ints(c.at("ids"))) {
            problems.push_back("ids " + join(ids) + "!= " + join(ints(c.at("ids"))));
        }
        auto eot = tok.encode_77(prompt, sf::FixedForm::clip_l());
        if (std::vector<int>(eot.begin(), eot.end()) != ints(c.at("ids_77_pad_eot"))) {
            problems.push_back("ids_77_pad_eot differs");
        }
        auto zero = tok.encode_77(prompt, sf::FixedForm::open_clip());
        if (std::vector<int>(zero.begin(), zero.end()) != ints(c.at("ids_77_pad_zero"))) {
            problems.push_back("ids_77_pad_zero differs");
        }
        if (const auto* oc = c.find("ids_open_clip")) {
            if (tok.encode(prompt, false) != ints(*oc)) {
                problems.push_back("ids_open_clip differs");
            }
        }
        const bool known = kKnownExceptions.count(prompt) > 0;
        tally.checked++;
        if (problems.empty()) {
            tally.passed++;
            if (known) {
                std::cout << "note: known exception now passes: " << label << '\n';
            }
            continue;
        }
        std::string msg = label + " " + prompt + ": ";
        for (const auto& p : problems) {
            msg += p + "; ";
        }
        if (known) {
            tally.known++;
            std::cout << "known exception (ftfy behaviour not reproduced): " << msg << '\n';
            continue;
        }
        std::cout << "FAILED text/tokenizer_cases " << msg << '\n';
        FAIL_CHECK(msg);
    }
}

}  // namespace

TEST_CASE("CLIP tokenizer matches tokenizer_cases.json (vocab.json + merges.txt)",
          "[conformance][tokenizer]") {
    SF_REQUIRE_AREA("text");
    auto dir = *sf::test::area_dir("text");
    auto t0 = std::chrono::steady_clock::now();
    auto tok = CLIPTokenizer::load(dir / "tokenizer");
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "tokenizer: vocab.json + merges.txt loaded in " << ms << " ms\n";
    CHECK(tok.vocab_size() == 49408);
    run_cases(tok, "vocab.json + merges.txt");
}

TEST_CASE("CLIP tokenizer matches tokenizer_cases.json (bpe_simple_vocab_16e6.txt.gz)",
          "[conformance][tokenizer]") {
    SF_REQUIRE_AREA("text");
    auto dir = *sf::test::area_dir("text");
    auto t0 = std::chrono::steady_clock::now();
    auto tok = CLIPTokenizer::from_bpe_gz(dir / "bpe_simple_vocab_16e6.txt.gz");
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "tokenizer: bpe_simple_vocab_16e6.txt.gz loaded in " << ms << " ms\n";
    CHECK(tok.vocab_size() == 49408);
    run_cases(tok, "bpe_simple_vocab_16e6.txt.gz");

    // Both layouts describe the same vocabulary.
    auto other = CLIPTokenizer::load(dir / "tokenizer");
    int mismatches = 0;
    for (int id = 0; id < 49408; ++id) {
        mismatches += tok.token_text(id) != other.token_text(id) ? 1 : 0;
    }
    CHECK(mismatches == 0);

    // Speed: a 77-token prompt well under a millisecond once loaded (cold cache: fresh words each time).
    std::string prompt;
    for (int i = 0; i < 70; ++i) {
        prompt += "word" + std::to_string(i * 7919 % 1000) + "x ";
    }
    auto t_cold = std::chrono::steady_clock::now();
    tok.encode(prompt);
    auto cold = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_cold).count();
    std::cout << "tokenizer: first encode of a 70-word prompt (cold BPE cache) takes " << cold << " ms\n";
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
        tok.encode_77(prompt);
    }
    auto per = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count() / 100;
    std::cout << "tokenizer: encode_77 of a long prompt takes " << per << " ms\n";
    CHECK(per < 5.0);  // typically ~0.2 ms; loose so a loaded CI machine does not fail it
}

TEST_CASE("CLIP tokenizer unit cases", "[unit][tokenizer]") {
    SF_REQUIRE_AREA("text");
    auto tok = CLIPTokenizer::load(*sf::test::area_dir("text") / "tokenizer");
    CHECK(tok.encode("a photo of a cat") == std::vector<int>{320, 1125, 539, 320, 2368});
    CHECK(tok.encode("").empty());
    CHECK(tok.token_id(",</w>") == 267);
    CHECK(tok.encode("<|endoftext|>") == std::vector<int>{49407});
    // Truncation keeps 75 prompt tokens and always ends with EOT.
    std::string many;
    for (int i = 0; i < 100; ++i) {
        many += "a ";
    }
    auto t = tok.encode_77(many);
    CHECK(t[0] == 49406);
    CHECK(t[75] == 320);
    CHECK(t[76] == 49407);
    auto z = tok.encode_77("a", sf::FixedForm::open_clip());
    CHECK(z[2] == 49407);
    CHECK(z[3] == 0);
    CHECK(CLIPTokenizer::clean("  Caf\xC3\xA9   &amp;amp;  ") == "caf\xC3\xA9 &");
}

TEST_CASE("find_tokenizer looks next to the model, then in the user folder, else says where",
          "[unit][tokenizer]") {
    SF_REQUIRE_AREA("text");
    namespace fs = std::filesystem;
    auto tmp = sf::test::fresh_dir("tokenizer");
    fs::create_directories(tmp / "models" / "tokenizer");
    fs::create_directories(tmp / "empty");
    fs::create_directories(tmp / "xdg");
    auto src = *sf::test::area_dir("text") / "tokenizer";
    fs::copy_file(src / "vocab.json", tmp / "models" / "tokenizer" / "vocab.json");
    fs::copy_file(src / "merges.txt", tmp / "models" / "tokenizer" / "merges.txt");
    const char* old = std::getenv("XDG_DATA_HOME");
    std::string saved = old ? old : "";
    ::setenv("XDG_DATA_HOME", (tmp / "xdg").c_str(), 1);
    CHECK(sf::user_tokenizer_dir() == tmp / "xdg" / "sfumato" / "tokenizer");
    CHECK(sf::find_tokenizer(tmp / "models" / "model.safetensors").vocab_size() == 49408);
    try {
        sf::find_tokenizer(tmp / "empty" / "model.safetensors");
        FAIL("expected sf::Error");
    } catch (const sf::Error& e) {
        std::string msg = e.what();
        CHECK(msg.find("vocab.json") != std::string::npos);
        CHECK(msg.find("bpe_simple_vocab_16e6.txt.gz") != std::string::npos);
        CHECK(msg.find((tmp / "xdg" / "sfumato" / "tokenizer").string()) != std::string::npos);
    }
    fs::create_directories(tmp / "xdg" / "sfumato" / "tokenizer");
    fs::copy_file(*sf::test::area_dir("text") / "bpe_simple_vocab_16e6.txt.gz",
                  tmp / "xdg" / "sfumato" / "tokenizer" / "bpe_simple_vocab_16e6.txt.gz");
    CHECK(sf::find_tokenizer(tmp / "empty" / "model.safetensors").vocab_size() == 49408);
    if (old) {
        ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
    } else {
        ::unsetenv("XDG_DATA_HOME");
    }
    fs::remove_all(tmp);
}

TEST_CASE("gunzip rejects malformed input without reading out of bounds", "[unit][tokenizer]") {
    SF_REQUIRE_AREA("text");
    std::string gz = read_text(*sf::test::area_dir("text") / "bpe_simple_vocab_16e6.txt.gz");
    auto bytes = [](const std::string& s) {
        return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    std::string text = sf::gunzip(bytes(gz));
    CHECK(text.rfind("\"bpe_simple_vocab_16e6.txt#version: 0.2\n", 0) == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') >= 262144);
    // Truncations, bit flips and garbage must throw sf::Error, never crash.
    for (size_t cut :
         {size_t{0}, size_t{5}, size_t{10}, size_t{11}, size_t{100}, gz.size() / 2, gz.size() - 4}) {
        CHECK_THROWS_AS(sf::gunzip(bytes(gz.substr(0, cut))), sf::Error);
    }
    // Bit flips anywhere past the header: a Huffman error, a bad distance, or a CRC-32 / size mismatch.
    uint32_t state = 12345;
    int threw = 0;
    for (int trial = 0; trial < 12; ++trial) {
        std::string bad = gz;
        for (int k = 0; k < 1 + trial % 3; ++k) {
            state = state * 1664525u + 1013904223u;
            size_t at = 64 + state % (bad.size() - 72);
            bad[at] = static_cast<char>(bad[at] ^ (1 << (state >> 29)));
        }
        try {
            sf::gunzip(bytes(bad));
        } catch (const sf::Error&) {
            ++threw;
        }
    }
    CHECK(threw == 12);
    std::string garbage(300, '\xff');
    CHECK_THROWS_AS(sf::inflate_raw(bytes(garbage)), sf::Error);
    // A stored block: "hi".
    const uint8_t stored[] = {0x01, 0x02, 0x00, 0xFD, 0xFF, 'h', 'i'};
    CHECK(sf::inflate_raw(std::span<const uint8_t>(stored)) == "hi");
}

TEST_CASE("unicode helpers: lower, NFC, classes", "[unit][tokenizer]") {
    using namespace sf::unicode;
    CHECK(encode_utf8(to_lower(decode_utf8("\xC4\xB0"))) == "i\xCC\x87");  // İ -> i + U+0307
    CHECK(encode_utf8(to_lower(decode_utf8("\xCE\xA3\xCE\x91\xCE\xA3"))) ==
          "\xCF\x83\xCE\xB1\xCF\x82");  // ΣΑΣ -> σας
    CHECK(encode_utf8(compose_nfc(decode_utf8("e\xCC\x81"))) == "\xC3\xA9");
    CHECK(is_letter(U'\u732B'));
    CHECK(is_number(U'\u00BD'));
    CHECK(!is_letter(U'\u0947'));
    CHECK(is_space(U'\u3000'));
    CHECK(decode_utf8("\xC3") == std::u32string(1, 0xFFFD));
    CHECK(decode_utf8("\xED\xA0\x80").size() == 3);  // surrogate bytes are invalid
}
