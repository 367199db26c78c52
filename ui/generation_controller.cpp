#include "ui/generation_controller.h"

#include <QMetaObject>

#include "core/error.h"
#include "core/parameters.h"
#include "core/worker.h"
#include "io/png_io.h"
#include "ui/model_info.h"
#include "ui/png_file.h"
#include "ui/qt_convert.h"

namespace sf::ui {

GenerationController::GenerationController(Runner runner, QObject* parent) : QObject(parent) {
    qRegisterMetaType<GenerationParams>();
    auto onEvent = [this](sf::Event event) {
        // Worker thread: convert to Qt values here (cheap), then post to the UI thread.
        std::visit(
            [this](auto& e) {
                using T = std::decay_t<decltype(e)>;
                const qint64 id = e.id;
                if constexpr (std::is_same_v<T, sf::Started>) {
                    const qint64 seed = e.request.seed;
                    QString model = QString::fromStdString(e.request.model.string());
                    if (model.isEmpty()) {
                        std::lock_guard lock(m_mutex);
                        model = m_defaultModel;
                    }
                    // Header only, cached: which latent -> RGB factors this job's previews use.
                    m_sdxlLatents = !model.isEmpty() && inspectModel(model)->sdxlLatents;
                    QMetaObject::invokeMethod(this, [this, id, seed] { onStarted(id, seed); }, Qt::QueuedConnection);
                } else if constexpr (std::is_same_v<T, sf::Progress>) {
                    const bool wantPreview = lockedParams(id).preview != QStringLiteral("none");
                    QImage preview = wantPreview ? latentToPreview(e.latent, m_sdxlLatents) : QImage();
                    const int step = e.step;
                    const int steps = e.steps;
                    const double its = e.its;
                    const double elapsed = e.elapsed_s;
                    QMetaObject::invokeMethod(
                        this,
                        [this, id, step, steps, its, elapsed, preview] {
                            Q_EMIT progressed(id, step, steps, its, elapsed, preview);
                        },
                        Qt::QueuedConnection);
                } else if constexpr (std::is_same_v<T, sf::Finished>) {
                    QList<QImage> images;
                    for (const auto& image : e.images) {
                        images << toQImage(image);
                    }
                    QStringList paths;
                    for (const auto& path : e.paths) {
                        paths << QString::fromStdString(path.string());
                    }
                    const qint64 seed = e.request.seed;
                    const double elapsed = e.elapsed_s;
                    QMetaObject::invokeMethod(
                        this, [this, id, seed, images, paths, elapsed] { onFinished(id, seed, images, paths, elapsed); },
                        Qt::QueuedConnection);
                } else if constexpr (std::is_same_v<T, sf::Failed>) {
                    const QString message = QString::fromStdString(e.message);
                    QMetaObject::invokeMethod(
                        this,
                        [this, id, message] {
                            Q_EMIT jobFailed(id, message);
                            onEnded(id);
                        },
                        Qt::QueuedConnection);
                } else {
                    QMetaObject::invokeMethod(
                        this,
                        [this, id] {
                            Q_EMIT jobCancelled(id);
                            onEnded(id);
                        },
                        Qt::QueuedConnection);
                }
            },
            event);
    };
    auto saver = [this](const sf::GenerateRequest& request, const sf::Image& image, int index) {
        // Worker thread; `request` is the job's own (seed resolved, model filled in by the runner).
        QString folder;
        {
            std::lock_guard lock(m_mutex);
            folder = m_outputFolder;
        }
        if (folder.isEmpty()) {
            return std::filesystem::path();
        }
        sf::InfotextInfo info;
        if (!request.model.empty()) {
            info.model_name = request.model.stem().string();
            auto [it, added] = m_modelHashes.try_emplace(request.model.string());
            if (added) {
                try {
                    it->second = sf::short_model_hash(request.model);  // once per model: seconds for GBs
                } catch (const std::exception&) {
                    // unreadable: no "Model hash" field
                }
            }
            info.model_hash = it->second;
        }
        const auto i = static_cast<size_t>(index);
        const qint64 seed = i < request.seeds.size() ? request.seeds[i] : request.seed + index;
        const std::filesystem::path path(nextImagePath(folder, seed).toStdString());
        sf::io::write_png(path, image, {{"parameters", sf::format_parameters(request, info, index)}});
        return path;
    };
    m_worker = std::make_unique<sf::Worker>(std::move(runner), std::move(onEvent), std::move(saver));
}

GenerationController::~GenerationController() {
    m_worker.reset();  // cancels and joins; posted events to `this` are dropped with it
}

void GenerationController::setOutputFolder(const QString& folder) {
    std::lock_guard lock(m_mutex);
    m_outputFolder = folder;
}

void GenerationController::setDefaultModel(const QString& path) {
    std::lock_guard lock(m_mutex);
    m_defaultModel = path;
}

QString GenerationController::outputFolder() const {
    std::lock_guard lock(m_mutex);
    return m_outputFolder;
}

qint64 GenerationController::submit(const GenerationParams& params) {
    sf::GenerateRequest request = toRequest(params);
    // Hold the lock across submit so the saver never sees the id before its parameters.
    qint64 id = 0;
    {
        std::lock_guard lock(m_mutex);
        id = m_worker->submit(std::move(request));
        m_params.insert(id, params);
    }
    Q_EMIT queueChanged();
    return id;
}

void GenerationController::cancel(qint64 id) { m_worker->cancel(id); }

void GenerationController::cancelAll() { m_worker->cancel_all(); }

void GenerationController::move(qint64 id, int delta) {
    m_worker->move(id, delta);
    Q_EMIT queueChanged();
}

QList<QPair<qint64, GenerationParams>> GenerationController::queued() const {
    QList<QPair<qint64, GenerationParams>> out;
    for (const auto& job : m_worker->queued()) {
        out.append({job.first, lockedParams(job.first)});
    }
    return out;
}

qint64 GenerationController::running() const { return m_worker->running(); }

GenerationParams GenerationController::paramsOf(qint64 id) const { return lockedParams(id); }

bool GenerationController::busy() const { return m_worker->running() != 0 || !m_worker->queued().empty(); }

GenerationParams GenerationController::lockedParams(qint64 id) const {
    std::lock_guard lock(m_mutex);
    return m_params.value(id);
}

void GenerationController::onStarted(qint64 id, qint64 seed) {
    GenerationParams p;
    {
        std::lock_guard lock(m_mutex);
        m_params[id].seed = seed;
        p = m_params.value(id);
    }
    Q_EMIT jobStarted(id, p);
    Q_EMIT queueChanged();
}

void GenerationController::onFinished(qint64 id, qint64 seed, const QList<QImage>& images, const QStringList& paths,
                                      double elapsedS) {
    GenerationParams p = lockedParams(id);
    p.seed = seed;
    QList<GenerationParams> perImage;
    for (int i = 0; i < images.size(); ++i) {
        perImage << p.forImage(i);
    }
    Q_EMIT jobFinished(id, perImage, images, paths, elapsedS);
    onEnded(id);
}

void GenerationController::onEnded(qint64 id) {
    {
        std::lock_guard lock(m_mutex);
        m_params.remove(id);
    }
    Q_EMIT queueChanged();
}

}  // namespace sf::ui
