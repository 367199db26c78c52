#include "ui/reference_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

#include <cmath>

#include "ui/png_file.h"
#include "ui/qt_convert.h"

namespace sf::ui {

ReferencePanel::ReferencePanel(QWidget* parent) : QWidget(parent) {
    setAcceptDrops(true);
    m_preview = new QLabel(tr("Drop, paste or open a reference image"), this);
    m_preview->setObjectName(QStringLiteral("referencePreview"));
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setMinimumSize(160, 160);
    m_preview->setFrameShape(QFrame::StyledPanel);
    m_info = new QLabel(this);
    m_fit = new QComboBox(this);
    m_fit->setObjectName(QStringLiteral("fitMode"));
    m_fit->addItem(tr("Crop"), QStringLiteral("crop"));
    m_fit->addItem(tr("Fit"), QStringLiteral("fit"));
    m_fit->addItem(tr("Stretch"), QStringLiteral("stretch"));
    m_strengthSlider = new QSlider(Qt::Horizontal, this);
    m_strengthSlider->setRange(0, 100);
    m_strength = new QDoubleSpinBox(this);
    m_strength->setObjectName(QStringLiteral("strength"));
    m_strength->setRange(0.0, 1.0);
    m_strength->setSingleStep(0.05);
    m_strength->setDecimals(2);
    auto* open = new QPushButton(tr("Open…"), this);
    auto* paste = new QPushButton(tr("Paste"), this);
    auto* clearButton = new QPushButton(tr("Clear"), this);
    clearButton->setObjectName(QStringLiteral("referenceClear"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(open);
    buttons->addWidget(paste);
    buttons->addWidget(clearButton);
    auto* fitRow = new QHBoxLayout;
    fitRow->addWidget(new QLabel(tr("Resize"), this));
    fitRow->addWidget(m_fit, 1);
    auto* strengthRow = new QHBoxLayout;
    strengthRow->addWidget(new QLabel(tr("Strength"), this));
    strengthRow->addWidget(m_strengthSlider, 1);
    strengthRow->addWidget(m_strength);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_preview, 1);
    layout->addWidget(m_info);
    layout->addLayout(fitRow);
    layout->addLayout(strengthRow);
    layout->addLayout(buttons);

    connect(open, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Reference image"), QString(),
                                                          tr("Images (*.png *.jpg *.jpeg *.webp *.bmp)"));
        if (!path.isEmpty()) {
            loadFile(path);
        }
    });
    connect(paste, &QPushButton::clicked, this, &ReferencePanel::pasteFromClipboard);
    connect(clearButton, &QPushButton::clicked, this, &ReferencePanel::clear);
    connect(m_fit, &QComboBox::currentIndexChanged, this, &ReferencePanel::updatePreview);
    connect(m_strengthSlider, &QSlider::valueChanged, this, [this](int v) {
        if (std::lround(m_strength->value() * 100) != v) {
            m_strength->setValue(v / 100.0);
        }
    });
    connect(m_strength, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        const QSignalBlocker block(m_strengthSlider);
        m_strengthSlider->setValue(static_cast<int>(std::lround(v * 100)));
    });
    setStrength(0.75);
    updatePreview();
}

bool ReferencePanel::loadFile(const QString& path) {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    QImage image = reader.read();
    if (image.isNull()) {
        Q_EMIT failed(tr("Cannot read %1: %2").arg(path, reader.errorString()));
        return false;
    }
    setImage(image, path);
    // libpng keeps the text as written (Qt's reader simplifies whitespace); "" for other formats.
    const QString parameters = readPngParameters(path);
    if (!parameters.isEmpty()) {
        Q_EMIT parametersFound(parameters, path);
    }
    return true;
}

void ReferencePanel::setImage(const QImage& image, const QString& path) {
    m_image = image.convertToFormat(QImage::Format_RGB888);
    m_path = path;
    updatePreview();
    Q_EMIT imageChanged();
}

bool ReferencePanel::pasteFromClipboard() {
    const QMimeData* mime = QApplication::clipboard()->mimeData();
    if (mime && mime->hasUrls()) {
        for (const QUrl& url : mime->urls()) {
            if (url.isLocalFile()) {
                return loadFile(url.toLocalFile());
            }
        }
    }
    if (mime && mime->hasImage()) {
        setImage(qvariant_cast<QImage>(mime->imageData()));
        return true;
    }
    Q_EMIT failed(tr("The clipboard holds no image"));
    return false;
}

void ReferencePanel::clear() {
    m_image = QImage();
    m_path.clear();
    updatePreview();
    Q_EMIT imageChanged();
}

QString ReferencePanel::fitMode() const { return m_fit->currentData().toString(); }

void ReferencePanel::setFitMode(const QString& mode) {
    const int index = m_fit->findData(mode);
    if (index >= 0) {
        m_fit->setCurrentIndex(index);
    }
}

double ReferencePanel::strength() const { return m_strength->value(); }

void ReferencePanel::setStrength(double strength) { m_strength->setValue(strength); }

void ReferencePanel::setTargetSize(QSize size) {
    m_target = size;
    updatePreview();
}

void ReferencePanel::applyTo(GenerationParams& params) const {
    if (m_image.isNull()) {
        params.initImage = QImage();
        params.initImagePath.clear();
        return;
    }
    params.initImage = m_image;
    params.initImagePath = m_path;
    params.fit = fitMode();
    params.strength = strength();
}

void ReferencePanel::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() || event->mimeData()->hasImage()) {
        event->acceptProposedAction();
    }
}

void ReferencePanel::dropEvent(QDropEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (mime->hasUrls()) {
        for (const QUrl& url : mime->urls()) {
            if (url.isLocalFile() && loadFile(url.toLocalFile())) {
                event->acceptProposedAction();
                return;
            }
        }
    } else if (mime->hasImage()) {
        setImage(qvariant_cast<QImage>(mime->imageData()));
        event->acceptProposedAction();
    }
}

void ReferencePanel::updatePreview() {
    if (m_image.isNull()) {
        m_preview->setPixmap(QPixmap());
        m_preview->setText(tr("Drop, paste or open a reference image"));
        m_info->setText(QString());
        return;
    }
    // The fitted result at the target's aspect, drawn small, with the target frame.
    const QImage fitted = fitImage(m_image, m_target, fitMode());
    const QSize box = m_preview->size().boundedTo(QSize(320, 320)).expandedTo(QSize(120, 120));
    QImage shown = fitted.scaled(box - QSize(4, 4), Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QPainter painter(&shown);
    painter.setPen(QPen(QColor(255, 200, 0), 2));
    painter.drawRect(shown.rect().adjusted(1, 1, -1, -1));
    painter.end();
    m_preview->setPixmap(QPixmap::fromImage(shown));
    m_info->setText(tr("%1 × %2 → %3 × %4 (%5)")
                        .arg(m_image.width())
                        .arg(m_image.height())
                        .arg(m_target.width())
                        .arg(m_target.height())
                        .arg(m_fit->currentText()));
}

}  // namespace sf::ui
