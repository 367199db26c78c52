#include "ui/model_info.h"

#include <QDateTime>
#include <QFileInfo>

#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <utility>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/family.h"
#include "core/models/prompt_parser.h"
#include "core/models/tokenizer.h"
#include "core/models/word_tokenizer.h"

namespace sf::ui {

namespace {

/// A per-key cache whose value is computed once, by the first caller, while later callers wait for it.
template <typename T>
class OnceCache {
public:
    template <typename Make>
    T get(const QString& key, Make make) {
        std::promise<T> promise;
        std::shared_future<T> future;
        bool owner = false;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_values.find(key);
            if (it == m_values.end()) {
                future = promise.get_future().share();
                m_values.emplace(key, future);
                owner = true;
            } else {
                future = it->second;
            }
        }
        if (owner) {
            promise.set_value(make());
        }
        return future.get();
    }

private:
    std::mutex m_mutex;
    std::map<QString, std::shared_future<T>> m_values;
};

/// The path plus its modification time: a replaced file is read again.
QString cacheKey(const QString& path) {
    return path + QLatin1Char('@') + QString::number(QFileInfo(path).lastModified().toMSecsSinceEpoch());
}

std::filesystem::path fsPath(const QString& path) { return std::filesystem::path(path.toStdString()); }

const std::string* findMeta(const sf::Checkpoint& ckpt, const std::string& key) {
    auto it = ckpt.metadata().find(key);
    return it == ckpt.metadata().end() ? nullptr : &it->second;
}

std::shared_ptr<const ModelInfo> readModel(const QString& path) {
    auto info = std::make_shared<ModelInfo>();
    info->path = path;
    try {
        const auto ckpt = sf::Checkpoint::open(fsPath(path), sf::Validation::header_only);
        const sf::FamilyInfo family = sf::detect_family(ckpt);
        info->family = QString::fromStdString(family.name);
        switch (family.family) {
            case sf::Family::sd2: info->defaultSize = 768; break;
            case sf::Family::sdxl_base:
            case sf::Family::sdxl_refiner:
                info->defaultSize = 1024;
                info->sdxlLatents = true;
                break;
            case sf::Family::sd3:
            case sf::Family::flux_dev:
            case sf::Family::flux_schnell: info->defaultSize = 1024; break;
            default: break;
        }
        for (const auto& component : family.components) {
            info->clipText = info->clipText || component.kind == "clip_text" || component.kind == "open_clip_text";
        }
        if (const std::string* name = findMeta(ckpt, "sfumato.model")) {
            info->family = QString::fromStdString(*name);
        }
        if (const std::string* size = findMeta(ckpt, "sfumato.default_size")) {
            info->defaultSize = std::max(64, std::atoi(size->c_str()));
        }
        if (findMeta(ckpt, sf::WordTokenizer::kMetadataKey)) {
            info->clipText = false;  // its own word vocabulary
        }
    } catch (const std::exception& e) {
        info->family = QStringLiteral("?");
        info->error = QString::fromStdString(e.what());
    }
    return info;
}

TokenCounter makeTokenCounter(const QString& path) {
    try {
        const auto info = inspectModel(path);
        if (!info->error.isEmpty()) {
            return {};
        }
        const auto ckpt = sf::Checkpoint::open(fsPath(path), sf::Validation::header_only);
        if (const std::string* json = findMeta(ckpt, sf::WordTokenizer::kMetadataKey)) {
            auto words = std::make_shared<const sf::WordTokenizer>(sf::WordTokenizer::from_json(*json));
            return [words](const QString& prompt) {
                int n = 0;
                for (const auto& [text, weight] : sf::parse_prompt_attention(prompt.toStdString())) {
                    if (!(text == "BREAK" && weight == -1)) {
                        n += static_cast<int>(words->encode(text).size());
                    }
                }
                return n;
            };
        }
        if (info->clipText) {
            auto clip = std::make_shared<const sf::CLIPTokenizer>(sf::find_tokenizer(fsPath(path)));
            return [clip](const QString& prompt) { return sf::chunk_prompt(*clip, prompt.toStdString()).token_count; };
        }
    } catch (const std::exception&) {
        // No vocabulary found (or unreadable metadata): the caller falls back to the rough count.
    }
    return {};
}

}  // namespace

std::shared_ptr<const ModelInfo> inspectModel(const QString& path) {
    static OnceCache<std::shared_ptr<const ModelInfo>> cache;
    return cache.get(cacheKey(path), [&] { return readModel(path); });
}

TokenCounter tokenCounter(const QString& path) {
    static OnceCache<TokenCounter> cache;
    return cache.get(cacheKey(path), [&] { return makeTokenCounter(path); });
}

}  // namespace sf::ui
