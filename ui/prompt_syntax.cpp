#include "ui/prompt_syntax.h"

#include <QRegularExpression>

#include <algorithm>
#include <cmath>

namespace sf::ui {

namespace {

bool isDelimiter(QChar c) {
    return c.isSpace() || QStringLiteral(",.()[]{}:;|<>").contains(c);
}

QString formatWeight(double w) {
    return QString::number(std::round(w * 100.0) / 100.0, 'g', 4);
}

}  // namespace

EmphasisEdit adjustEmphasis(const QString& text, int selectionStart, int selectionEnd, double delta) {
    int s = std::min(selectionStart, selectionEnd);
    int e = std::max(selectionStart, selectionEnd);
    s = std::clamp(s, 0, static_cast<int>(text.size()));
    e = std::clamp(e, 0, static_cast<int>(text.size()));
    static const QRegularExpression weighted(QStringLiteral("^(.*):(-?\\d+(?:\\.\\d+)?)$"),
                                             QRegularExpression::DotMatchesEverythingOption);
    if (s == e) {
        // Inside a (group:w)? Select its text.
        int open = text.lastIndexOf(QLatin1Char('('), s - 1 < 0 ? 0 : s - 1);
        int close = text.indexOf(QLatin1Char(')'), s);
        bool grouped = false;
        if (open >= 0 && close >= 0 && open < s) {
            const QString inner = text.mid(open + 1, close - open - 1);
            if (!inner.contains(QLatin1Char('(')) && !inner.contains(QLatin1Char(')'))) {
                auto m = weighted.match(inner);
                if (m.hasMatch()) {
                    s = open + 1;
                    e = open + 1 + static_cast<int>(m.capturedLength(1));
                    grouped = true;
                }
            }
        }
        if (!grouped) {
            while (s > 0 && !isDelimiter(text[s - 1])) {
                --s;
            }
            while (e < text.size() && !isDelimiter(text[e])) {
                ++e;
            }
        }
    }
    while (s < e && text[s].isSpace()) {
        ++s;
    }
    while (e > s && text[e - 1].isSpace()) {
        --e;
    }
    if (s == e) {
        return {text, selectionStart, selectionEnd};
    }
    const QString selected = text.mid(s, e - s);
    // Already (selected:w)?
    static const QRegularExpression weightAfter(QStringLiteral("^:(-?\\d+(?:\\.\\d+)?)\\)"));
    if (s > 0 && text[s - 1] == QLatin1Char('(')) {
        auto m = weightAfter.match(text.mid(e));
        if (m.hasMatch()) {
            double w = m.captured(1).toDouble() + delta;
            const int tail = e + static_cast<int>(m.capturedLength(0));
            if (std::abs(w - 1.0) < 1e-6) {
                QString out = text.left(s - 1) + selected + text.mid(tail);
                return {out, s - 1, s - 1 + static_cast<int>(selected.size())};
            }
            QString out = text.left(s) + selected + QLatin1Char(':') + formatWeight(w) + QLatin1Char(')') + text.mid(tail);
            return {out, s, e};
        }
    }
    const QString wrapped = QLatin1Char('(') + selected + QLatin1Char(':') + formatWeight(1.0 + delta) + QLatin1Char(')');
    return {text.left(s) + wrapped + text.mid(e), s + 1, e + 1};
}

int countTokens(const QString& prompt) {
    QString text = prompt;
    static const QRegularExpression weights(QStringLiteral(":\\s*-?\\d+(?:\\.\\d+)?\\s*\\)"));
    text.replace(weights, QStringLiteral(")"));
    static const QRegularExpression syntax(QStringLiteral("[()\\[\\]]"));
    text.replace(syntax, QStringLiteral(" "));
    static const QRegularExpression token(QStringLiteral("\\w+|[^\\w\\s]"));
    int n = 0;
    auto it = token.globalMatch(text);
    while (it.hasNext()) {
        it.next();
        ++n;
    }
    return n;
}

QString tokenCounterText(int tokens) {
    const int chunks = std::max(1, (tokens + 74) / 75);
    return QStringLiteral("%1/%2").arg(tokens).arg(chunks * 75);
}

}  // namespace sf::ui
