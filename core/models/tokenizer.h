// The CLIP BPE tokenizer (openai/CLIP clip/simple_tokenizer.py, with open_clip's variant): text -> ids, and
// the fixed 77-token forms SD1 / SD2 / SDXL encoders take.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

/// How a fixed 77-token sequence is padded, and whether a literal "<|endoftext|>" in the text is the special
/// token. Presets: CLIP-L (SD1, SDXL embedder 0; Hugging Face CLIPTokenizer) and OpenCLIP (SD2, SDXL bigG).
struct FixedForm {
    int pad_id = 49407;
    bool special_text = true;

    /// Pads with <|endoftext|> (49407); literal "<|endoftext|>" is id 49407.
    static FixedForm clip_l() { return {49407, true}; }
    /// Pads with 0 ("!"); "<|endoftext|>" typed in a prompt is ordinary text (open_clip.tokenize).
    static FixedForm open_clip() { return {0, false}; }
};

/// CLIP byte-level BPE tokenizer (49408 ids). Copies share the immutable vocabulary and the BPE cache;
/// all methods are thread-safe.
class CLIPTokenizer {
   public:
    static constexpr int kStartOfText = 49406;
    static constexpr int kEndOfText = 49407;
    static constexpr int kContextLength = 77;
    /// Prompt tokens that fit between start and end: 75.
    static constexpr int kMaxPromptTokens = kContextLength - 2;

    /// Loads a diffusers `tokenizer/` layout: vocab.json (token -> id) and merges.txt ("#version" header).
    static CLIPTokenizer from_vocab_merges(const std::filesystem::path& vocab_json,
                                           const std::filesystem::path& merges_txt);
    /// Loads the original `bpe_simple_vocab_16e6.txt.gz` (first 48894 merges after the header line).
    static CLIPTokenizer from_bpe_gz(const std::filesystem::path& gz);
    /// Loads a folder holding vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz, or the .gz itself.
    static CLIPTokenizer load(const std::filesystem::path& path);

    /// The text cleaning before BPE: ftfy-like repair, HTML unescape twice, whitespace runs -> one space,
    /// strip, Python str.lower().
    static std::string clean(std::string_view text);

    /// BPE token strings (byte-mapped, "</w>" word ends) of the cleaned text, without start/end.
    std::vector<std::string> tokenize(std::string_view text, bool special_text = true) const;
    /// Token ids of the cleaned text, without start/end. special_text: literal "<|startoftext|>" and
    /// "<|endoftext|>" become 49406 / 49407 (openai CLIP, Hugging Face) or stay text (OpenCLIP).
    std::vector<int> encode(std::string_view text, bool special_text = true) const;
    /// [49406] + the first 75 ids + [49407], padded to 77 with form.pad_id.
    std::array<int, 77> encode_77(std::string_view text, FixedForm form = FixedForm::clip_l()) const;
    /// Frames already-encoded ids as encode_77 does (truncating to 75).
    static std::array<int, 77> frame_77(std::span<const int> ids, int pad_id);

    /// Id of a BPE token string ("a</w>", ",</w>"), or -1.
    int token_id(std::string_view token) const;
    /// BPE token string of an id (empty when out of range).
    const std::string& token_text(int id) const;
    /// Number of ids (49408 for CLIP).
    int vocab_size() const;

    struct Impl;

   private:
    explicit CLIPTokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

/// Where users put a vocabulary for single-file checkpoints: $XDG_DATA_HOME/sfumato/tokenizer, default
/// ~/.local/share/sfumato/tokenizer.
std::filesystem::path user_tokenizer_dir();

/// Finds the CLIP vocabulary for a model file or folder: <dir>/tokenizer/, vocab.json + merges.txt or
/// bpe_simple_vocab_16e6.txt.gz next to it, then user_tokenizer_dir(). Throws sf::Error naming the files
/// and places to put them when none is found.
CLIPTokenizer find_tokenizer(const std::filesystem::path& model);

}  // namespace sf
