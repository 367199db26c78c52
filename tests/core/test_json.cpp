#include <catch2/catch_test_macros.hpp>

#include "core/error.h"
#include "core/json.h"

using sf::json::parse;

TEST_CASE("json parses objects, arrays, numbers and escapes", "[unit]") {
    auto v = parse(R"({"a": [1, -2.5, 3e2, true, null], "s": "x\u00e9\ud83d\ude00\n", "big": 123456789012})");
    REQUIRE(v.at("a").size() == 5);
    CHECK(v.at("a").at(0).as_int() == 1);
    CHECK(v.at("a").at(1).as_double() == -2.5);
    CHECK(v.at("a").at(2).as_double() == 300.0);
    CHECK(v.at("a").at(3).as_bool());
    CHECK(v.at("a").at(4).is_null());
    CHECK(v.at("s").as_string() == "x\xC3\xA9\xF0\x9F\x98\x80\n");
    CHECK(v.at("big").as_int() == 123456789012);
    CHECK(parse(sf::json::dump(v)).at("s").as_string() == v.at("s").as_string());
}

TEST_CASE("json rejects malformed documents with a position", "[unit]") {
    CHECK_THROWS_AS(parse("{"), sf::Error);
    CHECK_THROWS_AS(parse(R"({"a":1,})"), sf::Error);
    CHECK_THROWS_AS(parse(R"({"a":1} x)"), sf::Error);
    CHECK_THROWS_AS(parse(R"({"a":1,"a":2})"), sf::Error);
    CHECK_THROWS_AS(parse("\"\xC3\x28\""), sf::Error);  // invalid UTF-8
    CHECK_THROWS_AS(parse(R"("\ud800")"), sf::Error);    // lone surrogate
    CHECK_THROWS_AS(parse("01"), sf::Error);
    CHECK_THROWS_AS(parse(std::string(100000, '[')), sf::Error);  // nesting, no stack overflow
}
