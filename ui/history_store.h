// The history database: one SQLite row (Qt SQL, WAL) per finished image, with its parameters and a thumbnail.
// Rows are only written for images already on disk, so a killed app leaves a consistent database.
#pragma once

#include <QDateTime>
#include <QImage>
#include <QList>
#include <QObject>
#include <QString>

#include "ui/generation_params.h"

namespace sf::ui {

/// One history row.
struct HistoryRecord {
    qint64 id = 0;
    QString path;
    QDateTime created;
    GenerationParams params;  ///< prompt, seed, guidance, ... (no reference image)
    QString parametersText;   ///< the PNG's A1111 text
    QImage thumbnail;
};

class HistoryStore : public QObject {
    Q_OBJECT
public:
    /// Opens (creates) the database file; see isOpen() / lastError().
    explicit HistoryStore(const QString& databasePath, QObject* parent = nullptr);
    ~HistoryStore() override;

    bool isOpen() const;
    QString lastError() const;
    QString databasePath() const { return m_path; }

    /// Records an image already written to `path`; returns the row id (0 on failure).
    qint64 add(const QString& path, const GenerationParams& params, const QImage& image);
    /// Newest first; rows whose prompt contains `text` (case-insensitive; empty: all).
    QList<HistoryRecord> search(const QString& text = {}, int limit = 500) const;
    /// One row (id 0 when absent).
    HistoryRecord record(qint64 id) const;
    /// Moves the file to the trash (or a .trash folder beside it) and deletes the row.
    bool remove(qint64 id);
    int count() const;

Q_SIGNALS:
    void recordAdded(qint64 id);
    void recordRemoved(qint64 id);

private:
    QString m_path;
    QString m_connection;
    QString m_error;
};

}  // namespace sf::ui
