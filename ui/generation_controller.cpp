#include "ui/generation_controller.h"

#include <QMetaObject>

#include <condition_variable>
#include <optional>
#include <stop_token>
#include <thread>

#include "core/error.h"
#include "core/image.h"
#include "core/models/taesd.h"
#include "core/parameters.h"
#include "core/worker.h"
#include "io/png_io.h"
#include "ui/model_info.h"
#include "ui/png_file.h"
#include "ui/qt_convert.h"

namespace sf::ui {

/// The "taesd" preview mode: a thread of its own that decodes only the newest latent offered (older ones
/// waiting are dropped), so the sampler never waits for a preview.
class TaesdPreviewer {
public:
    using Deliver = std::function<void(qint64 id, const QImage& preview)>;

    explicit TaesdPreviewer(Deliver deliver)
        : m_deliver(std::move(deliver)), m_thread([this](std::stop_token stop) { run(stop); }) {}

    /// Queues `latent` [N, 4, h, w] of job `id` for `decoder`, replacing any latent still waiting.
    void offer(qint64 id, const torch::Tensor& latent, const QString& decoder) {
        {
            std::lock_guard lock(m_mutex);
            m_pending = Item{id, latent.narrow(0, 0, 1).to(torch::kFloat32).clone(), decoder};
        }
        m_wake.notify_one();
    }

private:
    struct Item {
        qint64 id = 0;
        torch::Tensor latent;
        QString decoder;
    };

    void run(std::stop_token stop) {
        for (;;) {
            Item item;
            {
                std::unique_lock lock(m_mutex);
                if (!m_wake.wait(lock, stop, [this] { return m_pending.has_value(); })) {
                    return;
                }
                item = std::move(*m_pending);
                m_pending.reset();
            }
            if (item.decoder == m_failed) {
                continue;
            }
            try {
                if (item.decoder != m_loaded) {
                    m_taesd = sf::taesd::TAESD::load({}, std::filesystem::path(item.decoder.toStdString()),
                                                     torch::kCPU, sf::taesd::cpu_preview_dtype());
                    m_loaded = item.decoder;
                }
                torch::NoGradGuard no_grad;
                auto rgb = m_taesd->decode(item.latent).clamp(0, 1) * 2.0 - 1.0;  // [1, 3, 8h, 8w]
                m_deliver(item.id, toQImage(sf::image_from_tensor(rgb)));
            } catch (const std::exception&) {
                m_failed = item.decoder;  // unreadable decoder: no TAESD previews from it (the job runs on)
                m_loaded.clear();
                m_taesd.reset();
            }
        }
    }

    Deliver m_deliver;
    std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::optional<Item> m_pending;
    // Preview thread only.
    std::optional<sf::taesd::TAESD> m_taesd;
    QString m_loaded;
    QString m_failed;
    std::jthread m_thread;  // declared last: stopped and joined first
};

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
                    const QString mode = lockedParams(id).preview;
                    QString decoder;
                    if (mode == QStringLiteral("taesd")) {
                        std::lock_guard lock(m_mutex);
                        decoder = m_taesd[m_sdxlLatents ? 1 : 0];
                    }
                    if (!decoder.isEmpty()) {
                        m_previewer->offer(id, e.latent, decoder);  // arrives later as previewed()
                    }
                    const bool wantPreview = mode != QStringLiteral("none") && decoder.isEmpty();
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
    m_previewer = std::make_unique<TaesdPreviewer>([this](qint64 id, const QImage& preview) {
        // Preview thread; m_previewer is destroyed (joined) before `this` goes.
        QMetaObject::invokeMethod(
            this, [this, id, preview] { Q_EMIT previewed(id, preview); }, Qt::QueuedConnection);
    });
    m_worker = std::make_unique<sf::Worker>(std::move(runner), std::move(onEvent), std::move(saver));
}

GenerationController::~GenerationController() {
    m_worker.reset();  // cancels and joins; posted events to `this` are dropped with it
    m_previewer.reset();
}

void GenerationController::setOutputFolder(const QString& folder) {
    std::lock_guard lock(m_mutex);
    m_outputFolder = folder;
}

void GenerationController::setDefaultModel(const QString& path) {
    std::lock_guard lock(m_mutex);
    m_defaultModel = path;
}

void GenerationController::setTaesdDecoders(const QString& sd, const QString& sdxl) {
    std::lock_guard lock(m_mutex);
    m_taesd[0] = sd;
    m_taesd[1] = sdxl;
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
