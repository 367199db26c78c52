// Prompt text helpers: A1111 emphasis editing ((word:1.1) with Ctrl+Up/Down) and the token counter.
#pragma once

#include <QString>

namespace sf::ui {

/// Text and selection after an emphasis edit.
struct EmphasisEdit {
    QString text;
    int selectionStart = 0;
    int selectionEnd = 0;
};

/// A1111 edit-attention: wraps the selection (or the word / (group:w) under the cursor) as (text:w) and
/// changes w by `delta` (±0.1); a weight that returns to 1.0 removes the parentheses.
EmphasisEdit adjustEmphasis(const QString& text, int selectionStart, int selectionEnd, double delta);

/// Rough CLIP token count (words and punctuation, emphasis syntax ignored): the fallback when the selected
/// model has no vocabulary at hand (PromptPanel uses the model's own counter from ui/model_info.h).
int countTokens(const QString& prompt);

/// "n/75", "n/150", ...: the count against its 75-token chunk limit.
QString tokenCounterText(int tokens);

}  // namespace sf::ui
