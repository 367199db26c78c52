// Shows the step previews and the final image; zoom to fit or 1:1.
#pragma once

#include <QImage>
#include <QWidget>

class QLabel;
class QScrollArea;
class QToolButton;

namespace sf::ui {

class ImageView : public QWidget {
    Q_OBJECT
public:
    explicit ImageView(QWidget* parent = nullptr);

    /// Shows a final image.
    void setImage(const QImage& image);
    /// Shows a step preview (drawn at the final image's size).
    void setPreview(const QImage& preview, QSize finalSize);
    void clear();
    /// The image shown now (a preview or the final one).
    QImage image() const { return m_image; }
    bool isPreview() const { return m_isPreview; }
    /// Number of times a preview was shown since the last final image (for tests).
    int previewCount() const { return m_previewCount; }

    void setFitToWindow(bool fit);
    bool fitToWindow() const { return m_fit; }

Q_SIGNALS:
    void zoomChanged(bool fitToWindow);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void refresh();

    QImage m_image;
    bool m_isPreview = false;
    int m_previewCount = 0;
    bool m_fit = true;
    QScrollArea* m_scroll = nullptr;
    QLabel* m_label = nullptr;
    QToolButton* m_fitButton = nullptr;
    QToolButton* m_oneToOneButton = nullptr;
};

}  // namespace sf::ui
