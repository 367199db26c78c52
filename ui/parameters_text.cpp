#include "ui/parameters_text.h"

#include <QFileInfo>
#include <QStringList>

namespace sf::ui {

namespace {

QString number(double v) { return QString::number(v, 'g', 6); }

}  // namespace

QString formatParametersText(const GenerationParams& p) {
    QString text = p.prompt;
    if (!p.negativePrompt.isEmpty()) {
        text += QStringLiteral("\nNegative prompt: ") + p.negativePrompt;
    }
    QStringList fields;
    fields << QStringLiteral("Steps: %1").arg(p.steps) << QStringLiteral("Sampler: %1").arg(p.sampler)
           << QStringLiteral("Schedule type: %1").arg(p.schedule)
           << QStringLiteral("CFG scale: %1").arg(number(p.cfgAt(0))) << QStringLiteral("Seed: %1").arg(p.seedAt(0))
           << QStringLiteral("Size: %1x%2").arg(p.width).arg(p.height);
    fields << QStringLiteral("Model: %1")
                  .arg(p.model.isEmpty() ? QStringLiteral("default") : QFileInfo(p.model).completeBaseName());
    if (p.isImg2Img()) {
        fields << QStringLiteral("Denoising strength: %1").arg(number(p.strength));
        fields << QStringLiteral("Resize mode: %1").arg(p.fit);
    }
    text += QStringLiteral("\n") + fields.join(QStringLiteral(", "));
    return text;
}

bool parseParametersText(const QString& text, GenerationParams& params) {
    QStringList lines = text.split(QLatin1Char('\n'));
    int settingsLine = -1;
    for (int i = lines.size() - 1; i >= 0; --i) {
        if (lines[i].trimmed().startsWith(QStringLiteral("Steps:"))) {
            settingsLine = i;
            break;
        }
    }
    if (settingsLine < 0) {
        return false;
    }
    QStringList prompt;
    QStringList negative;
    bool inNegative = false;
    for (int i = 0; i < settingsLine; ++i) {
        if (lines[i].startsWith(QStringLiteral("Negative prompt:"))) {
            inNegative = true;
            negative << lines[i].mid(16).trimmed();
        } else {
            (inNegative ? negative : prompt) << lines[i];
        }
    }
    GenerationParams p = params;
    p.prompt = prompt.join(QLatin1Char('\n'));
    p.negativePrompt = negative.join(QLatin1Char('\n'));
    p.seeds.clear();
    p.cfgScales.clear();
    for (const QString& field : lines[settingsLine].split(QStringLiteral(", "))) {
        int colon = field.indexOf(QLatin1Char(':'));
        if (colon < 0) {
            continue;
        }
        const QString key = field.left(colon).trimmed();
        const QString value = field.mid(colon + 1).trimmed();
        if (key == QStringLiteral("Steps")) {
            p.steps = value.toInt();
        } else if (key == QStringLiteral("Sampler")) {
            p.sampler = value;
        } else if (key == QStringLiteral("Schedule type")) {
            p.schedule = value;
        } else if (key == QStringLiteral("CFG scale")) {
            p.cfgScale = value.toDouble();
        } else if (key == QStringLiteral("Seed")) {
            p.seed = value.toLongLong();
        } else if (key == QStringLiteral("Size")) {
            const QStringList wh = value.split(QLatin1Char('x'));
            if (wh.size() == 2) {
                p.width = wh[0].toInt();
                p.height = wh[1].toInt();
            }
        } else if (key == QStringLiteral("Denoising strength")) {
            p.strength = value.toDouble();
        } else if (key == QStringLiteral("Resize mode")) {
            p.fit = value;
        }
    }
    if (p.steps <= 0 || p.width <= 0 || p.height <= 0) {
        return false;
    }
    params = p;
    return true;
}

}  // namespace sf::ui
