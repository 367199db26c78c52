// The embedded model's tokenizer: a small word vocabulary (the captions' words + an unknown-word token),
// carried in the checkpoint's metadata so the file is self-contained. Ids are laid out like CLIP's: the
// start and end tokens are the two largest ids, so "argmax(ids) = first end token" pooling still holds.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sf {

class WordTokenizer {
public:
    /// The metadata key that carries the vocabulary (JSON {"type":"words","vocab":[...]}).
    static constexpr const char* kMetadataKey = "sfumato.tokenizer";

    explicit WordTokenizer(std::vector<std::string> vocab);
    /// From the metadata JSON; throws sf::Error when malformed.
    static WordTokenizer from_json(const std::string& json);
    std::string to_json() const;

    /// Lower-cases, splits on white space, keeps ',' as its own token; unknown words map to unk_id().
    std::vector<int> encode(const std::string& text) const;
    /// [start] + ids[:length-2] + [end], padded with the end token to `length`.
    std::vector<int> encode_padded(const std::string& text, int length = 77) const;

    int vocab_size() const { return static_cast<int>(vocab_.size()) + 3; }
    int unk_id() const { return static_cast<int>(vocab_.size()); }
    int bos_id() const { return static_cast<int>(vocab_.size()) + 1; }
    int eos_id() const { return static_cast<int>(vocab_.size()) + 2; }
    const std::vector<std::string>& vocab() const { return vocab_; }

private:
    std::vector<std::string> vocab_;
    std::map<std::string, int> ids_;
};

}  // namespace sf
