#include "core/models/word_tokenizer.h"

#include <cctype>

#include "core/error.h"
#include "core/json.h"

namespace sf {

WordTokenizer::WordTokenizer(std::vector<std::string> vocab) : vocab_(std::move(vocab)) {
    for (size_t i = 0; i < vocab_.size(); ++i) {
        if (!ids_.emplace(vocab_[i], static_cast<int>(i)).second) {
            throw Error("word tokenizer: the word '" + vocab_[i] + "' appears twice in the vocabulary");
        }
    }
}

WordTokenizer WordTokenizer::from_json(const std::string& text) {
    json::Value doc;
    try {
        doc = json::parse(text);
    } catch (const Error& e) {
        throw Error(std::string("word tokenizer metadata is not valid JSON: ") + e.what());
    }
    if (doc.get("type", "") != std::string("words") || !doc.find("vocab") || !doc.at("vocab").is_array()) {
        throw Error("word tokenizer metadata must be {\"type\": \"words\", \"vocab\": [...]}");
    }
    std::vector<std::string> vocab;
    for (const auto& w : doc.at("vocab").items()) {
        vocab.push_back(w.as_string());
    }
    return WordTokenizer(std::move(vocab));
}

std::string WordTokenizer::to_json() const {
    json::Value list = json::Value::array();
    for (const auto& w : vocab_) {
        list.push_back(w);
    }
    return json::dump(json::Value::object({{"type", "words"}, {"vocab", list}}));
}

std::vector<int> WordTokenizer::encode(const std::string& text) const {
    std::vector<int> ids;
    std::string word;
    auto flush = [&] {
        if (!word.empty()) {
            auto it = ids_.find(word);
            ids.push_back(it == ids_.end() ? unk_id() : it->second);
            word.clear();
        }
    };
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isspace(c)) {
            flush();
        } else if (c == ',') {
            flush();
            word = ",";
            flush();
        } else {
            word += static_cast<char>(std::tolower(c));
        }
    }
    flush();
    return ids;
}

std::vector<int> WordTokenizer::encode_padded(const std::string& text, int length) const {
    auto ids = encode(text);
    std::vector<int> out = {bos_id()};
    for (size_t i = 0; i < ids.size() && static_cast<int>(out.size()) < length - 1; ++i) {
        out.push_back(ids[i]);
    }
    out.resize(static_cast<size_t>(length), eos_id());
    return out;
}

}  // namespace sf
