#include "ui/image_fit.h"

#include <QPainter>

namespace sf::ui {

QImage fitImage(const QImage& image, QSize target, const QString& mode) {
    if (image.isNull() || target.isEmpty()) {
        return {};
    }
    QImage out(target, QImage::Format_RGB888);
    out.fill(Qt::black);
    QPainter painter(&out);
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    if (mode == QStringLiteral("stretch")) {
        painter.drawImage(QRect(QPoint(0, 0), target), image);
    } else {
        const Qt::AspectRatioMode aspect =
            mode == QStringLiteral("fit") ? Qt::KeepAspectRatio : Qt::KeepAspectRatioByExpanding;
        QSize scaled = image.size().scaled(target, aspect);
        QRect rect(QPoint((target.width() - scaled.width()) / 2, (target.height() - scaled.height()) / 2), scaled);
        painter.drawImage(rect, image);
    }
    painter.end();
    return out;
}

}  // namespace sf::ui
