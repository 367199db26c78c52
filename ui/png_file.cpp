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
    // QImage::setText keeps newlines (QImageWriter::setText would simplify the whitespace away).
    QImage tagged = image;
    tagged.setText(QStringLiteral("parameters"), parameters);
    QImageWriter writer(&file, "png");
    if (!writer.write(tagged)) {
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
    // QImageReader::text() returns whitespace-simplified text; the decoded QImage keeps the newlines.
    QImageReader reader(path);
    const QImage image = reader.read();
    const QString text = image.text(QStringLiteral("parameters"));
    return text.isEmpty() ? reader.text(QStringLiteral("parameters")) : text;
}

}  // namespace sf::ui
