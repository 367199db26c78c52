#include "ui/png_file.h"

#include <QDir>
#include <QImageReader>
#include <QImageWriter>
#include <QRegularExpression>
#include <QSaveFile>

#include <mutex>

namespace sf::ui {

bool writePng(const QString& path, const QImage& image, const QString& parameters, QString* error) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error) {
            *error = file.errorString();
        }
        return false;
    }
    QImageWriter writer(&file, "png");
    writer.setText(QStringLiteral("parameters"), parameters);
    if (!writer.write(image)) {
        if (error) {
            *error = writer.errorString();
        }
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) {
        if (error) {
            *error = file.errorString();
        }
        return false;
    }
    return true;
}

QString nextImagePath(const QString& folder, qint64 seed) {
    static std::mutex mutex;  // one numbering pass at a time
    std::lock_guard lock(mutex);
    QDir dir(folder);
    dir.mkpath(QStringLiteral("."));
    int next = 0;
    static const QRegularExpression numbered(QStringLiteral("^(\\d{5})-"));
    for (const QString& name : dir.entryList({QStringLiteral("*.png")}, QDir::Files)) {
        auto m = numbered.match(name);
        if (m.hasMatch()) {
            next = std::max(next, m.captured(1).toInt() + 1);
        }
    }
    QString path;
    do {
        path = dir.filePath(QStringLiteral("%1-%2.png").arg(next++, 5, 10, QLatin1Char('0')).arg(seed));
    } while (QFileInfo::exists(path));
    return path;
}

QString readPngParameters(const QString& path) {
    QImageReader reader(path);
    return reader.text(QStringLiteral("parameters"));
}

}  // namespace sf::ui
