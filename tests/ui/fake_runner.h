// A scripted JobRunner for the UI tests: N steps with changing preview latents [1, 4, h, w], honours
// ctx.check(), returns gradient images whose colours depend on seed and guidance.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "ui/generation_controller.h"

namespace sf::test {

/// What the fake saw, shared with the test.
struct FakeRunnerState {
    std::atomic<int> stepMs{20};
    std::atomic<int> jobs{0};
    std::atomic<int> images{0};
    std::atomic<int> cancelled{0};
    std::mutex mutex;
    bool lastHadInitImage = false;
    double lastStrength = 0;
    std::string lastPrompt;
};

/// The runner; a prompt containing "FAIL" throws sf::Error("fake failure").
sf::ui::GenerationController::Runner makeFakeRunner(std::shared_ptr<FakeRunnerState> state);

/// The app's real runner (app/pipeline_runner.h), for tests that generate with the embedded model.
sf::ui::GenerationController::Runner makeRealRunner();

/// Writes a TAESD decoder (SD latents) with its initial, arbitrary weights: for the preview path, not pictures.
void writeTaesdDecoder(const std::string& path);

}  // namespace sf::test
