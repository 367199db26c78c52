#include "ui/prompt_edit.h"

#include <QKeyEvent>
#include <QTextCursor>

#include "ui/emphasis_highlighter.h"
#include "ui/prompt_syntax.h"

namespace sf::ui {

PromptEdit::PromptEdit(QWidget* parent) : QPlainTextEdit(parent) {
    setTabChangesFocus(true);
    new EmphasisHighlighter(document());
}

void PromptEdit::adjustWeight(double delta) {
    QTextCursor cursor = textCursor();
    const EmphasisEdit edit =
        adjustEmphasis(toPlainText(), cursor.selectionStart(), cursor.selectionEnd(), delta);
    if (edit.text == toPlainText()) {
        return;
    }
    // One undoable edit: replace the whole text inside an edit block.
    cursor.beginEditBlock();
    cursor.select(QTextCursor::Document);
    cursor.insertText(edit.text);
    cursor.endEditBlock();
    cursor.setPosition(edit.selectionStart);
    cursor.setPosition(edit.selectionEnd, QTextCursor::KeepAnchor);
    setTextCursor(cursor);
}

void PromptEdit::keyPressEvent(QKeyEvent* event) {
    const bool ctrl = event->modifiers() & Qt::ControlModifier;
    if (ctrl && (event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter)) {
        Q_EMIT generateRequested();
        return;
    }
    if (ctrl && (event->key() == Qt::Key_Up || event->key() == Qt::Key_Down)) {
        adjustWeight(event->key() == Qt::Key_Up ? 0.1 : -0.1);
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

}  // namespace sf::ui
