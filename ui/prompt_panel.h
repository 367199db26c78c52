// Prompt, negative prompt and every generation parameter; emits generateRequested().
#pragma once

#include <QSize>
#include <QWidget>

#include "ui/generation_params.h"
#include "ui/model_info.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace sf::ui {

class ModelPicker;
class PromptEdit;

class PromptPanel : public QWidget {
    Q_OBJECT
public:
    explicit PromptPanel(QWidget* parent = nullptr);

    /// The parameters shown (no reference image: the ReferencePanel adds it).
    GenerationParams params() const;
    /// Shows `params` (prompt, sizes, seed, ...); the reference image is ignored.
    void setParams(const GenerationParams& params);

    /// Remembers the seed of the last started job (used by the lock button).
    void setLastSeed(qint64 seed);
    /// Size presets around a model's default size (512 SD1, 768 SD2, 1024 SDXL, 64 the embedded model).
    static QList<QSize> sizePresets(int defaultSize);
    /// While on, the width and height follow the selected model's default size (first start); any size
    /// edit or setParams turns it off.
    void setFollowModelSize(bool on);

    PromptEdit* promptEdit() const { return m_prompt; }
    PromptEdit* negativeEdit() const { return m_negative; }
    ModelPicker* modelPicker() const { return m_models; }
    QPushButton* generateButton() const { return m_generate; }
    QLabel* tokenLabel() const { return m_tokens; }

Q_SIGNALS:
    /// Generate was clicked or Ctrl+Enter pressed in a prompt box.
    void generateRequested();
    /// Width or height changed.
    void targetSizeChanged(QSize size);

private:
    void updateTokenCounts();
    void onModelChanged();

    PromptEdit* m_prompt = nullptr;
    PromptEdit* m_negative = nullptr;
    QLabel* m_tokens = nullptr;
    QLabel* m_negativeTokens = nullptr;
    QSlider* m_cfgSlider = nullptr;
    QDoubleSpinBox* m_cfg = nullptr;
    QSpinBox* m_steps = nullptr;
    QLineEdit* m_seed = nullptr;
    QCheckBox* m_seedLock = nullptr;
    QSpinBox* m_width = nullptr;
    QSpinBox* m_height = nullptr;
    QComboBox* m_presets = nullptr;
    QComboBox* m_sampler = nullptr;
    QComboBox* m_schedule = nullptr;
    QSpinBox* m_batchSize = nullptr;
    QSpinBox* m_batchCount = nullptr;
    ModelPicker* m_models = nullptr;
    QPushButton* m_generate = nullptr;
    qint64 m_lastSeed = -1;
    TokenCounter m_counter;  // the selected model's tokenizer; empty: the rough count (prompt_syntax.h)
    QString m_counterModel;  // the file m_counter belongs to
    bool m_followModelSize = false;
    bool m_applyingSize = false;
};

}  // namespace sf::ui
