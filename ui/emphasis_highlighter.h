// Syntax colours for A1111 prompts: (emphasis), [de-emphasis], :weights, BREAK and <lora:...> tags.
#pragma once

#include <QSyntaxHighlighter>

namespace sf::ui {

class EmphasisHighlighter : public QSyntaxHighlighter {
    Q_OBJECT
public:
    explicit EmphasisHighlighter(QTextDocument* document);

protected:
    void highlightBlock(const QString& text) override;
};

}  // namespace sf::ui
