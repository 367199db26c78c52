// Result PNGs from the UI: a Qt face on io/png_io.h (libpng: atomic write, tEXt/iTXt "parameters" kept
// byte for byte, newlines included) and the A1111 numbered file names.
#pragma once

#include <QImage>
#include <QString>

namespace sf::ui {

/// Writes `image` as PNG with a "parameters" text chunk, atomically (sf::io::write_png). Returns false and
/// sets `error` on failure. Safe on any thread.
bool writePng(const QString& path, const QImage& image, const QString& parameters, QString* error = nullptr);

/// A new file name in `folder` for an image of `seed`: "00012-1234.png" (never an existing one).
QString nextImagePath(const QString& folder, qint64 seed);

/// The "parameters" text stored in a PNG (sf::io::read_png_text), "" when none or not a PNG.
QString readPngParameters(const QString& path);

}  // namespace sf::ui
