#include "ui/image_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>

namespace sf::ui {

ImageView::ImageView(QWidget* parent) : QWidget(parent) {
    m_label = new QLabel(this);
    m_label->setObjectName(QStringLiteral("resultImage"));
    m_label->setAlignment(Qt::AlignCenter);
    m_scroll = new QScrollArea(this);
    m_scroll->setAlignment(Qt::AlignCenter);
    m_scroll->setWidget(m_label);
    m_scroll->setWidgetResizable(true);
    m_fitButton = new QToolButton(this);
    m_fitButton->setText(tr("Fit"));
    m_fitButton->setCheckable(true);
    m_oneToOneButton = new QToolButton(this);
    m_oneToOneButton->setText(tr("1:1"));
    m_oneToOneButton->setCheckable(true);
    auto* bar = new QHBoxLayout;
    bar->addStretch();
    bar->addWidget(m_fitButton);
    bar->addWidget(m_oneToOneButton);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_scroll, 1);
    layout->addLayout(bar);
    connect(m_fitButton, &QToolButton::clicked, this, [this] { setFitToWindow(true); });
    connect(m_oneToOneButton, &QToolButton::clicked, this, [this] { setFitToWindow(false); });
    setFitToWindow(true);
}

void ImageView::setImage(const QImage& image) {
    m_image = image;
    m_isPreview = false;
    m_previewCount = 0;
    refresh();
}

void ImageView::setPreview(const QImage& preview, QSize finalSize) {
    m_image = finalSize.isValid() && preview.size() != finalSize
                  ? preview.scaled(finalSize, Qt::IgnoreAspectRatio, Qt::FastTransformation)
                  : preview;
    m_isPreview = true;
    ++m_previewCount;
    refresh();
}

void ImageView::clear() {
    m_image = QImage();
    m_isPreview = false;
    refresh();
}

void ImageView::setFitToWindow(bool fit) {
    m_fit = fit;
    m_fitButton->setChecked(fit);
    m_oneToOneButton->setChecked(!fit);
    m_scroll->setWidgetResizable(fit);
    refresh();
    Q_EMIT zoomChanged(fit);
}

void ImageView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    if (m_fit) {
        refresh();
    }
}

void ImageView::refresh() {
    if (m_image.isNull()) {
        m_label->setPixmap(QPixmap());
        return;
    }
    if (m_fit) {
        const QSize box = m_scroll->viewport()->size();
        const QImage scaled = m_image.size().width() <= box.width() && m_image.size().height() <= box.height()
                                  ? m_image
                                  : m_image.scaled(box, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        m_label->setPixmap(QPixmap::fromImage(scaled));
    } else {
        m_label->setPixmap(QPixmap::fromImage(m_image));
        m_label->adjustSize();
    }
}

}  // namespace sf::ui
