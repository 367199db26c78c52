#include "ui/prompt_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "ui/model_picker.h"
#include "ui/prompt_edit.h"
#include "ui/prompt_syntax.h"
#include "ui/qt_convert.h"

namespace sf::ui {

PromptPanel::PromptPanel(QWidget* parent) : QWidget(parent) {
    m_prompt = new PromptEdit(this);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_prompt->setPlaceholderText(tr("Prompt (Ctrl+Enter generates, Ctrl+Up/Down changes emphasis)"));
    m_negative = new PromptEdit(this);
    m_negative->setObjectName(QStringLiteral("negativePrompt"));
    m_negative->setPlaceholderText(tr("Negative prompt"));
    m_prompt->setMinimumHeight(80);
    m_negative->setMaximumHeight(70);
    m_tokens = new QLabel(tokenCounterText(0), this);
    m_tokens->setObjectName(QStringLiteral("tokenCount"));
    m_negativeTokens = new QLabel(tokenCounterText(0), this);

    m_cfgSlider = new QSlider(Qt::Horizontal, this);
    m_cfgSlider->setRange(0, 60);  // half steps
    m_cfg = new QDoubleSpinBox(this);
    m_cfg->setObjectName(QStringLiteral("cfgScale"));
    m_cfg->setRange(0.0, 30.0);
    m_cfg->setSingleStep(0.5);
    m_cfg->setDecimals(1);
    m_steps = new QSpinBox(this);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setRange(1, 150);
    m_seed = new QLineEdit(this);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("-1|\\d{1,19}")), m_seed));
    m_seed->setToolTip(tr("-1: a new random seed for every image"));
    auto* dice = new QToolButton(this);
    dice->setObjectName(QStringLiteral("seedRandom"));
    dice->setText(QStringLiteral("🎲"));
    dice->setToolTip(tr("Random seed (-1)"));
    m_seedLock = new QCheckBox(tr("Lock"), this);
    m_seedLock->setObjectName(QStringLiteral("seedLock"));
    m_seedLock->setToolTip(tr("Keep the last used seed"));
    m_width = new QSpinBox(this);
    m_height = new QSpinBox(this);
    for (QSpinBox* box : {m_width, m_height}) {
        box->setRange(64, 4096);
        box->setSingleStep(8);
        box->setCorrectionMode(QAbstractSpinBox::CorrectToNearestValue);
    }
    m_width->setObjectName(QStringLiteral("width"));
    m_height->setObjectName(QStringLiteral("height"));
    m_presets = new QComboBox(this);
    m_presets->setObjectName(QStringLiteral("sizePresets"));
    m_sampler = new QComboBox(this);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    m_sampler->addItems(samplerNames());
    m_schedule = new QComboBox(this);
    m_schedule->setObjectName(QStringLiteral("schedule"));
    m_schedule->addItems(scheduleNames());
    m_batchSize = new QSpinBox(this);
    m_batchSize->setRange(1, 16);
    m_batchCount = new QSpinBox(this);
    m_batchCount->setRange(1, 100);
    m_models = new ModelPicker(this);
    m_generate = new QPushButton(tr("Generate"), this);
    m_generate->setObjectName(QStringLiteral("generateButton"));
    m_generate->setDefault(true);

    auto* promptHeader = new QHBoxLayout;
    promptHeader->addWidget(new QLabel(tr("Prompt"), this));
    promptHeader->addStretch();
    promptHeader->addWidget(m_tokens);
    auto* negativeHeader = new QHBoxLayout;
    negativeHeader->addWidget(new QLabel(tr("Negative prompt"), this));
    negativeHeader->addStretch();
    negativeHeader->addWidget(m_negativeTokens);

    auto* cfgRow = new QHBoxLayout;
    cfgRow->addWidget(m_cfgSlider, 1);
    cfgRow->addWidget(m_cfg);
    auto* seedRow = new QHBoxLayout;
    seedRow->addWidget(m_seed, 1);
    seedRow->addWidget(dice);
    seedRow->addWidget(m_seedLock);
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(m_width);
    sizeRow->addWidget(new QLabel(QStringLiteral("×"), this));
    sizeRow->addWidget(m_height);
    sizeRow->addWidget(m_presets, 1);
    auto* batchRow = new QHBoxLayout;
    batchRow->addWidget(new QLabel(tr("size"), this));
    batchRow->addWidget(m_batchSize);
    batchRow->addWidget(new QLabel(tr("count"), this));
    batchRow->addWidget(m_batchCount);

    auto* form = new QFormLayout;
    form->addRow(tr("Model"), m_models);
    form->addRow(tr("Guidance"), cfgRow);
    form->addRow(tr("Steps"), m_steps);
    form->addRow(tr("Sampler"), m_sampler);
    form->addRow(tr("Schedule"), m_schedule);
    form->addRow(tr("Seed"), seedRow);
    form->addRow(tr("Size"), sizeRow);
    form->addRow(tr("Batch"), batchRow);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(promptHeader);
    layout->addWidget(m_prompt, 2);
    layout->addLayout(negativeHeader);
    layout->addWidget(m_negative, 1);
    layout->addLayout(form);
    layout->addWidget(m_generate);

    connect(m_prompt, &QPlainTextEdit::textChanged, this, &PromptPanel::updateTokenCounts);
    connect(m_negative, &QPlainTextEdit::textChanged, this, &PromptPanel::updateTokenCounts);
    connect(m_prompt, &PromptEdit::generateRequested, this, &PromptPanel::generateRequested);
    connect(m_negative, &PromptEdit::generateRequested, this, &PromptPanel::generateRequested);
    connect(m_generate, &QPushButton::clicked, this, &PromptPanel::generateRequested);
    connect(m_cfgSlider, &QSlider::valueChanged, this, [this](int v) {
        if (std::lround(m_cfg->value() * 2) != v) {
            m_cfg->setValue(v / 2.0);
        }
    });
    connect(m_cfg, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        const QSignalBlocker block(m_cfgSlider);
        m_cfgSlider->setValue(static_cast<int>(std::lround(v * 2)));
    });
    connect(dice, &QToolButton::clicked, this, [this] {
        m_seedLock->setChecked(false);
        m_seed->setText(QStringLiteral("-1"));
    });
    connect(m_seedLock, &QCheckBox::toggled, this, [this](bool on) {
        if (on && m_seed->text().toLongLong() < 0 && m_lastSeed >= 0) {
            m_seed->setText(QString::number(m_lastSeed));
        }
    });
    auto sizeChanged = [this] {
        if (!m_applyingSize) {
            m_followModelSize = false;
        }
        Q_EMIT targetSizeChanged(QSize(m_width->value(), m_height->value()));
    };
    connect(m_width, &QSpinBox::valueChanged, this, sizeChanged);
    connect(m_height, &QSpinBox::valueChanged, this, sizeChanged);
    connect(m_presets, &QComboBox::activated, this, [this](int index) {
        const QSize size = m_presets->itemData(index).toSize();
        if (size.isValid()) {
            m_width->setValue(size.width());
            m_height->setValue(size.height());
        }
    });
    connect(m_models, &ModelPicker::modelChanged, this, &PromptPanel::onModelChanged);
    setParams(GenerationParams{});
    onModelChanged();
}

