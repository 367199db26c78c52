// Mirrors AUTOMATIC1111 modules/sd_hijack_clip.py (TextConditionalModel.forward / process_tokens),
// modules/sd_emphasis.py (EmphasisOriginal) and sd_hijack_open_clip.py (id_pad = 0, pooled of chunk 0).
#include "core/models/text_conditioning.h"

#include "core/error.h"

namespace sf {

namespace {

void check_chunks(const torch::Tensor& tokens, const torch::Tensor& multipliers) {
    if (tokens.dim() != 2 || tokens.size(0) == 0) {
        throw Error("text conditioning: tokens must be [chunks, T] with at least one chunk, got " +
                    c10::str(tokens.sizes()));
    }
    if (multipliers.sizes() != tokens.sizes()) {
        throw Error("text conditioning: multipliers " + c10::str(multipliers.sizes()) +
                    " do not match tokens " + c10::str(tokens.sizes()));
    }
}

}  // namespace

torch::Tensor apply_emphasis(const torch::Tensor& z, const torch::Tensor& multipliers) {
    auto zf = z.to(torch::kFloat32);                                         // [N, T, C]
    auto mult = multipliers.to(zf.device(), torch::kFloat32).unsqueeze(-1);  // [N, T, 1]
    auto original_mean = zf.mean({1, 2}, /*keepdim=*/true);                  // [N, 1, 1]
    auto weighted = zf * mult;                                               // [N, T, C]
    auto new_mean = weighted.mean({1, 2}, /*keepdim=*/true);                 // [N, 1, 1]
    return (weighted * (original_mean / new_mean)).to(z.scalar_type());
}

torch::Tensor pad_after_eot(const torch::Tensor& tokens, int64_t pad_id) {
    auto is_eot = tokens.eq(kEndOfText).to(torch::kInt32);  // [N, T]
    // Positions strictly after the first EOT: the running count of EOTs before them is > 0.
    auto after_first = (is_eot.cumsum(-1) - is_eot).gt(0);
    return tokens.masked_fill(after_first, pad_id);
}

torch::Tensor encode_weighted_chunks(const ChunkEncoder& encode, const torch::Tensor& tokens,
                                     const torch::Tensor& multipliers) {
    check_chunks(tokens, multipliers);
    // Chunks are independent rows, so one batched encoder run equals one run per chunk.
    auto z = apply_emphasis(encode(tokens.to(torch::kLong)), multipliers);  // [chunks, T, C]
    return z.reshape({1, -1, z.size(-1)});                                  // [1, chunks * T, C]
}

torch::Tensor sd1_conditioning(clip::CLIPTextModel& encoder, const torch::Tensor& tokens,
                               const torch::Tensor& multipliers, int64_t clip_skip) {
    return encode_weighted_chunks([&](const torch::Tensor& ids) { return encoder->encode(ids, clip_skip); },
                                  tokens, multipliers);
}

torch::Tensor sd2_conditioning(open_clip::TextTransformer& encoder, const torch::Tensor& tokens,
                               const torch::Tensor& multipliers) {
    return encode_weighted_chunks(
        [&](const torch::Tensor& ids) { return encoder->encode_sd2(pad_after_eot(ids, kOpenClipPad)); },
        tokens, multipliers);
}

SdxlConditioning sdxl_conditioning(clip::CLIPTextModel& clip_l, open_clip::TextTransformer& bigg,
                                   const torch::Tensor& tokens, const torch::Tensor& multipliers) {
    check_chunks(tokens, multipliers);
    auto ids = tokens.to(torch::kLong);
    auto context_l =
        encode_weighted_chunks([&](const torch::Tensor& t) { return clip_l->penultimate(t); }, ids,
                               multipliers);  // [1, chunks * T, 768]
    torch::Tensor pooled;
    auto context_g = encode_weighted_chunks(
        [&](const torch::Tensor& t) {
            auto out = bigg->encode_sdxl(pad_after_eot(t, kOpenClipPad));
            pooled = out.pooled.slice(0, 0, 1);  // [1, 1280]: first chunk
            return out.context;
        },
        ids, multipliers);  // [1, chunks * T, 1280]
    return SdxlConditioning{torch::cat({context_l, context_g.to(context_l.device())}, -1), pooled};
}

}  // namespace sf
