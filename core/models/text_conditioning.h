// Prompt chunks -> cross-attention context, as AUTOMATIC1111's modules/sd_hijack_clip.py
// (TextConditionalModel.process_tokens) and sd_emphasis.py (EmphasisOriginal) do it, for SD1, SD2 and SDXL.
// Token ids and multipliers come from the chunker (core/models/prompt_parser.h): [chunks, 77] each.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "core/models/clip.h"
#include "core/models/open_clip.h"

namespace sf {

/// The CLIP end-of-text id (also the SD1 / CLIP-L padding id).
inline constexpr int64_t kEndOfText = 49407;
/// The OpenCLIP padding id (`!`), used by SD2 and SDXL embedder 1.
inline constexpr int64_t kOpenClipPad = 0;

/// A1111 "Original" emphasis on encoder outputs z [N, T, C] with multipliers [N, T]: per row n (one chunk),
/// m = mean(z[n]); z[n] *= multipliers[n, :, None]; z[n] *= m / mean(z[n]). Computed in float32, returned in
/// z's dtype.
torch::Tensor apply_emphasis(const torch::Tensor& z, const torch::Tensor& multipliers);

/// Replaces every id after the first `kEndOfText` of each row with `pad_id` (A1111 id_pad); [N, T].
torch::Tensor pad_after_eot(const torch::Tensor& tokens, int64_t pad_id);

/// One encoder run on a batch of chunks: ids [N, T] -> [N, T, C].
using ChunkEncoder = std::function<torch::Tensor(const torch::Tensor& ids)>;

/// Encodes every chunk of one prompt (tokens [chunks, T] int64, multipliers [chunks, T]), applies
/// apply_emphasis per chunk, and concatenates the chunks along the token axis: [1, chunks * T, C].
torch::Tensor encode_weighted_chunks(const ChunkEncoder& encode, const torch::Tensor& tokens,
                                     const torch::Tensor& multipliers);

/// SD1 context for one prompt: final_layer_norm(hidden_states[-clip_skip]) per chunk, with emphasis:
/// [1, 77 * chunks, C].
torch::Tensor sd1_conditioning(clip::CLIPTextModel& encoder, const torch::Tensor& tokens,
                               const torch::Tensor& multipliers, int64_t clip_skip = 1);

/// SD2 context for one prompt: ln_final(penultimate block) per chunk (ids after EOT zero-padded), with
/// emphasis: [1, 77 * chunks, C].
torch::Tensor sd2_conditioning(open_clip::TextTransformer& encoder, const torch::Tensor& tokens,
                               const torch::Tensor& multipliers);

/// SDXL text conditioning of one prompt.
struct SdxlConditioning {
    torch::Tensor
        context;  ///< cat(CLIP-L penultimate, bigG penultimate) per chunk, emphasised: [1, 77*chunks, 2048]
    torch::Tensor pooled;  ///< bigG pooled vector of the first chunk (no emphasis): [1, 1280]
};

/// SDXL: CLIP-L on the EOT-padded tokens, bigG on the same tokens zero-padded after the first EOT; both
/// penultimate without final norm, concatenated along channels, with emphasis applied to each encoder's
/// output separately (as A1111 does per embedder); pooled from the first chunk.
SdxlConditioning sdxl_conditioning(clip::CLIPTextModel& clip_l, open_clip::TextTransformer& bigg,
                                   const torch::Tensor& tokens, const torch::Tensor& multipliers);

}  // namespace sf
