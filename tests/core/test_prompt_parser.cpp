// A1111 emphasis parser and 75-token chunker: every case of text/emphasis_cases.json, plus unit cases.
#include <catch2/catch_test_macros.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/json.h"
#include "core/models/prompt_parser.h"
#include "tests/support/conformance.h"

namespace {

sf::json::Value read_cases() {
    std::ifstream f(*sf::test::area_dir("text") / "emphasis_cases.json", std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return sf::json::parse(ss.str());
}

struct Tally {
    std::string what;
    int checked = 0, passed = 0;
    ~Tally() {
        std::cout << "conformance text (" << what << "): " << checked << " checked, " << passed << " passed, "
                  << checked - passed << " failed\n";
    }
};

std::string show(const std::vector<sf::WeightedText>& parsed) {
    std::ostringstream s;
    s.precision(17);
    for (const auto& [t, w] : parsed) {
        s << "['" << t << "', " << w << "] ";
    }
    return s.str();
}

}  // namespace

TEST_CASE("parse_prompt_attention matches emphasis_cases.json", "[conformance][prompt]") {
    SF_REQUIRE_AREA("text");
    auto doc = read_cases();
    Tally tally{"emphasis parse"};
    for (const auto& c : doc.at("parse_cases").items()) {
        const std::string prompt = c.at("prompt").as_string();
        auto ours = sf::parse_prompt_attention(prompt);
        const auto& ref = c.at("parsed");
        bool ok = ours.size() == ref.size();
        for (size_t i = 0; ok && i < ours.size(); ++i) {
            ok = ours[i].first == ref.at(i).at(0).as_string() &&
                 std::abs(ours[i].second - ref.at(i).at(1).as_double()) <= 1e-12;
        }
        tally.checked++;
        tally.passed += ok ? 1 : 0;
        if (!ok) {
            std::cout << "FAILED text/emphasis_cases parse '" << prompt << "': got " << show(ours) << "\n";
            FAIL_CHECK("parse '" << prompt << "': got " << show(ours));
        }
    }
    CHECK(tally.checked > 0);
}

TEST_CASE("chunk_prompt matches emphasis_cases.json chunk cases (both vocabulary layouts)",
          "[conformance][prompt]") {
    SF_REQUIRE_AREA("text");
    auto dir = *sf::test::area_dir("text");
    auto doc = read_cases();
    for (const auto& tok : {sf::CLIPTokenizer::load(dir / "tokenizer"),
                            sf::CLIPTokenizer::load(dir / "bpe_simple_vocab_16e6.txt.gz")}) {
        Tally tally{"emphasis chunks"};
        for (const auto& c : doc.at("chunk_cases").items()) {
            const std::string prompt = c.at("prompt").as_string();
            auto ours = sf::chunk_prompt_f64(tok, prompt);
            auto ours_f = sf::chunk_prompt(tok, prompt);
            const auto& chunks = c.at("chunks");
            std::string why;
            if (ours.token_count != c.at("token_count").as_int()) {
                why += "token_count " + std::to_string(ours.token_count) + "; ";
            }
            if (ours.tokens.size() != chunks.size() || ours_f.tokens.size() != chunks.size()) {
                why += "chunk count " + std::to_string(ours.tokens.size()) + "; ";
            } else {
                for (size_t k = 0; k < chunks.size(); ++k) {
                    const auto& t = chunks.at(k).at("tokens");
                    const auto& m = chunks.at(k).at("multipliers");
                    for (size_t j = 0; j < 77; ++j) {
                        if (ours.tokens[k][j] != t.at(j).as_int()) {
                            why += "chunk " + std::to_string(k) + " token " + std::to_string(j) + "; ";
                            break;
                        }
                        if (std::abs(ours.multipliers[k][j] - m.at(j).as_double()) > 1e-12 ||
                            ours_f.multipliers[k][j] != static_cast<float>(m.at(j).as_double())) {
                            why += "chunk " + std::to_string(k) + " multiplier " + std::to_string(j) + "; ";
                            break;
                        }
                    }
                }
            }
            tally.checked++;
            tally.passed += why.empty() ? 1 : 0;
            if (!why.empty()) {
                std::cout << "FAILED text/emphasis_cases chunks '" << prompt.substr(0, 60) << "': " << why
                          << "\n";
                FAIL_CHECK("chunks '" << prompt.substr(0, 60) << "': " << why);
            }
        }
        CHECK(tally.checked > 0);
    }
}

TEST_CASE("parse_prompt_attention hand cases and malformed input", "[unit][prompt]") {
    using P = std::vector<sf::WeightedText>;
    CHECK(sf::parse_prompt_attention("") == P{{"", 1.0}});
    CHECK(sf::parse_prompt_attention("a BREAK b") == P{{"a", 1.0}, {"BREAK", -1.0}, {"b", 1.0}});
    CHECK(sf::parse_prompt_attention("(a:1.2.3)") == P{{"a:1.2.3", 1.1}});
    CHECK(sf::parse_prompt_attention("(a:.)") == P{{"a:.", 1.1}});
    CHECK(sf::parse_prompt_attention("\\") == P{{"", 1.0}});
    // Never throws, whatever the bytes.
    for (const char* s : {"((((((", "]]]]", ":::)", "\xff\xfe(", "(a:-)", "BREAK", "[(:1)]", "\\\\\\"}) {
        CHECK_NOTHROW(sf::parse_prompt_attention(s));
    }
}

TEST_CASE("chunk_prompt: empty prompt, BREAK and the comma backtrack", "[unit][prompt]") {
    SF_REQUIRE_AREA("text");
    auto tok = sf::CLIPTokenizer::load(*sf::test::area_dir("text") / "tokenizer");
    auto empty = sf::chunk_prompt(tok, "");
    REQUIRE(empty.tokens.size() == 1);
    CHECK(empty.tokens[0][0] == 49406);
    CHECK(empty.tokens[0][1] == 49407);
    CHECK(empty.token_count == 0);
    auto two = sf::chunk_prompt(tok, "a cat BREAK a dog");
    REQUIRE(two.tokens.size() == 2);
    CHECK(two.token_count == 77);
    // 74 words then ", b c": the comma is within 20 of the end, so "b c" ... stays; 80 words force a split.
    std::string p;
    for (int i = 0; i < 70; ++i) {
        p += "a ";
    }
    p += ", ";
    for (int i = 0; i < 10; ++i) {
        p += "b ";
    }
    auto split = sf::chunk_prompt(tok, p);
    REQUIRE(split.tokens.size() == 2);
    CHECK(split.tokens[0][71] == 267);  // the comma closes chunk 0 ...
    CHECK(split.tokens[0][72] == 49407);
    CHECK(split.tokens[1][1] == tok.token_id("b</w>"));  // ... and every "b" moved on
    CHECK(split.token_count == 75 + 10);
    auto emph = sf::chunk_prompt(tok, "(a BREAK b)");
    REQUIRE(emph.tokens.size() == 1);
    CHECK(emph.tokens[0][2] == 2568);
    CHECK(emph.multipliers[0][2] == static_cast<float>(-1.1));
}
