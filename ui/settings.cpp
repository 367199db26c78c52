#include "ui/settings.h"

#include <QDir>
#include <QStandardPaths>

namespace sf::ui {

Settings Settings::load(QSettings& s) {
    Settings out;
    const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    const QString pictures = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    out.modelsFolder = s.value(QStringLiteral("folders/models"), QDir(data).filePath(QStringLiteral("models"))).toString();
    out.outputFolder =
        s.value(QStringLiteral("folders/output"),
                QDir(pictures.isEmpty() ? data : pictures).filePath(QStringLiteral("sfumato"))).toString();
    out.device = s.value(QStringLiteral("device/device"), out.device).toString();
    out.precision = s.value(QStringLiteral("device/precision"), out.precision).toString();
    out.previewMode = s.value(QStringLiteral("preview/mode"), out.previewMode).toString();
    out.taesdDecoder = s.value(QStringLiteral("preview/taesd"), out.taesdDecoder).toString();
    out.taesdxlDecoder = s.value(QStringLiteral("preview/taesdxl"), out.taesdxlDecoder).toString();
    out.hasLastParams = s.contains(QStringLiteral("last/prompt"));
    GenerationParams& p = out.lastParams;
    s.beginGroup(QStringLiteral("last"));
    p.prompt = s.value(QStringLiteral("prompt"), p.prompt).toString();
    p.negativePrompt = s.value(QStringLiteral("negative"), p.negativePrompt).toString();
    p.model = s.value(QStringLiteral("model"), p.model).toString();
    p.width = s.value(QStringLiteral("width"), p.width).toInt();
    p.height = s.value(QStringLiteral("height"), p.height).toInt();
    p.steps = s.value(QStringLiteral("steps"), p.steps).toInt();
    p.cfgScale = s.value(QStringLiteral("cfg"), p.cfgScale).toDouble();
    p.sampler = s.value(QStringLiteral("sampler"), p.sampler).toString();
    p.schedule = s.value(QStringLiteral("schedule"), p.schedule).toString();
    p.seed = s.value(QStringLiteral("seed"), p.seed).toLongLong();
    p.batchSize = s.value(QStringLiteral("batchSize"), p.batchSize).toInt();
    p.batchCount = s.value(QStringLiteral("batchCount"), p.batchCount).toInt();
    p.fit = s.value(QStringLiteral("fit"), p.fit).toString();
    p.strength = s.value(QStringLiteral("strength"), p.strength).toDouble();
    s.endGroup();
    return out;
}

void Settings::save(QSettings& s) const {
    s.setValue(QStringLiteral("folders/models"), modelsFolder);
    s.setValue(QStringLiteral("folders/output"), outputFolder);
    s.setValue(QStringLiteral("device/device"), device);
    s.setValue(QStringLiteral("device/precision"), precision);
    s.setValue(QStringLiteral("preview/mode"), previewMode);
    s.setValue(QStringLiteral("preview/taesd"), taesdDecoder);
    s.setValue(QStringLiteral("preview/taesdxl"), taesdxlDecoder);
    const GenerationParams& p = lastParams;
    s.beginGroup(QStringLiteral("last"));
    s.setValue(QStringLiteral("prompt"), p.prompt);
    s.setValue(QStringLiteral("negative"), p.negativePrompt);
    s.setValue(QStringLiteral("model"), p.model);
    s.setValue(QStringLiteral("width"), p.width);
    s.setValue(QStringLiteral("height"), p.height);
    s.setValue(QStringLiteral("steps"), p.steps);
    s.setValue(QStringLiteral("cfg"), p.cfgScale);
    s.setValue(QStringLiteral("sampler"), p.sampler);
    s.setValue(QStringLiteral("schedule"), p.schedule);
    s.setValue(QStringLiteral("seed"), p.seed);
    s.setValue(QStringLiteral("batchSize"), p.batchSize);
    s.setValue(QStringLiteral("batchCount"), p.batchCount);
    s.setValue(QStringLiteral("fit"), p.fit);
    s.setValue(QStringLiteral("strength"), p.strength);
    s.endGroup();
}

QString Settings::databasePath() const { return QDir(outputFolder).filePath(QStringLiteral("history.sqlite")); }

}  // namespace sf::ui
