// A1111 prompt emphasis: `(a)`, `[a]`, `(a:1.3)`, escapes, BREAK (AUTOMATIC1111 modules/prompt_parser.py
// parse_prompt_attention) and the 75-token chunker (modules/sd_hijack_clip.py tokenize_line).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/models/tokenizer.h"

namespace sf {

/// One parsed run of prompt text and its weight; {"BREAK", -1} is the chunk-break marker.
using WeightedText = std::pair<std::string, double>;

/// Splits a prompt into runs with emphasis weights (A1111 rules: (x) *1.1, [x] *(1/1.1), (x:w), nesting,
/// \( \) \[ \] \\ escapes, unbalanced brackets, BREAK, merging of equal neighbours). Never throws.
std::vector<WeightedText> parse_prompt_attention(std::string_view text);

/// The token chunks one prompt becomes: each chunk is [49406] + 75 tokens + [49407] with per-token weights.
struct PromptChunks {
    std::vector<std::array<int, 77>> tokens;
    std::vector<std::array<float, 77>> multipliers;
    /// 75 per chunk closed before the last, plus the length of the last one (A1111's token count).
    int token_count = 0;
};

/// Options of the chunker (A1111 defaults).
struct ChunkOptions {
    int comma_padding_backtrack = 20;
    /// false = emphasis "None": the whole prompt is one run at weight 1.
    bool emphasis = true;
};

/// Parses and tokenizes a prompt into 77-token chunks (comma backtracking, BREAK, EOT padding inside the
/// chunk). The multipliers are the parsed weights as float32.
PromptChunks chunk_prompt(const CLIPTokenizer& tokenizer, std::string_view text,
                          const ChunkOptions& options = {});

/// As chunk_prompt, with the weights kept as doubles (for exact comparison).
struct PromptChunksF64 {
    std::vector<std::array<int, 77>> tokens;
    std::vector<std::array<double, 77>> multipliers;
    int token_count = 0;
};
PromptChunksF64 chunk_prompt_f64(const CLIPTokenizer& tokenizer, std::string_view text,
                                 const ChunkOptions& options = {});

}  // namespace sf
