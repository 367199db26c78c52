// Test start-up: libtorch threads = cores (as the app does), float32 matmuls without TF32.
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>

#include "core/device.h"

namespace {

class TorchSetup : public Catch::EventListenerBase {
public:
    using Catch::EventListenerBase::EventListenerBase;
    void testRunStarting(Catch::TestRunInfo const&) override { sf::init_runtime(); }
};

}  // namespace

CATCH_REGISTER_LISTENER(TorchSetup)
