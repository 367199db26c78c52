// The main window: places PromptPanel, ReferencePanel, ImageView, GridPanel, QueuePanel and HistoryPanel
// and wires their signals to the GenerationController and the HistoryStore.
#pragma once

#include <QElapsedTimer>
#include <QMainWindow>

#include "ui/generation_controller.h"
#include "ui/settings.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace sf::ui {

class GridPanel;
class HistoryPanel;
class HistoryStore;
class ImageView;
class PromptPanel;
class QueuePanel;
class ReferencePanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// The example prompt filled in on first start.
    static QString examplePrompt();
    /// What the banner says when the embedded default model is selected but not installed.
    static QString missingDefaultModelText();

    /// `runner` does the work on the worker thread (app/ passes the pipeline's).
    explicit MainWindow(GenerationController::Runner runner, const Settings& settings, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Current parameters: prompt panel + reference image + device settings.
    GenerationParams currentParams() const;
    /// Shows `params` in the editors (reference fit and strength too).
    void restoreParams(const GenerationParams& params);
    /// Queues batchCount requests for the current parameters; returns the first job id.
    qint64 generate();
    /// Cancels the running job.
    void cancelCurrent();
    /// Settings as they are now (last parameters included), to save on exit.
    Settings settings() const;
    void applySettings(const Settings& settings);
    /// The file the "Default (embedded)" model entry stands for (app/ finds it beside the executable); empty
    /// when it is not installed: a banner says so and Generate asks for another model instead of failing.
    void setDefaultModel(const QString& path);

    /// Banner text now shown ("" when hidden): errors and offers to restore parameters.
    QString bannerText() const;
    /// Restores the parameters offered by the banner (as its Restore button does); false when none.
    bool acceptBannerOffer();

    GenerationController* controller() const { return m_controller; }
    HistoryStore* history() const { return m_history; }
    PromptPanel* promptPanel() const { return m_prompt; }
    ReferencePanel* referencePanel() const { return m_reference; }
    ImageView* imageView() const { return m_view; }
    GridPanel* gridPanel() const { return m_grid; }
    QueuePanel* queuePanel() const { return m_queue; }
    HistoryPanel* historyPanel() const { return m_historyPanel; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* progressLabel() const { return m_progressLabel; }

Q_SIGNALS:
    /// A finished image was saved and recorded (row id 0 when the database write failed).
    void imageRecorded(qint64 rowId, const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void showBanner(const QString& text, bool error, bool offerRestore);
    void hideBanner();
    void onStarted(qint64 id, const GenerationParams& params);
    void onProgress(qint64 id, int step, int steps, double its, double elapsed, const QImage& preview);
    void onFinished(qint64 id, const QList<GenerationParams>& params, const QList<QImage>& images,
                    const QStringList& paths, double elapsed);
    void onFailed(qint64 id, const QString& message);
    void onCancelled(qint64 id);
    void openSettings();

    Settings m_settings;
    GenerationController* m_controller = nullptr;
    HistoryStore* m_history = nullptr;
    PromptPanel* m_prompt = nullptr;
    ReferencePanel* m_reference = nullptr;
    ImageView* m_view = nullptr;
    GridPanel* m_grid = nullptr;
    QueuePanel* m_queue = nullptr;
    HistoryPanel* m_historyPanel = nullptr;
    QTabWidget* m_tabs = nullptr;
    QWidget* m_banner = nullptr;
    QLabel* m_bannerLabel = nullptr;
    QPushButton* m_bannerRestore = nullptr;
    QString m_offeredParameters;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressLabel = nullptr;
    QPushButton* m_cancel = nullptr;
    QSize m_runningSize;
    QString m_defaultModel;
    bool m_defaultModelMissing = false;
};

}  // namespace sf::ui
