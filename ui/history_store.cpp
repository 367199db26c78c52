#include "ui/history_store.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include "ui/qt_convert.h"

namespace sf::ui {

namespace {

HistoryRecord recordFrom(const QSqlQuery& q) {
    HistoryRecord r;
    r.id = q.value(QStringLiteral("id")).toLongLong();
    r.path = q.value(QStringLiteral("path")).toString();
    r.created = QDateTime::fromString(q.value(QStringLiteral("created")).toString(), Qt::ISODateWithMs);
    r.parametersText = q.value(QStringLiteral("parameters")).toString();
    GenerationParams p;
    paramsFromText(r.parametersText, p);
    p.prompt = q.value(QStringLiteral("prompt")).toString();
    p.negativePrompt = q.value(QStringLiteral("negative")).toString();
    p.seed = q.value(QStringLiteral("seed")).toLongLong();
    p.cfgScale = q.value(QStringLiteral("cfg")).toDouble();
    p.steps = q.value(QStringLiteral("steps")).toInt();
    p.sampler = q.value(QStringLiteral("sampler")).toString();
    p.schedule = q.value(QStringLiteral("schedule")).toString();
    p.width = q.value(QStringLiteral("width")).toInt();
    p.height = q.value(QStringLiteral("height")).toInt();
    p.model = q.value(QStringLiteral("model")).toString();
    p.strength = q.value(QStringLiteral("strength")).toDouble();
    r.params = p;
    r.thumbnail.loadFromData(q.value(QStringLiteral("thumbnail")).toByteArray(), "PNG");
    return r;
}

}  // namespace

HistoryStore::HistoryStore(const QString& databasePath, QObject* parent)
    : QObject(parent), m_path(databasePath),
      m_connection(QStringLiteral("sfumato-history-%1").arg(reinterpret_cast<quintptr>(this))) {
    QDir().mkpath(QFileInfo(databasePath).absolutePath());
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    db.setDatabaseName(databasePath);
    if (!db.open()) {
        m_error = db.lastError().text();
        return;
    }
    QSqlQuery q(db);
    q.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
    if (!q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS images ("
                               "id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, created TEXT NOT NULL, "
                               "prompt TEXT, negative TEXT, seed INTEGER, cfg REAL, steps INTEGER, sampler TEXT, "
                               "schedule TEXT, width INTEGER, height INTEGER, model TEXT, strength REAL, "
                               "parameters TEXT, thumbnail BLOB)"))) {
        m_error = q.lastError().text();
    }
}

HistoryStore::~HistoryStore() {
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

bool HistoryStore::isOpen() const { return m_error.isEmpty() && QSqlDatabase::database(m_connection, false).isOpen(); }

QString HistoryStore::lastError() const { return m_error; }

qint64 HistoryStore::add(const QString& path, const GenerationParams& p, const QImage& image) {
    QByteArray thumb;
    {
        QBuffer buffer(&thumb);
        buffer.open(QIODevice::WriteOnly);
        image.scaled(128, 128, Qt::KeepAspectRatio, Qt::SmoothTransformation).save(&buffer, "PNG");
    }
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("INSERT INTO images (path, created, prompt, negative, seed, cfg, steps, sampler, schedule, "
                             "width, height, model, strength, parameters, thumbnail) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    q.addBindValue(path);
    q.addBindValue(QDateTime::currentDateTime().toString(Qt::ISODateWithMs));
    q.addBindValue(p.prompt);
    q.addBindValue(p.negativePrompt);
    q.addBindValue(p.seed);
    q.addBindValue(p.cfgScale);
    q.addBindValue(p.steps);
    q.addBindValue(p.sampler);
    q.addBindValue(p.schedule);
    q.addBindValue(p.width);
    q.addBindValue(p.height);
    q.addBindValue(p.model);
    q.addBindValue(p.isImg2Img() ? p.strength : 0.0);
    q.addBindValue(parametersText(p));
    q.addBindValue(thumb);
    if (!q.exec()) {
        m_error = q.lastError().text();
        return 0;
    }
    const qint64 id = q.lastInsertId().toLongLong();
    Q_EMIT recordAdded(id);
    return id;
}

QList<HistoryRecord> HistoryStore::search(const QString& text, int limit) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("SELECT * FROM images WHERE prompt LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?"));
    QString pattern = text;
    pattern.replace(QStringLiteral("\\"), QStringLiteral("\\\\"))
        .replace(QStringLiteral("%"), QStringLiteral("\\%"))
        .replace(QStringLiteral("_"), QStringLiteral("\\_"));
    q.addBindValue(QStringLiteral("%") + pattern + QStringLiteral("%"));
    q.addBindValue(limit);
    QList<HistoryRecord> out;
    if (q.exec()) {
        while (q.next()) {
            out << recordFrom(q);
        }
    }
    return out;
}

HistoryRecord HistoryStore::record(qint64 id) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("SELECT * FROM images WHERE id = ?"));
    q.addBindValue(id);
    if (q.exec() && q.next()) {
        return recordFrom(q);
    }
    return {};
}

bool HistoryStore::remove(qint64 id) {
    const HistoryRecord r = record(id);
    if (r.id == 0) {
        return false;
    }
    if (QFile::exists(r.path) && !QFile::moveToTrash(r.path)) {
        const QFileInfo info(r.path);
        QDir trash(info.absoluteDir().filePath(QStringLiteral(".trash")));
        trash.mkpath(QStringLiteral("."));
        QString target = trash.filePath(info.fileName());
        QFile::remove(target);
        if (!QFile::rename(r.path, target)) {
            m_error = QStringLiteral("could not move %1 to the trash").arg(r.path);
            return false;
        }
    }
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("DELETE FROM images WHERE id = ?"));
    q.addBindValue(id);
    if (!q.exec()) {
        m_error = q.lastError().text();
        return false;
    }
    Q_EMIT recordRemoved(id);
    return true;
}

int HistoryStore::count() const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (q.exec(QStringLiteral("SELECT COUNT(*) FROM images")) && q.next()) {
        return q.value(0).toInt();
    }
    return 0;
}

}  // namespace sf::ui
