// What the UI shows about a model, read from its header alone (core/checkpoint/family.h) and cached per file:
// the family name, the default picture size, the latent space for previews, and the prompt token counter
// (core/models/prompt_parser.h with the model's CLIP vocabulary, or the embedded model's word vocabulary).
// Torch stays in model_info.cpp; this header is Qt + std only.
#pragma once

#include <QCoreApplication>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <memory>

namespace sf::ui {

/// One model file or diffusers folder, as far as its header tells.
struct ModelInfo {
    QString path;
    QString family = QStringLiteral("?");  ///< FamilyInfo::name ("SD 1.x", "SDXL base", ...) or metadata "sfumato.model"
    QString error;                          ///< why the header could not be read ("" when it could)
    int defaultSize = 512;                  ///< SD1 512, SD2 768, SDXL 1024, else metadata "sfumato.default_size"
    bool sdxlLatents = false;               ///< previews use the SDXL latent -> RGB factors
    bool clipText = false;                  ///< the text encoder reads CLIP BPE tokens (a vocabulary is needed)
};

/// Counts the tokens of a prompt as the model's chunker does (A1111 emphasis syntax removed).
using TokenCounter = std::function<int(const QString& prompt)>;

/// The header of `path` (Checkpoint::open header-only + detect_family). Cached per path and modification
/// time; thread-safe; never throws (an unreadable file gives family "?" and `error`). Milliseconds.
std::shared_ptr<const ModelInfo> inspectModel(const QString& path);

/// The model's own token counter: the word vocabulary in its metadata, or its CLIP vocabulary
/// (sf::find_tokenizer: ~0.2 s the first time, so call it off the UI thread); empty when there is none.
/// Cached per path; thread-safe; never throws.
TokenCounter tokenCounter(const QString& path);

/// Runs `work()` on Qt's global thread pool, then `done(result)` on the UI thread unless `context` is gone.
template <typename Work, typename Done>
void runInBackground(QObject* context, Work work, Done done) {
    QThreadPool::globalInstance()->start([guard = QPointer<QObject>(context), work, done]() mutable {
        auto result = work();
        if (QCoreApplication* app = QCoreApplication::instance()) {
            QMetaObject::invokeMethod(
                app,
                [guard, done, result]() mutable {
                    if (guard) {
                        done(std::move(result));
                    }
                },
                Qt::QueuedConnection);
        }
    });
}

}  // namespace sf::ui
