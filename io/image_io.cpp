#include "io/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace sf::io {

namespace {

cv::Mat to_mat(const Image& image) {  // a view, no copy
    return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
}

Image from_mat(const cv::Mat& rgb) {
    cv::Mat m = rgb.isContinuous() ? rgb : rgb.clone();
    Image out;
    out.width = m.cols;
    out.height = m.rows;
    out.rgb.assign(m.data, m.data + static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols) * 3);
    return out;
}

cv::Mat resized(const cv::Mat& src, int w, int h) {
    w = std::max(1, w);
    h = std::max(1, h);
    if (w == src.cols && h == src.rows) {
        return src.clone();
    }
    cv::Mat dst;
    const bool shrink = w < src.cols && h < src.rows;
    cv::resize(src, dst, cv::Size(w, h), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LANCZOS4);
    return dst;
}

}  // namespace

Image read_image_rgb(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) {
        throw Error("cannot read image '" + path.string() + "': no such file");
    }
    cv::Mat bgr;
    try {
        bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        throw Error("cannot read image '" + path.string() + "': " + e.what());
    }
    if (bgr.empty()) {
        throw Error("cannot read image '" + path.string() + "' (not an image format OpenCV reads, or damaged)");
    }
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return from_mat(rgb);
}

torch::Tensor read_image(const std::filesystem::path& path) { return tensor_from_image(read_image_rgb(path)); }

const std::vector<std::string>& fit_modes() {
    static const std::vector<std::string> modes = {"crop", "fit", "stretch"};
    return modes;
}

Image fit_image(const Image& image, int width, int height, const std::string& mode) {
    if (image.empty()) {
        throw Error("fit_image: empty image");
    }
    if (width <= 0 || height <= 0) {
        throw Error("fit_image: bad target size " + std::to_string(width) + "x" + std::to_string(height));
    }
    cv::Mat src = to_mat(image);
    const double sx = static_cast<double>(width) / image.width;
    const double sy = static_cast<double>(height) / image.height;
    if (mode == "stretch") {
        return from_mat(resized(src, width, height));
    }
    if (mode == "crop") {
        const double s = std::max(sx, sy);
        const int w = std::max(width, static_cast<int>(std::lround(image.width * s)));
        const int h = std::max(height, static_cast<int>(std::lround(image.height * s)));
        cv::Mat big = resized(src, w, h);
        return from_mat(big(cv::Rect((w - width) / 2, (h - height) / 2, width, height)).clone());
    }
    if (mode == "fit") {
        const double s = std::min(sx, sy);
        const int w = std::min(width, std::max(1, static_cast<int>(std::lround(image.width * s))));
        const int h = std::min(height, std::max(1, static_cast<int>(std::lround(image.height * s))));
        cv::Mat small = resized(src, w, h);
        const int left = (width - w) / 2;
        const int top = (height - h) / 2;
        cv::Mat out;
        cv::copyMakeBorder(small, out, top, height - h - top, left, width - w - left, cv::BORDER_REPLICATE);
        return from_mat(out);
    }
    throw Error("unknown fit mode '" + mode + "' (expected crop, fit or stretch)");
}

torch::Tensor fit_image_tensor(const Image& image, int width, int height, const std::string& mode) {
    Image fitted = fit_image(image, width, height, mode);
    return tensor_from_image(fitted);  // [1, 3, H, W], a new tensor (not a view of `fitted`)
}

torch::Tensor load_init_image(const std::filesystem::path& path, int width, int height, const std::string& mode) {
    return fit_image_tensor(read_image_rgb(path), width, height, mode);
}

// ---- labelled grid ----

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string ascii_only(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x80) {
            out += (c < 0x20) ? ' ' : static_cast<char>(c);
        } else if ((c & 0xC0) != 0x80) {
            out += '?';  // one '?' per UTF-8 character
        }
    }
    return out;
}

struct Font {
    double scale;
    int thickness;
    int line_height;
};

int text_width(const std::string& s, const Font& f) {
    int baseline = 0;
    return cv::getTextSize(s, kFont, f.scale, f.thickness, &baseline).width;
}

// Greedy word wrap to `max_width` pixels; a word wider than that is cut and ends with "..".
std::vector<std::string> wrap(const std::string& text, int max_width, const Font& f) {
    std::vector<std::string> lines;
    std::string line;
    size_t i = 0;
    const std::string s = ascii_only(text);
    while (i < s.size()) {
        size_t j = s.find(' ', i);
        std::string word = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
        i = j == std::string::npos ? s.size() : j + 1;
        if (word.empty()) {
            continue;
        }
        std::string candidate = line.empty() ? word : line + " " + word;
        if (text_width(candidate, f) <= max_width) {
            line = candidate;
            continue;
        }
        if (!line.empty()) {
            lines.push_back(line);
        }
        while (word.size() > 1 && text_width(word, f) > max_width) {
            word = word.substr(0, word.size() - (word.ends_with("..") ? 3 : 1)) + "..";
            if (word.size() <= 3) {
                break;
            }
        }
        line = word;
    }
    if (!line.empty()) {
        lines.push_back(line);
    }
    return lines;
}

