// Image files (OpenCV) and PNG text chunks (libpng): outside core, which stays Qt- and OpenCV-free.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/image.h"

namespace sf::io {

/// Reads an image file as [1, 3, H, W] float32 in [-1, 1] (RGB); throws sf::Error naming the file.
torch::Tensor read_image(const std::filesystem::path& path);
/// Reads any image file OpenCV decodes (PNG, JPEG, WebP, BMP, TIFF, ...) as 8-bit RGB; alpha is dropped.
/// Throws sf::Error naming the file.
Image read_image_rgb(const std::filesystem::path& path);

/// How a picture is brought to the requested size (A1111 img2img "Resize mode").
/// - "stretch": scale both sides independently ("Just resize").
/// - "crop": scale to cover the target, then cut the middle ("Crop and resize").
/// - "fit": scale to fit inside, then pad: the padding repeats the picture's edge rows/columns
///   (cv::BORDER_REPLICATE), which is what A1111's "Resize and fill" does by stretching its 1-pixel edges.
/// Downscaling uses area averaging, upscaling Lanczos-4.
Image fit_image(const Image& image, int width, int height, const std::string& mode);
/// fit_image, returned as [1, 3, height, width] float32 in [-1, 1] on the CPU (GenerateRequest::init_image).
torch::Tensor fit_image_tensor(const Image& image, int width, int height, const std::string& mode);
/// Reads and fits an img2img reference in one call; throws sf::Error naming the file or the bad mode.
torch::Tensor load_init_image(const std::filesystem::path& path, int width, int height, const std::string& mode);
/// The fit modes fit_image accepts, in display order.
const std::vector<std::string>& fit_modes();

/// A labelled grid: cells in row-major order (rows * cols; missing or empty cells are left white), column
/// labels above, row labels on the left, drawn with cv::putText (Hershey font: ASCII only, other characters
/// show as '?'). Every cell is scaled to the first non-empty cell's size. Labels may be empty (no band).
Image make_grid(const std::vector<Image>& cells, int rows, int cols, const std::vector<std::string>& row_labels,
                const std::vector<std::string>& col_labels);

}  // namespace sf::io
