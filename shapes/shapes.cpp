#include "shapes/shapes.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace sf::shapes {

const std::array<Color, 9>& palette() {
    static const std::array<Color, 9> colors = {{
        {"red", 220, 40, 40},
        {"green", 40, 170, 70},
        {"blue", 40, 80, 220},
        {"yellow", 240, 210, 40},
        {"purple", 140, 60, 180},
        {"orange", 245, 140, 30},
        {"white", 245, 245, 245},
        {"black", 25, 25, 25},
        {"gray", 128, 128, 128},
    }};
    return colors;
}

const std::array<const char*, 9>& position_names() {
    static const std::array<const char*, 9> names = {"top left", "top",         "top right", "left",        "center",
                                                     "right",    "bottom left", "bottom",    "bottom right"};
    return names;
}

const std::array<const char*, 3>& shape_names() {
    static const std::array<const char*, 3> names = {"circle", "square", "triangle"};
    return names;
}

namespace {

std::vector<std::string> words_of(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isspace(c) || c == ',' || c == '.') {
            if (!cur.empty()) {
                out.push_back(cur);
                cur.clear();
            }
        } else {
            cur += static_cast<char>(std::tolower(c));
        }
    }
    if (!cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

std::optional<int> color_index(const std::string& word, bool allow_gray) {
    for (int i = 0; i < static_cast<int>(palette().size()); ++i) {
        if (word == palette()[i].name && (allow_gray || i != kGray)) {
            return i;
        }
    }
    if (allow_gray && word == "grey") {
        return kGray;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Spec> parse_caption(const std::string& text) {
    auto w = words_of(text);
    size_t i = 0;
    auto at = [&](size_t k) -> std::string { return k < w.size() ? w[k] : std::string(); };
    Spec spec;
    if (at(i) == "a" || at(i) == "an") {
        ++i;
    }
    if (at(i) == "small" || at(i) == "large") {
        spec.size = at(i) == "small" ? Size::small : Size::large;
        ++i;
    }
    spec.color = color_index(at(i), false);
    if (!spec.color) {
        return std::nullopt;
    }
    ++i;
    for (int s = 0; s < 3; ++s) {
        if (at(i) == shape_names()[s]) {
            spec.shape = static_cast<Shape>(s);
        }
    }
    if (!spec.shape) {
        return std::nullopt;
    }
    ++i;
    if ((at(i) == "in" || at(i) == "at") && at(i + 1) == "the") {
        i += 2;
        // Longest match first: "top left" before "top".
        for (int len = 2; len >= 1 && !spec.position; --len) {
            std::string phrase = at(i);
            if (len == 2) {
                phrase += " " + at(i + 1);
            }
            for (int p = 0; p < 9; ++p) {
                if (phrase == position_names()[p]) {
                    spec.position = p;
                    i += len;
                    break;
                }
            }
        }
        if (!spec.position) {
            return std::nullopt;
        }
    }
    if (at(i) == "on" && (at(i + 1) == "a" || at(i + 1) == "an") && at(i + 3) == "background") {
        spec.background = color_index(at(i + 2), true);
        if (!spec.background || *spec.background == spec.color) {
            return std::nullopt;
        }
        i += 4;
    }
    if (i != w.size()) {
        return std::nullopt;
    }
    return spec;
}

std::string caption(const Spec& spec, bool use_at) {
    std::string out = "a";
    if (spec.size) {
        out += *spec.size == Size::small ? " small" : " large";
    }
    out += std::string(" ") + palette()[spec.color.value_or(0)].name;
    out += std::string(" ") + shape_names()[static_cast<int>(spec.shape.value_or(Shape::circle))];
    if (spec.position) {
        out += std::string(use_at ? " at the " : " in the ") + position_names()[*spec.position];
    }
    if (spec.background) {
        out += std::string(" on a ") + palette()[*spec.background].name + " background";
    }
    return out;
}

Scene complete(const Spec& spec, std::mt19937& rng) {
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    Scene s;
    s.shape = spec.shape.value_or(static_cast<Shape>(pick(3)));
    s.size = spec.size.value_or(static_cast<Size>(pick(2)));
    s.color = spec.color.value_or(pick(kShapeColors));
    s.position = spec.position.value_or(pick(9));
    if (spec.background && *spec.background != s.color) {
        s.background = *spec.background;
    } else {
        do {
            s.background = pick(static_cast<int>(palette().size()));
        } while (s.background == s.color);
    }
    return s;
}

std::pair<Scene, std::string> random_example(std::mt19937& rng) {
    std::bernoulli_distribution half(0.5);
    Spec full;
    Scene scene = complete(full, rng);
    Spec said;
    said.shape = scene.shape;
    said.color = scene.color;
    if (half(rng)) {
        said.size = scene.size;
    }
    if (std::bernoulli_distribution(0.7)(rng)) {
        said.position = scene.position;
    }
    if (half(rng)) {
        said.background = scene.background;
    }
    return {scene, caption(said, half(rng))};
}

cv::Mat render(const Scene& scene, int side, std::mt19937& rng) {
    constexpr int kSuper = 4;  // draw at 4x, then area-downsample: mild antialiasing
    const int big = side * kSuper;
    const auto& bg = palette()[scene.background];
    const auto& fg = palette()[scene.color];
    cv::Mat canvas(big, big, CV_8UC3, cv::Scalar(bg.r, bg.g, bg.b));
    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    const double extent = (scene.size == Size::small ? 0.15 : 0.35) * (1.0 + 0.08 * jitter(rng)) * big;
    const int col = scene.position % 3;
    const int row = scene.position / 3;
    double cx = (col + 0.5) / 3.0 * big + 0.04 * big * jitter(rng);
    double cy = (row + 0.5) / 3.0 * big + 0.04 * big * jitter(rng);
    const double half = extent / 2;
    cx = std::clamp(cx, half, big - half);
    cy = std::clamp(cy, half, big - half);
    const cv::Scalar color(fg.r, fg.g, fg.b);
    switch (scene.shape) {
        case Shape::circle:
            cv::circle(canvas, cv::Point(cvRound(cx), cvRound(cy)), cvRound(half), color, cv::FILLED, cv::LINE_AA);
            break;
        case Shape::square:
            cv::rectangle(canvas, cv::Point(cvRound(cx - half), cvRound(cy - half)),
                          cv::Point(cvRound(cx + half), cvRound(cy + half)), color, cv::FILLED, cv::LINE_AA);
            break;
        case Shape::triangle: {  // apex up, equilateral-ish, centred on its bounding box
            std::vector<cv::Point> pts = {cv::Point(cvRound(cx), cvRound(cy - half)),
                                          cv::Point(cvRound(cx + half), cvRound(cy + half)),
                                          cv::Point(cvRound(cx - half), cvRound(cy + half))};
            cv::fillConvexPoly(canvas, pts, color, cv::LINE_AA);
            break;
        }
    }
    cv::Mat out;
    cv::resize(canvas, out, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    return out;
}

Detection detect(const cv::Mat& rgb) {
    Detection d;
    const int h = rgb.rows;
    const int w = rgb.cols;
    // Background: the per-channel median of the border pixels.
    std::array<std::vector<int>, 3> border;
    for (int x = 0; x < w; ++x) {
        for (int y : {0, h - 1}) {
            auto p = rgb.at<cv::Vec3b>(y, x);
            for (int c = 0; c < 3; ++c) {
                border[c].push_back(p[c]);
            }
        }
    }
    for (int y = 0; y < h; ++y) {
        for (int x : {0, w - 1}) {
            auto p = rgb.at<cv::Vec3b>(y, x);
            for (int c = 0; c < 3; ++c) {
                border[c].push_back(p[c]);
            }
        }
    }
    cv::Vec3d bg;
    for (int c = 0; c < 3; ++c) {
        std::nth_element(border[c].begin(), border[c].begin() + border[c].size() / 2, border[c].end());
        bg[c] = border[c][border[c].size() / 2];
    }
    auto nearest = [](const cv::Vec3d& v, bool allow_gray) {
        int best = -1;
        double best_d = 1e18;
        for (int i = 0; i < static_cast<int>(palette().size()); ++i) {
            if (!allow_gray && i == kGray) {
                continue;
            }
            const auto& p = palette()[i];
            double dd = std::pow(v[0] - p.r, 2) + std::pow(v[1] - p.g, 2) + std::pow(v[2] - p.b, 2);
            if (dd < best_d) {
                best_d = dd;
                best = i;
            }
        }
        return best;
    };
    d.background = nearest(bg, true);
    // Foreground: pixels far from the background colour.
    cv::Mat mask(h, w, CV_8U, cv::Scalar(0));
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            auto p = rgb.at<cv::Vec3b>(y, x);
            double dd = std::sqrt(std::pow(p[0] - bg[0], 2) + std::pow(p[1] - bg[1], 2) + std::pow(p[2] - bg[2], 2));
            mask.at<uint8_t>(y, x) = dd > 60 ? 255 : 0;
        }
    }
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
    if (contours.empty()) {
        return d;
    }
    auto largest = std::max_element(contours.begin(), contours.end(), [](const auto& a, const auto& b) {
        return cv::contourArea(a) < cv::contourArea(b);
    });
    const double area = cv::contourArea(*largest);
    if (area < 4) {
        return d;
    }
    d.found = true;
    cv::Mat shape_mask(h, w, CV_8U, cv::Scalar(0));
    cv::drawContours(shape_mask, contours, static_cast<int>(largest - contours.begin()), cv::Scalar(255), cv::FILLED);
    cv::Mat inner;
    cv::erode(shape_mask & mask, inner, cv::Mat(), cv::Point(-1, -1), 1);
    if (cv::countNonZero(inner) == 0) {
        inner = shape_mask & mask;
    }
    cv::Scalar mean = cv::mean(rgb, inner);
    d.color = nearest(cv::Vec3d(mean[0], mean[1], mean[2]), false);

    cv::Moments m = cv::moments(*largest);
    const double cx = m.m10 / m.m00;
    const double cy = m.m01 / m.m00;
    const int col = std::clamp(static_cast<int>(cx / w * 3), 0, 2);
    const int row = std::clamp(static_cast<int>(cy / h * 3), 0, 2);
    d.position = row * 3 + col;

    // Pixel counts, not the contour polygon's area: the polygon runs through pixel centres and
    // under-counts small shapes by a pixel on each side.
    const double pixels = cv::countNonZero(shape_mask & mask);
    d.extent = std::sqrt(pixels) / w;
    cv::Rect box = cv::boundingRect(*largest);
    const double fill = pixels / std::max(1.0, static_cast<double>(box.width) * box.height);
    // Fill ratio of the bounding box: square ~1.0, circle ~0.785, triangle ~0.5.
    if (fill > 0.88) {
        d.shape = Shape::square;
    } else if (fill > 0.69) {
        d.shape = Shape::circle;
    } else {
        d.shape = Shape::triangle;
    }
    // Size by the bounding box side (independent of the shape's fill): small ~0.15, large ~0.35 of the side.
    const double side = std::sqrt(static_cast<double>(box.width) * box.height) / w;
    d.size = side < 0.25 ? Size::small : Size::large;
    return d;
}

Adherence score(const Spec& asked, const Detection& got) {
    Adherence a;
    if (!got.found) {
        return a;
    }
    a.shape = !asked.shape || *asked.shape == got.shape;
    a.size = !asked.size || *asked.size == got.size;
    a.color = !asked.color || *asked.color == got.color;
    a.position = !asked.position || *asked.position == got.position;
    a.background = !asked.background || *asked.background == got.background;
    return a;
}

std::vector<std::string> vocabulary() {
    std::vector<std::string> v = {"a", "an", "small", "large", "in", "at", "the", "on", "background"};
    for (const auto& c : palette()) {
        v.emplace_back(c.name);
    }
    for (const char* s : shape_names()) {
        v.emplace_back(s);
    }
    for (const char* p : {"top", "bottom", "left", "right", "center"}) {
        v.emplace_back(p);
    }
    return v;
}

}  // namespace sf::shapes
