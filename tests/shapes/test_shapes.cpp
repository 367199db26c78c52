#include <catch2/catch_test_macros.hpp>

#include <opencv2/imgproc.hpp>

#include "shapes/shapes.h"

using namespace sf::shapes;

TEST_CASE("shapes: captions parse, including capitals and extra spaces", "[unit][shapes]") {
    auto spec = parse_caption("  A Large   RED circle in the   top left on a Blue background ");
    REQUIRE(spec);
    CHECK(*spec->size == Size::large);
    CHECK(*spec->color == 0);
    CHECK(*spec->shape == Shape::circle);
    CHECK(*spec->position == 0);
    CHECK(*spec->background == 2);

    auto minimal = parse_caption("a green triangle");
    REQUIRE(minimal);
    CHECK_FALSE(minimal->size);
    CHECK_FALSE(minimal->position);
    CHECK_FALSE(minimal->background);
    CHECK(parse_caption("a yellow square at the bottom")->position == 7);
    CHECK(parse_caption("a yellow square at the bottom right")->position == 8);

    CHECK_FALSE(parse_caption("a gray circle"));                          // gray is for backgrounds only
    CHECK_FALSE(parse_caption("a red circle on a red background"));       // colours differ
    CHECK_FALSE(parse_caption("a red hexagon"));
    CHECK_FALSE(parse_caption("a red circle in the middle"));
}

TEST_CASE("shapes: every generated caption is in the grammar and describes its scene", "[unit][shapes]") {
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        auto [scene, text] = random_example(rng);
        auto spec = parse_caption(text);
        REQUIRE(spec);
        CHECK(*spec->shape == scene.shape);
        CHECK(*spec->color == scene.color);
        CHECK(scene.background != scene.color);
        CHECK(caption(*spec) == caption(*parse_caption(caption(*spec))));
    }
}

TEST_CASE("shapes: the detector reads back what the renderer drew", "[unit][shapes]") {
    std::mt19937 rng(11);
    int all = 0;
    const int n = 400;
    for (int i = 0; i < n; ++i) {
        Scene scene = complete({}, rng);
        cv::Mat img = render(scene, 64, rng);
        REQUIRE(img.type() == CV_8UC3);
        REQUIRE(img.rows == 64);
        Spec full{scene.shape, scene.size, scene.color, scene.position, scene.background};
        auto a = score(full, detect(img));
        all += a.all() ? 1 : 0;
        if (!a.all()) {
            UNSCOPED_INFO("missed: " << caption(full) << " shape " << a.shape << " size " << a.size << " color "
                                     << a.color << " pos " << a.position << " bg " << a.background);
        }
    }
    // Ground-truth renders must score (almost) perfectly, or adherence numbers of the model mean nothing.
    CHECK(all >= n * 99 / 100);
}

TEST_CASE("shapes: the detector rejects a blank picture", "[unit][shapes]") {
    cv::Mat blank(64, 64, CV_8UC3, cv::Scalar(40, 80, 220));
    CHECK_FALSE(detect(blank).found);
}
