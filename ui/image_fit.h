// Fitting a reference image to the target size: crop (fill, centre cut), fit (letterbox) or stretch.
#pragma once

#include <QImage>
#include <QSize>
#include <QString>

namespace sf::ui {

/// `image` fitted to `target` with mode "crop", "fit" or "stretch" (RGB888; padding is black).
QImage fitImage(const QImage& image, QSize target, const QString& mode);

}  // namespace sf::ui
