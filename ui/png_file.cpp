#include "ui/png_file.h"

#include <QDir>
#include <QFileInfo>

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
    QDir().mkpath(folder);
    return QString::fromStdString(sf::io::numbered_png_path(fsPath(folder), seed).string());
}

QString readPngParameters(const QString& path) {
    try {
        return QString::fromStdString(sf::io::find_png_text(sf::io::read_png_text(fsPath(path)), "parameters"));
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace sf::ui
