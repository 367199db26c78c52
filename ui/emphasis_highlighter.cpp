#include "ui/emphasis_highlighter.h"

#include <QColor>
#include <QRegularExpression>
#include <QTextCharFormat>

namespace sf::ui {

EmphasisHighlighter::EmphasisHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {}

void EmphasisHighlighter::highlightBlock(const QString& text) {
    // Nesting carries over lines: the block state holds the open-paren depth (round - square).
    int depth = std::max(0, previousBlockState());
    QTextCharFormat up;
    up.setForeground(QColor(0xd0, 0x60, 0x20));
    QTextCharFormat down;
    down.setForeground(QColor(0x30, 0x70, 0xc0));
    QTextCharFormat bracket;
    bracket.setFontWeight(QFont::Bold);
    for (int i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c == QLatin1Char('(') || c == QLatin1Char('[')) {
            depth += c == QLatin1Char('(') ? 1 : -1;
            setFormat(i, 1, bracket);
        } else if (c == QLatin1Char(')') || c == QLatin1Char(']')) {
            depth -= c == QLatin1Char(')') ? 1 : -1;
            setFormat(i, 1, bracket);
        } else if (depth > 0) {
            setFormat(i, 1, up);
        } else if (depth < 0) {
            setFormat(i, 1, down);
        }
    }
    auto boldMatches = [this, &text](const QRegularExpression& pattern, const QColor& colour) {
        QTextCharFormat format;
        format.setForeground(colour);
        format.setFontWeight(QFont::Bold);
        for (auto it = pattern.globalMatch(text); it.hasNext();) {
            auto m = it.next();
            setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()), format);
        }
    };
    static const QRegularExpression weights(QStringLiteral(":\\s*-?\\d+(?:\\.\\d+)?(?=\\s*[)>])"));
    static const QRegularExpression keywords(QStringLiteral("\\bBREAK\\b|<[^<>]*>"));
    boldMatches(weights, QColor(0x20, 0x90, 0x40));
    boldMatches(keywords, QColor(0x90, 0x30, 0xa0));
    setCurrentBlockState(std::max(0, depth));
}

}  // namespace sf::ui
