#include "ui/qt_convert.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "core/image.h"
#include "core/models/latent_preview.h"
#include "core/parameters.h"
#include "core/request.h"
#include "core/sampling/samplers.h"
#include "core/sampling/schedule.h"
#include "io/image_io.h"

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
        r.init_image = sf::io::fit_image_tensor(toImage(p.initImage), p.width, p.height, str(p.fit));  // [1, 3, H, W]
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

sf::Image toImage(const QImage& image) {
    sf::Image out;
    if (image.isNull()) {
        return out;
    }
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    out.width = rgb.width();
    out.height = rgb.height();
    out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
    for (int y = 0; y < out.height; ++y) {
        std::memcpy(out.rgb.data() + static_cast<size_t>(y) * out.width * 3, rgb.constScanLine(y),
                    static_cast<size_t>(out.width) * 3);
    }
    return out;
}

QImage fitImage(const QImage& image, QSize target, const QString& mode) {
    if (image.isNull() || target.isEmpty()) {
        return {};
    }
    return toQImage(sf::io::fit_image(toImage(image), target.width(), target.height(), str(mode)));
}

QString parametersText(const GenerationParams& params, int index) {
    sf::InfotextInfo info;
    if (!params.model.isEmpty()) {
        info.model_name = std::filesystem::path(str(params.model)).stem().string();
    }
    return qstr(sf::format_parameters(toRequest(params), info, index));
}

bool paramsFromText(const QString& text, GenerationParams& params) {
    const QString lastLine = text.trimmed().section(QLatin1Char('\n'), -1);
    if (sf::split_parameter_line(str(lastLine)).size() < 3) {
        return false;  // no settings line: a caption, not parameters (A1111 reads it all as the prompt)
    }
    const sf::ParsedParameters parsed = sf::parse_parameters(str(text));
    const sf::GenerateRequest& r = parsed.request;
    GenerationParams p = params;
    p.prompt = qstr(r.prompt);
    p.negativePrompt = qstr(r.negative_prompt);
    p.steps = r.steps;
    p.sampler = qstr(r.sampler);
    p.schedule = qstr(r.schedule);
    p.cfgScale = r.cfg_scale;
    p.seed = r.seed;
    p.width = r.width;
    p.height = r.height;
    p.seeds.clear();
    p.cfgScales.clear();
    if (parsed.img2img) {
        p.strength = r.strength;
        const auto& modes = sf::io::fit_modes();
        if (std::find(modes.begin(), modes.end(), r.fit) != modes.end()) {
            p.fit = qstr(r.fit);  // only a mode fit_image takes
        }
    }
    params = p;
    return true;
}

QImage latentToPreview(const at::Tensor& latent, bool sdxlLatents) {
    if (!latent.defined() || latent.dim() != 4) {
        return {};
    }
    torch::NoGradGuard no_grad;
    torch::Tensor rgb;
    try {
        rgb = sf::latent_preview(latent.narrow(0, 0, 1).to(torch::kCPU, torch::kFloat32),
                                 sdxlLatents ? sf::vae::LatentSpace::sdxl : sf::vae::LatentSpace::sd);  // [1, 3, h, w]
    } catch (const std::exception&) {
        return {};  // channels that fit no latent space: no preview
    }
    auto u8 = ((rgb[0].permute({1, 2, 0}) + 1.0) * 127.5).clamp(0, 255).to(torch::kUInt8).contiguous();  // [h, w, 3]
    const int h = static_cast<int>(u8.size(0));
    const int w = static_cast<int>(u8.size(1));
    QImage small(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y) {
        std::memcpy(small.scanLine(y), u8.data_ptr<uint8_t>() + static_cast<size_t>(y) * w * 3,
                    static_cast<size_t>(w) * 3);
    }
    return small.scaled(w * 8, h * 8, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

QStringList samplerNames() {
    QStringList names;
    for (const auto& sampler : sf::sampling::samplers()) {
        names << qstr(sampler.name);
    }
    return names;
}

QStringList scheduleNames() {
    QStringList names;
    for (auto kind : {sf::sampling::ScheduleKind::automatic, sf::sampling::ScheduleKind::karras,
                      sf::sampling::ScheduleKind::exponential, sf::sampling::ScheduleKind::sgm_uniform,
                      sf::sampling::ScheduleKind::simple}) {
        names << qstr(sf::sampling::schedule_name(kind));
    }
    return names;
}

int cudaDeviceCount() {
    return static_cast<int>(torch::cuda::device_count());
}

}  // namespace sf::ui
