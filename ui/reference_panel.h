// The reference (img2img) image: drop a file, paste, or open; shows how it fits the target size
// (crop / fit / stretch) and the denoising strength. A dropped PNG with "parameters" text is reported.
#pragma once

#include <QImage>
#include <QSize>
#include <QString>
#include <QWidget>

#include "ui/generation_params.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace sf::ui {

class ReferencePanel : public QWidget {
    Q_OBJECT
public:
    explicit ReferencePanel(QWidget* parent = nullptr);

    /// Loads an image file; false (and a message via failed()) when it cannot be read.
    bool loadFile(const QString& path);
    /// Uses `image` (from the clipboard or a test) as the reference.
    void setImage(const QImage& image, const QString& path = {});
    /// Takes an image (or an image file URL) from the clipboard; false when there is none.
    bool pasteFromClipboard();
    void clear();

    QImage image() const { return m_image; }
    QString imagePath() const { return m_path; }
    QString fitMode() const;
    void setFitMode(const QString& mode);
    double strength() const;
    void setStrength(double strength);
    /// The size the image is fitted to (the generation's width x height).
    void setTargetSize(QSize size);
    /// Adds the reference image, fit and strength to `params` (nothing when no image is set).
    void applyTo(GenerationParams& params) const;

Q_SIGNALS:
    void imageChanged();
    /// A dropped or opened PNG carries A1111 "parameters" text.
    void parametersFound(const QString& text, const QString& path);
    /// A file could not be used.
    void failed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void updatePreview();

    QImage m_image;
    QString m_path;
    QSize m_target{512, 512};
    QLabel* m_preview = nullptr;
    QLabel* m_info = nullptr;
    QComboBox* m_fit = nullptr;
    QSlider* m_strengthSlider = nullptr;
    QDoubleSpinBox* m_strength = nullptr;
};

}  // namespace sf::ui
