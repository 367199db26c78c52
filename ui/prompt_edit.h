// A multi-line prompt box: Ctrl+Enter generates, Ctrl+Up/Down changes the emphasis weight (A1111 style).
#pragma once

#include <QPlainTextEdit>

namespace sf::ui {

class PromptEdit : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit PromptEdit(QWidget* parent = nullptr);

    /// Applies adjustEmphasis to the selection / word under the cursor (delta ±0.1).
    void adjustWeight(double delta);

Q_SIGNALS:
    /// Ctrl+Enter was pressed.
    void generateRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;
};

}  // namespace sf::ui