void draw_lines(cv::Mat& canvas, const std::vector<std::string>& lines, cv::Rect box, const Font& f) {
    const int total = static_cast<int>(lines.size()) * f.line_height;
    int y = box.y + (box.height - total) / 2;
    for (const auto& line : lines) {
        int baseline = 0;
        cv::Size size = cv::getTextSize(line, kFont, f.scale, f.thickness, &baseline);
        const int x = box.x + std::max(0, (box.width - size.width) / 2);
        y += f.line_height;
        cv::putText(canvas, line, cv::Point(x, y - f.line_height / 4), kFont, f.scale, cv::Scalar(0, 0, 0), f.thickness,
                    cv::LINE_AA);
    }
}

}  // namespace

Image make_grid(const std::vector<Image>& cells, int rows, int cols, const std::vector<std::string>& row_labels,
                const std::vector<std::string>& col_labels) {
    if (rows <= 0 || cols <= 0) {
        throw Error("make_grid: bad grid shape " + std::to_string(rows) + "x" + std::to_string(cols));
    }
    int cw = 0;
    int ch = 0;
    for (const auto& c : cells) {
        if (!c.empty()) {
            cw = c.width;
            ch = c.height;
            break;
        }
    }
    if (cw == 0) {
        throw Error("make_grid: no images to place");
    }
    Font f;
    f.scale = std::clamp(cw / 512.0 * 0.9, 0.4, 3.0);
    f.thickness = std::max(1, static_cast<int>(std::lround(f.scale * 2)));
    int baseline = 0;
    f.line_height = static_cast<int>(cv::getTextSize("Ag", kFont, f.scale, f.thickness, &baseline).height * 1.8) + 2;
    const int pad = f.line_height / 2;

    bool any_col_label = std::any_of(col_labels.begin(), col_labels.end(), [](auto& s) { return !s.empty(); });
    bool any_row_label = std::any_of(row_labels.begin(), row_labels.end(), [](auto& s) { return !s.empty(); });

    // Row-label band: as wide as the widest label needs, at most half a cell.
    int left = 0;
    std::vector<std::vector<std::string>> row_lines(static_cast<size_t>(rows));
    if (any_row_label) {
        const int max_w = std::max(cw / 2, 4 * f.line_height);
        for (int r = 0; r < rows && r < static_cast<int>(row_labels.size()); ++r) {
            row_lines[static_cast<size_t>(r)] = wrap(row_labels[static_cast<size_t>(r)], max_w, f);
            for (const auto& l : row_lines[static_cast<size_t>(r)]) {
                left = std::max(left, text_width(l, f));
            }
        }
        left += 2 * pad;
    }
    int top = 0;
    std::vector<std::vector<std::string>> col_lines(static_cast<size_t>(cols));
    if (any_col_label) {
        size_t most = 1;
        for (int c = 0; c < cols && c < static_cast<int>(col_labels.size()); ++c) {
            col_lines[static_cast<size_t>(c)] = wrap(col_labels[static_cast<size_t>(c)], cw - 2 * pad, f);
            most = std::max(most, col_lines[static_cast<size_t>(c)].size());
        }
        top = static_cast<int>(most) * f.line_height + 2 * pad;
    }

    cv::Mat canvas(top + rows * ch, left + cols * cw, CV_8UC3, cv::Scalar(255, 255, 255));
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            const size_t i = static_cast<size_t>(r * cols + c);
            if (i >= cells.size() || cells[i].empty()) {
                continue;
            }
            cv::Mat cell = to_mat(cells[i]);
            if (cell.cols != cw || cell.rows != ch) {
                cell = resized(cell, cw, ch);
            }
            cell.copyTo(canvas(cv::Rect(left + c * cw, top + r * ch, cw, ch)));
        }
    }
    for (int c = 0; c < cols; ++c) {
        draw_lines(canvas, col_lines[static_cast<size_t>(c)], cv::Rect(left + c * cw, 0, cw, top), f);
    }
    for (int r = 0; r < rows; ++r) {
        draw_lines(canvas, row_lines[static_cast<size_t>(r)], cv::Rect(0, top + r * ch, left, ch), f);
    }
    return from_mat(canvas);
}

}  // namespace sf::io
