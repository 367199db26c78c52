#pragma once

#include "core/worker.h"

namespace sf { JobRunner make_pipeline_runner(); }
