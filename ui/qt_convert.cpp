#include "ui/qt_convert.h"

#include <torch/torch.h>

#include <cstring>

#include "core/image.h"
#include "core/request.h"
#include "ui/image_fit.h"

namespace sf::ui {

namespace {

std::string str(const QString& s) { return s.toStdString(); }
QString qstr(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

sf::GenerateRequest toRequest(const GenerationParams& p) {
    sf::GenerateRequest r;
    r.prompt = str(p.prompt);
    r.negative_prompt = str(p.negativePrompt);
    r.model = std::filesystem::path(str(p.model));
    r.width = p.width;
    r.height = p.height;
    r.steps = p.steps;
    r.cfg_scale = p.cfgScale;
    r.sampler = str(p.sampler);
    r.schedule = str(p.schedule);
    r.seed = p.seed;
    r.batch_size = p.imageCount();
    r.cfg_scales.assign(p.cfgScales.begin(), p.cfgScales.end());
    r.seeds.assign(p.seeds.begin(), p.seeds.end());
    if (p.isImg2Img()) {
        QImage fitted = fitImage(p.initImage, QSize(p.width, p.height), p.fit);
        sf::Image img;
        img.width = fitted.width();
        img.height = fitted.height();
        img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
        for (int y = 0; y < img.height; ++y) {
            std::memcpy(img.rgb.data() + static_cast<size_t>(y) * img.width * 3, fitted.constScanLine(y),
                        static_cast<size_t>(img.width) * 3);
        }
        r.init_image = sf::tensor_from_image(img).clone();  // [1, 3, H, W]
        r.init_image_path = std::filesystem::path(str(p.initImagePath));
        r.fit = str(p.fit);
        r.strength = p.strength;
    }
    r.device = str(p.device);
    r.dtype = str(p.dtype);
    r.preview = str(p.preview);
    return r;
}

GenerationParams fromRequest(const sf::GenerateRequest& r, const GenerationParams& base) {
    GenerationParams p = base;
    p.prompt = qstr(r.prompt);
    p.negativePrompt = qstr(r.negative_prompt);
    p.model = QString::fromStdString(r.model.string());
    p.width = r.width;
    p.height = r.height;
    p.steps = r.steps;
    p.cfgScale = r.cfg_scale;
    p.sampler = qstr(r.sampler);
    p.schedule = qstr(r.schedule);
    p.seed = r.seed;
    p.batchSize = r.batch_size;
    p.cfgScales = QList<double>(r.cfg_scales.begin(), r.cfg_scales.end());
    p.seeds = QList<qint64>(r.seeds.begin(), r.seeds.end());
    p.fit = qstr(r.fit);
    p.strength = r.strength;
    p.device = qstr(r.device);
    p.dtype = qstr(r.dtype);
    p.preview = qstr(r.preview);
    return p;
}

QImage toQImage(const sf::Image& image) {
    if (image.empty()) {
        return {};
    }
    QImage out(image.width, image.height, QImage::Format_RGB888);
    for (int y = 0; y < image.height; ++y) {
        std::memcpy(out.scanLine(y), image.rgb.data() + static_cast<size_t>(y) * image.width * 3,
                    static_cast<size_t>(image.width) * 3);
    }
    return out;
}

QImage latentToPreview(const at::Tensor& latent) {
    if (!latent.defined() || latent.dim() != 4 || latent.size(1) != 4) {
        return {};
    }
    torch::NoGradGuard no_grad;
    // SD 1.x/2.x latent -> RGB factors (a fixed linear map, as the A1111 "approx cheap" preview does).
    static const float factors[4][3] = {
        {0.298f, 0.207f, 0.208f}, {0.187f, 0.286f, 0.173f}, {-0.158f, 0.189f, 0.264f}, {-0.184f, -0.271f, -0.473f}};
    auto x = latent[0].to(torch::kCPU, torch::kFloat32);  // [4, h, w]
    auto m = torch::from_blob(const_cast<float*>(&factors[0][0]), {4, 3}, torch::kFloat32);
    auto rgb = torch::einsum("chw,cr->hwr", {x, m});  // [h, w, 3]
    auto u8 = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch::kUInt8).contiguous();
    const int h = static_cast<int>(u8.size(0));
    const int w = static_cast<int>(u8.size(1));
    QImage small(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y) {
        std::memcpy(small.scanLine(y), u8.data_ptr<uint8_t>() + static_cast<size_t>(y) * w * 3,
                    static_cast<size_t>(w) * 3);
    }
    return small.scaled(w * 8, h * 8, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

int cudaDeviceCount() {
    return static_cast<int>(torch::cuda::device_count());
}

}  // namespace sf::ui