QList<QSize> PromptPanel::sizePresets(int defaultSize) {
    if (defaultSize >= 1024) {
        return {{1024, 1024}, {1152, 896}, {896, 1152}, {1216, 832}, {832, 1216}, {1344, 768}, {768, 1344}};
    }
    if (defaultSize >= 768) {
        return {{768, 768}, {512, 512}, {1024, 768}, {768, 1024}, {896, 640}, {640, 896}};
    }
    if (defaultSize >= 512) {
        return {{512, 512}, {768, 512}, {512, 768}, {640, 448}, {448, 640}, {256, 256}};
    }
    const int s = std::max(64, defaultSize / 8 * 8);
    const int wide = (s * 3 / 2 + 7) / 8 * 8;
    return {{s, s}, {wide, s}, {s, wide}, {2 * s, 2 * s}};
}

void PromptPanel::setFollowModelSize(bool on) {
    m_followModelSize = on;
    onModelChanged();
}

void PromptPanel::onModelChanged() {
    const QString family = m_models->currentFamily();
    const int size = m_models->currentDefaultSize();
    m_presets->clear();
    m_presets->addItem(tr("Presets (%1)").arg(family.isEmpty() ? QStringLiteral("?") : family));
    for (const QSize& s : sizePresets(size)) {
        m_presets->addItem(QStringLiteral("%1 × %2").arg(s.width()).arg(s.height()), s);
    }
    if (m_followModelSize && family != QStringLiteral("…") && family != QStringLiteral("?")) {
        m_applyingSize = true;
        m_width->setValue(size);
        m_height->setValue(size);
        m_applyingSize = false;
    }
    // The token counter of the model's own tokenizer, loaded off the UI thread (the rough count meanwhile).
    const QString file = m_models->currentModelFile();
    if (file != m_counterModel) {
        m_counterModel = file;
        m_counter = {};
        if (!file.isEmpty()) {
            runInBackground(
                this, [file] { return tokenCounter(file); },
                [this, file](TokenCounter counter) {
                    if (file == m_counterModel) {
                        m_counter = std::move(counter);
                        updateTokenCounts();
                    }
                });
        }
    }
    updateTokenCounts();
}

