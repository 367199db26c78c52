#include "train/loss_plot.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace sf::train {

void plot_loss(const std::filesystem::path& csv, const std::filesystem::path& png) {
    std::ifstream in(csv);
    if (!in) {
        throw Error("cannot read '" + csv.string() + "'");
    }
    std::map<std::string, std::vector<std::pair<double, double>>> series;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::stringstream row(line);
        std::string stage, step, loss;
        if (std::getline(row, stage, ',') && std::getline(row, step, ',') && std::getline(row, loss, ',')) {
            double l = std::atof(loss.c_str());
            if (l > 0 && std::isfinite(l)) {
                series[stage].emplace_back(std::atof(step.c_str()), l);
            }
        }
    }
    const int w = 900, h = 300 * static_cast<int>(std::max<size_t>(1, series.size()));
    cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
    int panel = 0;
    for (auto& [stage, points] : series) {
        const int top = panel * 300 + 30, bottom = panel * 300 + 270, left = 70, right = w - 20;
        double max_step = 1, lo = 1e9, hi = -1e9;
        std::vector<double> smooth;
        double s = points.empty() ? 0 : std::log10(points[0].second);
        for (auto& [step, loss] : points) {
            s = 0.9 * s + 0.1 * std::log10(loss);
            smooth.push_back(s);
            max_step = std::max(max_step, step);
            lo = std::min(lo, s);
            hi = std::max(hi, s);
        }
        if (hi <= lo) {
            hi = lo + 1;
        }
        cv::rectangle(img, {left, top}, {right, bottom}, cv::Scalar(180, 180, 180));
        for (size_t i = 1; i < points.size(); ++i) {
            auto px = [&](size_t k) {
                return cv::Point(left + static_cast<int>((right - left) * points[k].first / max_step),
                                 bottom - static_cast<int>((bottom - top) * (smooth[k] - lo) / (hi - lo)));
            };
            cv::line(img, px(i - 1), px(i), cv::Scalar(200, 80, 40), 2, cv::LINE_AA);
        }
        char label[160];
        std::snprintf(label, sizeof label, "%s loss (log10, smoothed): %.3g .. %.3g over %.0f steps", stage.c_str(),
                      std::pow(10, hi), std::pow(10, lo), max_step);
        cv::putText(img, label, {left, top - 8}, cv::FONT_HERSHEY_SIMPLEX, 0.55, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
        ++panel;
    }
    if (!cv::imwrite(png.string(), img)) {
        throw Error("cannot write '" + png.string() + "'");
    }
}

}  // namespace sf::train
