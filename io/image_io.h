// Image files (OpenCV) and PNG text chunks (libpng): outside core, which stays Qt- and OpenCV-free.
#pragma once

#include <torch/torch.h>

#include <filesystem>

namespace sf::io {

/// Reads an image file as [1, 3, H, W] float32 in [-1, 1] (RGB); throws sf::Error naming the file.
torch::Tensor read_image(const std::filesystem::path& path);

}  // namespace sf::io