void PromptPanel::updateTokenCounts() {
    auto count = [this](const QString& text) { return m_counter ? m_counter(text) : countTokens(text); };
    m_tokens->setText(tokenCounterText(count(m_prompt->toPlainText())));
    m_negativeTokens->setText(tokenCounterText(count(m_negative->toPlainText())));
}

void PromptPanel::setLastSeed(qint64 seed) {
    m_lastSeed = seed;
    if (m_seedLock->isChecked() && m_seed->text().toLongLong() < 0) {
        m_seed->setText(QString::number(seed));
    }
}

GenerationParams PromptPanel::params() const {
    GenerationParams p;
    p.prompt = m_prompt->toPlainText();
    p.negativePrompt = m_negative->toPlainText();
    p.model = m_models->currentModel();
    p.width = m_width->value() / 8 * 8;
    p.height = m_height->value() / 8 * 8;
    p.steps = m_steps->value();
    p.cfgScale = m_cfg->value();
    p.sampler = m_sampler->currentText();
    p.schedule = m_schedule->currentText();
    bool ok = false;
    p.seed = m_seed->text().toLongLong(&ok);
    if (!ok) {
        p.seed = -1;
    }
    p.batchSize = m_batchSize->value();
    p.batchCount = m_batchCount->value();
    return p;
}

void PromptPanel::setParams(const GenerationParams& p) {
    m_followModelSize = false;
    if (m_prompt->toPlainText() != p.prompt) {
        m_prompt->setPlainText(p.prompt);
    }
    if (m_negative->toPlainText() != p.negativePrompt) {
        m_negative->setPlainText(p.negativePrompt);
    }
    m_models->setCurrentModel(p.model);
    m_width->setValue(p.width);
    m_height->setValue(p.height);
    m_steps->setValue(p.steps);
    m_cfg->setValue(p.cfgScale);
    if (m_sampler->findText(p.sampler) < 0) {
        m_sampler->addItem(p.sampler);
    }
    m_sampler->setCurrentText(p.sampler);
    if (m_schedule->findText(p.schedule) < 0) {
        m_schedule->addItem(p.schedule);
    }
    m_schedule->setCurrentText(p.schedule);
    m_seed->setText(QString::number(p.seed));
    m_batchSize->setValue(p.batchSize);
    m_batchCount->setValue(p.batchCount);
    updateTokenCounts();
}

}  // namespace sf::ui
