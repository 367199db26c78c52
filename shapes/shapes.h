// "Sfumato Shapes": the procedural world the embedded default model is trained on — one shape on a plain
// background, with a caption naming what is drawn — and the OpenCV detector that scores generated pictures.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sf::shapes {

enum class Shape { circle, square, triangle };
enum class Size { small, large };

struct Color {
    const char* name;
    uint8_t r, g, b;
};

/// The palette (sRGB). The last entry, gray, is for backgrounds only.
const std::array<Color, 9>& palette();
constexpr int kShapeColors = 8;  ///< palette()[0..7] may colour a shape
constexpr int kGray = 8;
/// "top left", "top", ..., "bottom right" (row-major 3x3 grid).
const std::array<const char*, 9>& position_names();
const std::array<const char*, 3>& shape_names();

/// A complete description of one picture.
struct Scene {
    Shape shape = Shape::circle;
    Size size = Size::large;
    int color = 0;       ///< palette index < kShapeColors
    int position = 4;    ///< 0..8, row-major; 4 = center
    int background = 8;  ///< palette index, != color
};

/// What a caption says; unset parts are drawn at random.
struct Spec {
    std::optional<Shape> shape;
    std::optional<Size> size;
    std::optional<int> color;
    std::optional<int> position;
    std::optional<int> background;
};

/// Parses "a [small|large] <color> <shape> [in the|at the <position>] [on a <color> background]",
/// case-insensitive, extra spaces allowed. Returns nullopt when the text is not in the grammar.
std::optional<Spec> parse_caption(const std::string& text);
/// The caption for a spec (only the parts that are set; shape and color are required).
std::string caption(const Spec& spec, bool use_at = false);
/// Fills every unset part at random (background always differs from the shape color).
Scene complete(const Spec& spec, std::mt19937& rng);
/// A random scene and a caption that names a random subset of its parts (shape and color always).
std::pair<Scene, std::string> random_example(std::mt19937& rng);

/// Draws the scene as an RGB CV_8UC3 image (side x side), antialiased, with slight jitter of position and size.
cv::Mat render(const Scene& scene, int side, std::mt19937& rng);

/// What the detector reads off a picture.
struct Detection {
    bool found = false;
    Shape shape = Shape::circle;
    Size size = Size::small;
    int color = -1;
    int position = -1;
    int background = -1;
    double extent = 0;  ///< sqrt(foreground area) / side
};
/// Background colour from the border, foreground mask, nearest palette colour, shape by contour, position by
/// centroid cell, size by area. `rgb` is CV_8UC3 RGB.
Detection detect(const cv::Mat& rgb);

/// Per-attribute agreement of a detection with what the spec asked for (unset parts count as agreeing).
struct Adherence {
    bool shape = false, size = false, color = false, position = false, background = false;
    bool all() const { return shape && size && color && position && background; }
};
Adherence score(const Spec& asked, const Detection& got);

/// Every word the grammar uses, in a fixed order (the embedded model's vocabulary).
std::vector<std::string> vocabulary();

}  // namespace sf::shapes
