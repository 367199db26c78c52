// Writing result PNGs: the A1111 "parameters" text chunk, written to a temporary file and renamed.
#pragma once

#include <QImage>
#include <QString>

namespace sf::ui {

/// Writes `image` as PNG with a "parameters" text chunk, atomically (QSaveFile: temp + rename).
/// Returns false and sets `error` on failure. Safe on any thread.
bool writePng(const QString& path, const QImage& image, const QString& parameters, QString* error = nullptr);

/// A new file name in `folder` for an image of `seed`: "00012-1234.png" (never an existing one).
QString nextImagePath(const QString& folder, qint64 seed);

/// The "parameters" text stored in a PNG, newlines kept (empty when none). Decodes the image.
QString readPngParameters(const QString& path);

}  // namespace sf::ui
