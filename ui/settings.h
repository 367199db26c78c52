// Settings <-> QSettings: folders, device, precision, preview mode and the last parameters.
#pragma once

#include <QSettings>
#include <QString>

#include "ui/generation_params.h"

namespace sf::ui {

/// What the app remembers between runs.
struct Settings {
    QString modelsFolder;
    QString outputFolder;
    QString device = QStringLiteral("auto");     ///< "auto", "cpu", "cuda:N"
    QString precision = QStringLiteral("auto");  ///< "auto", "fp32", "fp16", "bf16"
    QString previewMode = QStringLiteral("latent");  ///< "latent", "taesd" or "none"
    QString taesdDecoder;    ///< TAESD decoder file for SD 1.x/2.x previews ("" = none)
    QString taesdxlDecoder;  ///< TAESD decoder file for SDXL previews ("" = none)
    GenerationParams lastParams;
    bool hasLastParams = false;  ///< false on first start

    /// Reads `store` (defaults: folders under the user's data location).
    static Settings load(QSettings& store);
    void save(QSettings& store) const;
    /// The history database path (in the output folder).
    QString databasePath() const;
};

}  // namespace sf::ui
