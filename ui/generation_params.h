// The UI's copy of a generation request: Qt types only, no torch, so widget headers stay light.
// qt_convert.cpp is the one place that turns it into an sf::GenerateRequest.
#pragma once

#include <QImage>
#include <QList>
#include <QMetaType>
#include <QString>

namespace sf::ui {

/// Everything the window can ask for; mirrors sf::GenerateRequest plus UI-only fields (batchCount).
struct GenerationParams {
    QString prompt;
    QString negativePrompt;
    QString model;  ///< empty: the embedded default model
    int width = 512;
    int height = 512;
    int steps = 20;
    double cfgScale = 7.0;
    QString sampler = QStringLiteral("Euler a");
    QString schedule = QStringLiteral("Automatic");
    qint64 seed = -1;  ///< -1: random
    int batchSize = 1;
    int batchCount = 1;          ///< UI only: how many requests Generate queues
    QList<double> cfgScales;     ///< per image (grid rows); empty: cfgScale
    QList<qint64> seeds;         ///< per image (grid rows); empty: seed + index

    QImage initImage;            ///< reference image as loaded (null: txt2img)
    QString initImagePath;
    QString fit = QStringLiteral("crop");  ///< "crop", "fit" or "stretch"
    double strength = 0.75;

    QString device = QStringLiteral("auto");
    QString dtype = QStringLiteral("auto");
    QString preview = QStringLiteral("latent");  ///< "none" or "latent"

    /// True when a reference image is set (img2img).
    bool isImg2Img() const { return !initImage.isNull(); }
    /// The seed of image `index` of the batch.
    qint64 seedAt(int index) const;
    /// The guidance scale of image `index` of the batch.
    double cfgAt(int index) const;
    /// Number of images one request makes.
    int imageCount() const;
    /// A copy describing image `index` alone (seed and guidance resolved, batch of one).
    GenerationParams forImage(int index) const;
};

}  // namespace sf::ui

Q_DECLARE_METATYPE(sf::ui::GenerationParams)
