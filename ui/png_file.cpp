#include "ui/png_file.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

#include <mutex>

#include "core/image.h"
#include "io/png_io.h"
#include "ui/qt_convert.h"

namespace sf::ui {

namespace {

std::filesystem::path fsPath(const QString& path) { return std::filesystem::path(path.toStdString()); }

}  // namespace

bool writePng(const QString& path, const QImage& image, const QString& parameters, QString* error) {
    try {
        QDir().mkpath(QFileInfo(path).absolutePath());
        sf::io::write_png(fsPath(path), toImage(image), {{"parameters", parameters.toStdString()}});
        return true;
    } catch (const std::exception& e) {
        if (error) {
            *error = QString::fromStdString(e.what());
        }
        return false;
    }
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
    try {
        return QString::fromStdString(sf::io::find_png_text(sf::io::read_png_text(fsPath(path)), "parameters"));
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace sf::ui
