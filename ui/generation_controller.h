// The one place that crosses threads (STYLE.md §2.14): owns the core sf::Worker, re-posts each of its
// Events to the UI thread with a queued QMetaObject::invokeMethod, and emits typed signals.
#pragma once

#include <QImage>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPair>
#include <QString>
#include <QStringList>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ui/generation_params.h"

namespace sf {
class Worker;
struct GenerateRequest;
struct JobContext;
struct Image;
}  // namespace sf

namespace sf::ui {

class TaesdPreviewer;

class GenerationController : public QObject {
    Q_OBJECT
public:
    /// Same type as sf::JobRunner (core/worker.h), spelled here so this header needs no torch.
    using Runner = std::function<std::vector<sf::Image>(sf::GenerateRequest&, sf::JobContext&)>;

    /// Starts the worker thread; finished images are saved as PNG into outputFolder() on that thread.
    explicit GenerationController(Runner runner, QObject* parent = nullptr);
    /// Cancels everything and joins the worker (within one step of the running job).
    ~GenerationController() override;

    /// Folder the worker saves PNGs into (empty: not saved).
    void setOutputFolder(const QString& folder);
    QString outputFolder() const;
    /// The file an empty GenerationParams::model stands for (the embedded model); used to pick the preview's
    /// latent space. Empty: not installed or not known.
    void setDefaultModel(const QString& path);
    /// TAESD decoder files for the "taesd" preview mode: SD 1.x/2.x latents and SDXL latents ("" = none:
    /// that family falls back to the latent approximation).
    void setTaesdDecoders(const QString& sd, const QString& sdxl);

    /// Queues a request; returns its job id at once.
    qint64 submit(const GenerationParams& params);
    /// Cancels a queued or the running job.
    void cancel(qint64 id);
    void cancelAll();
    /// Moves a queued job one place towards the front (-1) or back (+1).
    void move(qint64 id, int delta);
    /// Queued (not yet started) jobs, in order.
    QList<QPair<qint64, GenerationParams>> queued() const;
    /// The running job's id (0: none).
    qint64 running() const;
    /// The parameters a job was submitted with (seed resolved once started).
    GenerationParams paramsOf(qint64 id) const;
    /// True while a job runs or waits.
    bool busy() const;

Q_SIGNALS:
    /// The queue (order, content or running job) changed.
    void queueChanged();
    void jobStarted(qint64 id, const sf::ui::GenerationParams& params);
    /// A step finished; `preview` is the latent approximation (null when previews are off).
    void progressed(qint64 id, int step, int steps, double itsPerSecond, double elapsedS, const QImage& preview);
    /// Images of one request, with per-image parameters and the PNG paths written.
    void jobFinished(qint64 id, const QList<sf::ui::GenerationParams>& params, const QList<QImage>& images,
                     const QStringList& paths, double elapsedS);
    /// A TAESD preview of job `id` (decoded on the preview thread from the newest latent; stale ones dropped).
    void previewed(qint64 id, const QImage& preview);
    void jobFailed(qint64 id, const QString& message);
    void jobCancelled(qint64 id);

private:
    void onStarted(qint64 id, qint64 seed);
    void onFinished(qint64 id, qint64 seed, const QList<QImage>& images, const QStringList& paths, double elapsedS);
    void onEnded(qint64 id);
    GenerationParams lockedParams(qint64 id) const;

    mutable std::mutex m_mutex;  // guards m_params, m_outputFolder and m_defaultModel (read on the worker thread)
    QMap<qint64, GenerationParams> m_params;
    QString m_outputFolder;
    QString m_defaultModel;
    QString m_taesd[2];  // decoders for SD 1.x/2.x and SDXL latents
    // Worker thread only: the running job's preview latent space, and model hashes for the PNG text.
    bool m_sdxlLatents = false;
    std::map<std::string, std::string> m_modelHashes;
    std::unique_ptr<TaesdPreviewer> m_previewer;  // fed by the worker thread: outlives m_worker
    std::unique_ptr<sf::Worker> m_worker;  // declared last: destroyed (joined) first
};

}  // namespace sf::ui
