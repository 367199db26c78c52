#include "train/shapes_eval.h"

#include <opencv2/core.hpp>

#include <random>

#include "core/error.h"
#include "shapes/shapes.h"

namespace sf::train {
namespace {

cv::Mat as_mat(const Image& image) {
    return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data())).clone();
}

Image as_image(const cv::Mat& rgb) {
    return Image{rgb.cols, rgb.rows, std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * 3)};
}

/// One picture's agreement, added to the running sums.
void tally(Adherence& a, const shapes::Adherence& got) {
    a.shape += got.shape;
    a.color += got.color;
    a.position += got.position;
    a.size += got.size;
    a.background += got.background;
    a.overall += got.all();
    a.images += 1;
}

/// Sums → fractions.
void average(Adherence& a) {
    for (double* v : {&a.shape, &a.color, &a.position, &a.size, &a.background, &a.overall}) {
        *v /= std::max(1, a.images);
    }
}

Image generate(Pipeline& pipeline, GenerateRequest& r) {
    JobContext ctx{0, {}, {}};
    auto images = pipeline.run(r, ctx);
    return images.at(0);
}

GenerateRequest base_request(const Pipeline& pipeline, int steps, const std::string& sampler) {
    GenerateRequest r;
    r.width = r.height = pipeline.default_size();
    r.steps = steps;
    r.sampler = sampler;
    r.schedule = "Automatic";
    return r;
}

}  // namespace

std::vector<std::string> position_captions(int count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution half(0.5);
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        auto scene = shapes::complete({}, rng);
        shapes::Spec spec{scene.shape, std::nullopt, scene.color, scene.position, std::nullopt};
        if (half(rng)) {
            spec.size = scene.size;
        }
        if (half(rng)) {
            spec.background = scene.background;
        }
        out.push_back(shapes::caption(spec, half(rng)));
    }
    return out;
}

std::vector<Adherence> evaluate_shapes(Pipeline& pipeline, const EvalOptions& o) {
    auto captions = o.captions.empty() ? position_captions(o.count, o.caption_seed) : o.captions;
    std::vector<shapes::Spec> specs;
    for (const auto& c : captions) {
        auto spec = shapes::parse_caption(c);
        if (!spec) {
            throw Error("caption '" + c + "' is not in the Sfumato Shapes grammar");
        }
        specs.push_back(*spec);
    }
    std::vector<Adherence> rows;
    const int total = static_cast<int>(captions.size() * o.cfg_scales.size());
    int done = 0;
    for (double cfg : o.cfg_scales) {
        Adherence a;
        a.cfg = cfg;
        for (size_t i = 0; i < captions.size(); ++i) {
            auto r = base_request(pipeline, o.steps, o.sampler);
            r.prompt = captions[i];
            r.cfg_scale = cfg;
            r.seed = o.seed + static_cast<int64_t>(i);
            auto got = shapes::score(specs[i], shapes::detect(as_mat(generate(pipeline, r))));
            tally(a, got);
            if (o.progress) {
                o.progress(++done, total);
            }
        }
        average(a);
        rows.push_back(a);
    }
    return rows;
}

Adherence evaluate_autoencoder(Pipeline& pipeline, int count, uint32_t seed) {
    std::mt19937 rng(seed);
    const int side = pipeline.default_size();
    Adherence a;
    for (int i = 0; i < count; ++i) {
        auto scene = shapes::complete({}, rng);
        cv::Mat picture = shapes::render(scene, side, rng);
        auto latent = pipeline.encode_image(tensor_from_image(as_image(picture)), {0});
        auto back = image_from_tensor(pipeline.decode_latent(latent));
        shapes::Spec all{scene.shape, scene.size, scene.color, scene.position, scene.background};
        auto got = shapes::score(all, shapes::detect(as_mat(back)));
        tally(a, got);
    }
    average(a);
    return a;
}

std::vector<Img2ImgCheck> evaluate_img2img(Pipeline& pipeline, const std::vector<double>& strengths, int count,
                                           double cfg, int steps, int64_t seed, bool captioned) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    const int side = pipeline.default_size();
    std::vector<Img2ImgCheck> rows;
    for (double strength : strengths) {
        rows.push_back({.strength = strength});
    }
    for (int i = 0; i < count; ++i) {
        auto ref = shapes::complete({}, rng);
        shapes::Scene other;
        do {
            other = shapes::complete({}, rng);
        } while (other.shape == ref.shape || other.position == ref.position || other.color == ref.color ||
                 other.color == ref.background);
        cv::Mat picture = shapes::render(ref, side, rng);
        const auto reference = tensor_from_image(as_image(picture));
        shapes::Spec asked{other.shape, std::nullopt, other.color, other.position, std::nullopt};
        for (auto& row : rows) {
            auto r = base_request(pipeline, steps, "Euler");
            r.prompt = captioned ? shapes::caption(asked) : std::string();
            r.cfg_scale = cfg;
            r.seed = seed + i;
            r.init_image = reference;
            r.strength = row.strength;
            auto d = shapes::detect(as_mat(generate(pipeline, r)));
            const bool same_shape = d.found && d.shape == ref.shape;
            const bool same_place = d.found && d.position == ref.position;
            const bool large = ref.size == shapes::Size::large;
            row.kept += same_shape && same_place;
            row.kept_position += same_place;
            row.kept_shape += same_shape;
            row.kept_large += large && same_shape && same_place;
            row.large_images += large;
            row.followed += shapes::score(asked, d).all();
            row.images += 1;
        }
    }
    for (auto& row : rows) {
        row.kept /= std::max(1, row.images);
        row.kept_position /= std::max(1, row.images);
        row.kept_shape /= std::max(1, row.images);
        row.kept_large /= std::max(1, row.large_images);
        row.followed /= std::max(1, row.images);
    }
    return rows;
}

}  // namespace sf::train
