#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "ui/grid_panel.h"
#include "ui/history_panel.h"
#include "ui/history_store.h"
#include "ui/image_view.h"
#include "ui/model_picker.h"
#include "ui/prompt_edit.h"
#include "ui/prompt_panel.h"
#include "ui/qt_convert.h"
#include "ui/queue_panel.h"
#include "ui/reference_panel.h"
#include "ui/settings_dialog.h"

namespace sf::ui {

QString MainWindow::examplePrompt() { return QStringLiteral("a large red circle in the center on a blue background"); }

MainWindow::MainWindow(GenerationController::Runner runner, const Settings& settings, QWidget* parent)
    : QMainWindow(parent), m_settings(settings) {
    setWindowTitle(QStringLiteral("Sfumato"));
    m_controller = new GenerationController(std::move(runner), this);
    m_controller->setOutputFolder(m_settings.outputFolder);
    m_history = new HistoryStore(m_settings.databasePath(), this);

    m_prompt = new PromptPanel(this);
    m_reference = new ReferencePanel(this);
    m_view = new ImageView(this);
    m_grid = new GridPanel(m_controller, this);
    m_queue = new QueuePanel(m_controller, this);
    m_historyPanel = new HistoryPanel(m_history, this);

    // Banner: errors and offers, never a blocking dialog.
    m_banner = new QWidget(this);
    m_banner->setObjectName(QStringLiteral("banner"));
    m_banner->setAutoFillBackground(true);
    m_bannerLabel = new QLabel(m_banner);
    m_bannerLabel->setWordWrap(true);
    m_bannerLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_bannerRestore = new QPushButton(tr("Restore parameters"), m_banner);
    m_bannerRestore->setObjectName(QStringLiteral("bannerRestore"));
    auto* bannerClose = new QPushButton(tr("Dismiss"), m_banner);
    auto* bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->addWidget(m_bannerLabel, 1);
    bannerLayout->addWidget(m_bannerRestore);
    bannerLayout->addWidget(bannerClose);
    m_banner->hide();

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("progressBar"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progressLabel = new QLabel(tr("Idle"), this);
    m_progressLabel->setObjectName(QStringLiteral("progressLabel"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancelButton"));
    m_cancel->setEnabled(false);

    auto* resultPage = new QWidget(this);
    auto* progressRow = new QHBoxLayout;
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_progressLabel);
    progressRow->addWidget(m_cancel);
    auto* resultLayout = new QVBoxLayout(resultPage);
    resultLayout->addWidget(m_view, 1);
    resultLayout->addLayout(progressRow);
    m_tabs = new QTabWidget(this);
    m_tabs->addTab(resultPage, tr("Result"));
    m_tabs->addTab(m_grid, tr("Grid"));

    auto* left = new QSplitter(Qt::Vertical, this);
    auto* promptScroll = new QScrollArea(this);
    promptScroll->setWidget(m_prompt);
    promptScroll->setWidgetResizable(true);
    left->addWidget(promptScroll);
    left->addWidget(m_reference);
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 1);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(left);
    splitter->addWidget(m_tabs);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({420, 680});

    auto* central = new QWidget(this);
    auto* centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(4, 4, 4, 4);
    centralLayout->addWidget(m_banner);
    centralLayout->addWidget(splitter, 1);
    setCentralWidget(central);

    auto* queueDock = new QDockWidget(tr("Queue"), this);
    queueDock->setObjectName(QStringLiteral("queueDock"));
    queueDock->setWidget(m_queue);
    addDockWidget(Qt::RightDockWidgetArea, queueDock);
    auto* historyDock = new QDockWidget(tr("History"), this);
    historyDock->setObjectName(QStringLiteral("historyDock"));
    historyDock->setWidget(m_historyPanel);
    addDockWidget(Qt::BottomDockWidgetArea, historyDock);
    resizeDocks({historyDock}, {170}, Qt::Vertical);
    resizeDocks({queueDock}, {260}, Qt::Horizontal);
    left->setSizes({600, 260});
    buildMenus();
    statusBar()->showMessage(tr("Ready"));

    connect(m_prompt, &PromptPanel::generateRequested, this, [this] { generate(); });
    connect(m_prompt, &PromptPanel::targetSizeChanged, m_reference, &ReferencePanel::setTargetSize);
    connect(m_cancel, &QPushButton::clicked, this, &MainWindow::cancelCurrent);
    connect(m_reference, &ReferencePanel::parametersFound, this, [this](const QString& text, const QString& path) {
        m_offeredParameters = text;
        showBanner(tr("%1 carries generation parameters.").arg(QFileInfo(path).fileName()), false, true);
    });
    connect(m_reference, &ReferencePanel::failed, this, [this](const QString& m) { showBanner(m, true, false); });
    connect(m_bannerRestore, &QPushButton::clicked, this, &MainWindow::acceptBannerOffer);
    connect(bannerClose, &QPushButton::clicked, this, &MainWindow::hideBanner);
    connect(m_historyPanel, &HistoryPanel::restoreRequested, this,
            [this](const GenerationParams& params, const QString& path) {
                restoreParams(params);
                QImage image(path);
                if (!image.isNull()) {
                    m_view->setImage(image);
                }
                statusBar()->showMessage(tr("Restored the parameters of %1").arg(QFileInfo(path).fileName()), 5000);
            });
    connect(m_grid, &GridPanel::runRequested, this, [this] { m_grid->run(currentParams()); });
    connect(m_grid, &GridPanel::restoreRequested, this, &MainWindow::restoreParams);
    connect(m_controller, &GenerationController::jobStarted, this, &MainWindow::onStarted);
    connect(m_controller, &GenerationController::progressed, this, &MainWindow::onProgress);
    connect(m_controller, &GenerationController::previewed, this, [this](qint64 id, const QImage& preview) {
        if (id == m_controller->running()) {  // a late TAESD preview must not cover the final image
            m_view->setPreview(preview, m_runningSize);
        }
    });
    connect(m_controller, &GenerationController::jobFinished, this, &MainWindow::onFinished);
    connect(m_controller, &GenerationController::jobFailed, this, &MainWindow::onFailed);
    connect(m_controller, &GenerationController::jobCancelled, this, &MainWindow::onCancelled);

    applySettings(m_settings);
    if (m_settings.hasLastParams) {
        m_prompt->setParams(m_settings.lastParams);
        m_reference->setFitMode(m_settings.lastParams.fit);
        m_reference->setStrength(m_settings.lastParams.strength);
    }
    if (m_prompt->params().prompt.trimmed().isEmpty() && m_prompt->modelPicker()->count() <= 1) {
        // First start without models: the embedded default model with an example prompt works at once.
        GenerationParams first = m_prompt->params();
        first.model.clear();
        first.prompt = examplePrompt();
        m_prompt->setParams(first);
        m_prompt->setFollowModelSize(true);  // the embedded model's own size once its header is read
    }
    if (!m_history->isOpen()) {
        showBanner(tr("History database unavailable: %1").arg(m_history->lastError()), true, false);
    }
    resize(1280, 860);
}

MainWindow::~MainWindow() {
    m_controller->cancelAll();
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open reference image…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Reference image"));
        if (!path.isEmpty()) {
            m_reference->loadFile(path);
        }
    });
    file->addAction(tr("Paste reference image"), QKeySequence(QStringLiteral("Ctrl+Shift+V")), m_reference,
                    &ReferencePanel::pasteFromClipboard);
    file->addAction(tr("Settings…"), this, &MainWindow::openSettings);
    file->addSeparator();
    file->addAction(tr("Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("Zoom to fit"), this, [this] { m_view->setFitToWindow(true); });
    view->addAction(tr("Zoom 1:1"), this, [this] { m_view->setFitToWindow(false); });
}

GenerationParams MainWindow::currentParams() const {
    GenerationParams p = m_prompt->params();
    m_reference->applyTo(p);
    p.device = m_settings.device;
    p.dtype = m_settings.precision;
    p.preview = m_settings.previewMode;
    return p;
}

void MainWindow::restoreParams(const GenerationParams& params) {
    GenerationParams p = params;
    p.batchCount = std::max(1, p.batchCount);
    m_prompt->setParams(p);
    m_reference->setFitMode(p.fit);
    m_reference->setStrength(p.strength);
}

qint64 MainWindow::generate() {
    const GenerationParams p = currentParams();
    if (p.prompt.trimmed().isEmpty()) {
        showBanner(tr("Type a prompt first."), true, false);
        return 0;
    }
    if (p.model.isEmpty() && m_defaultModelMissing) {
        showBanner(missingDefaultModelText(), true, false);
        return 0;
    }
    qint64 first = 0;
    for (int i = 0; i < p.batchCount; ++i) {
        GenerationParams one = p;
        one.batchCount = 1;
        if (p.seed >= 0) {
            one.seed = p.seed + static_cast<qint64>(i) * p.batchSize;
        }
        const qint64 id = m_controller->submit(one);
        first = first ? first : id;
    }
    if (m_controller->running() != 0) {
        statusBar()->showMessage(tr("Queued"), 3000);
    }
    return first;
}

void MainWindow::cancelCurrent() {
    if (const qint64 id = m_controller->running()) {
        m_controller->cancel(id);
        m_progressLabel->setText(tr("Cancelling…"));
    }
}

Settings MainWindow::settings() const {
    Settings s = m_settings;
    s.lastParams = currentParams();
    s.lastParams.initImage = QImage();
    s.hasLastParams = true;
    return s;
}

void MainWindow::applySettings(const Settings& s) {
    const bool newDatabase = s.databasePath() != m_history->databasePath();
    m_settings = s;
    m_controller->setOutputFolder(s.outputFolder);
    m_controller->setTaesdDecoders(s.taesdDecoder, s.taesdxlDecoder);
    m_prompt->modelPicker()->setFolder(s.modelsFolder);
    if (newDatabase) {
        HistoryStore* old = m_history;
        m_history = new HistoryStore(s.databasePath(), this);
        m_historyPanel->setStore(m_history);
        delete old;
    }
}

QString MainWindow::missingDefaultModelText() {
    return tr("The embedded default model is not installed (it belongs in share/sfumato/models beside the "
              "program). Choose a models folder in File → Settings… and pick a model there.");
}

void MainWindow::setDefaultModel(const QString& path) {
    m_defaultModel = path;
    m_defaultModelMissing = path.isEmpty();
    m_controller->setDefaultModel(path);
    m_prompt->modelPicker()->setDefaultModel(path);
    if (m_defaultModelMissing && m_prompt->params().model.isEmpty()) {
        showBanner(missingDefaultModelText(), true, false);
    }
}

void MainWindow::openSettings() {
    SettingsDialog dialog(m_settings, cudaDeviceCount(), this);
    if (dialog.exec() == QDialog::Accepted) {
        applySettings(dialog.settings(m_settings));
    }
}

QString MainWindow::bannerText() const { return m_banner->isHidden() ? QString() : m_bannerLabel->text(); }

bool MainWindow::acceptBannerOffer() {
    if (m_offeredParameters.isEmpty()) {
        return false;
    }
    GenerationParams p = currentParams();
    if (!paramsFromText(m_offeredParameters, p)) {
        showBanner(tr("The parameters in this image could not be read."), true, false);
        return false;
    }
    restoreParams(p);
    m_offeredParameters.clear();
    hideBanner();
    statusBar()->showMessage(tr("Parameters restored"), 5000);
    return true;
}

void MainWindow::showBanner(const QString& text, bool error, bool offerRestore) {
    QPalette palette = m_banner->palette();
    palette.setColor(QPalette::Window, error ? QColor(0xf8, 0xd7, 0xda) : QColor(0xd1, 0xe7, 0xff));
    palette.setColor(QPalette::WindowText, Qt::black);
    m_banner->setPalette(palette);
    m_bannerLabel->setText(text);
    m_bannerRestore->setVisible(offerRestore);
    if (!offerRestore) {
        m_offeredParameters.clear();
    }
    m_banner->show();
}

void MainWindow::hideBanner() {
    m_banner->hide();
    m_bannerLabel->clear();
}

void MainWindow::onStarted(qint64, const GenerationParams& params) {
    m_prompt->setLastSeed(params.seed);
    m_runningSize = QSize(params.width, params.height);
    m_progress->setRange(0, params.steps);
    m_progress->setValue(0);
    m_progressLabel->setText(tr("Starting… seed %1").arg(params.seed));
    m_cancel->setEnabled(true);
}

void MainWindow::onProgress(qint64, int step, int steps, double its, double elapsed, const QImage& preview) {
    m_progress->setRange(0, steps);
    m_progress->setValue(step);
    const double eta = its > 0 ? (steps - step) / its : 0.0;
    m_progressLabel->setText(tr("step %1/%2 · %3 it/s · ETA %4 s")
                                 .arg(step)
                                 .arg(steps)
                                 .arg(its, 0, 'f', 2)
                                 .arg(eta, 0, 'f', 1));
    if (!preview.isNull()) {
        m_view->setPreview(preview, m_runningSize);
    }
}

void MainWindow::onFinished(qint64, const QList<GenerationParams>& params, const QList<QImage>& images,
                            const QStringList& paths, double elapsed) {
    if (!images.isEmpty()) {
        m_view->setImage(images.first());
    }
    for (int i = 0; i < images.size(); ++i) {
        const QString path = paths.value(i);
        if (path.isEmpty()) {
            continue;
        }
        const qint64 row = m_history->add(path, params.value(i), images[i]);
        if (row == 0) {
            showBanner(tr("Could not record %1 in the history: %2").arg(path, m_history->lastError()), true, false);
        }
        Q_EMIT imageRecorded(row, path);
    }
    m_progress->setValue(m_progress->maximum());
    m_progressLabel->setText(tr("Done in %1 s").arg(elapsed, 0, 'f', 1));
    m_cancel->setEnabled(m_controller->running() != 0);
    statusBar()->showMessage(paths.isEmpty() ? tr("Done") : tr("Saved %1").arg(paths.join(QStringLiteral(", "))));
}

void MainWindow::onFailed(qint64, const QString& message) {
    showBanner(tr("Generation failed: %1").arg(message), true, false);
    m_progressLabel->setText(tr("Failed"));
    m_cancel->setEnabled(m_controller->running() != 0);
}

void MainWindow::onCancelled(qint64) {
    m_progressLabel->setText(tr("Cancelled"));
    m_cancel->setEnabled(m_controller->running() != 0);
    statusBar()->showMessage(tr("Cancelled"), 3000);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    m_controller->cancelAll();
    event->accept();
}

}  // namespace sf::ui
