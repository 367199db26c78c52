#include "tests/ui/fake_runner.h"

#include <chrono>
#include <map>
#include <thread>

#include "app/pipeline_runner.h"
#include "core/checkpoint/safetensors.h"
#include "core/error.h"
#include "core/models/taesd.h"
#include "core/worker.h"

namespace sf::test {

sf::ui::GenerationController::Runner makeFakeRunner(std::shared_ptr<FakeRunnerState> state) {
    return [state](GenerateRequest& request, JobContext& ctx) {
        ++state->jobs;
        {
            std::lock_guard lock(state->mutex);
            state->lastHadInitImage = request.init_image.defined();
            state->lastStrength = request.strength;
            state->lastPrompt = request.prompt;
        }
        if (request.prompt.find("FAIL") != std::string::npos) {
            throw Error("fake failure");
        }
        const int64_t h = request.height / 8;
        const int64_t w = request.width / 8;
        auto grid = torch::linspace(-1.0, 1.0, w).view({1, 1, 1, w}) + torch::linspace(-1.0, 1.0, h).view({1, 1, h, 1});
        for (int step = 1; step <= request.steps; ++step) {
            try {
                ctx.check();
            } catch (const Cancelled&) {
                ++state->cancelled;
                throw;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(state->stepMs.load()));
            auto phase = torch::arange(4, torch::kFloat32).view({1, 4, 1, 1}) + step * 0.5;
            ctx.progress(step, request.steps, torch::sin(grid * 3.0 + phase));  // [1, 4, h, w]
        }
        ctx.check();
        std::vector<Image> images;
        const int n = std::max<int>({request.batch_size, static_cast<int>(request.seeds.size()),
                                     static_cast<int>(request.cfg_scales.size()), 1});
        for (int i = 0; i < n; ++i) {
            const int64_t seed = i < static_cast<int>(request.seeds.size()) ? request.seeds[i] : request.seed + i;
            const double cfg = i < static_cast<int>(request.cfg_scales.size()) ? request.cfg_scales[i] : request.cfg_scale;
            auto x = torch::linspace(0.0, 1.0, request.width).view({1, 1, 1, request.width});
            auto y = torch::linspace(0.0, 1.0, request.height).view({1, 1, request.height, 1});
            auto r = (x * 0 + static_cast<double>(seed % 251) / 250.0) * (0.5 + 0.5 * y);
            auto g = x * 0.8 + y * 0;
            auto b = x * 0 + y * 0 + cfg / 30.0;
            auto img = torch::cat({r, g, b}, 1) * 2.0 - 1.0;  // [1, 3, H, W]
            if (request.init_image.defined()) {
                img = img * (1.0 - 0.5 * request.strength) + request.init_image * (0.5 * request.strength);
            }
            images.push_back(image_from_tensor(img));
            ++state->images;
        }
        return images;
    };
}

void writeTaesdDecoder(const std::string& path) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : sf::taesd::make_decoder(sf::taesd::TAESDConfig::sd())->named_parameters()) {
        tensors.emplace(p.key(), p.value().detach());
    }
    sf::write_safetensors(path, tensors);
}

sf::ui::GenerationController::Runner makeRealRunner() { return sf::make_pipeline_runner(); }

}  // namespace sf::test
