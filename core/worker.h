// The core's job thread (STYLE.md §3.4): a queue of requests run one after another on a std::jthread;
// events are reported through one callback, called on the worker thread. Qt-free.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/image.h"
#include "core/request.h"

namespace sf {

using JobId = int64_t;

struct Started {
    JobId id;
    GenerateRequest request;  ///< with the resolved seed
};
struct Progress {
    JobId id;
    int step;              ///< 1-based step just finished
    int steps;
    double elapsed_s;
    double its;            ///< iterations per second so far
    torch::Tensor latent;  ///< the current denoised prediction [N, C, h, w] (CPU, float32), for previews
};
struct Finished {
    JobId id;
    GenerateRequest request;
    std::vector<Image> images;
    std::vector<std::filesystem::path> paths;  ///< where the saver put them (empty when not saved)
    double elapsed_s = 0;
};
struct Failed {
    JobId id;
    std::string message;
};
struct Cancelled_ {
    JobId id;
};
using Event = std::variant<Started, Progress, Finished, Failed, Cancelled_>;

/// What a job can tell the worker while it runs; `check()` throws sf::Cancelled once the job is cancelled.
struct JobContext {
    JobId id;
    std::stop_token stop;
    std::function<void(int step, int steps, const torch::Tensor& latent)> progress;
    void check() const;
};

/// Runs one request to images (the pipeline). Throws sf::Error / sf::Cancelled.
using JobRunner = std::function<std::vector<Image>(GenerateRequest& request, JobContext& ctx)>;
/// Saves one finished image; returns the path written (or empty). Called on the worker thread.
using ImageSaver = std::function<std::filesystem::path(const GenerateRequest& request, const Image& image, int index)>;

class Worker {
public:
    Worker(JobRunner runner, std::function<void(Event)> on_event, ImageSaver saver = {});
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Queues a request; returns its id at once.
    JobId submit(GenerateRequest request);
    /// Cancels a queued job (removed, reported Cancelled) or the running one (stops within one step).
    void cancel(JobId id);
    void cancel_all();
    /// Queued (not yet started) jobs, in order.
    std::vector<std::pair<JobId, GenerateRequest>> queued() const;
    /// Moves a queued job one place towards the front (delta -1) or back (+1).
    void move(JobId id, int delta);
    JobId running() const;
    /// Blocks until the queue is empty and nothing runs (for the CLI and tests; never on a UI thread).
    void wait_idle();

private:
    void run(std::stop_token stop);

    JobRunner runner_;
    std::function<void(Event)> on_event_;
    ImageSaver saver_;
    mutable std::mutex mutex_;
    std::condition_variable_any cv_;
    std::condition_variable idle_cv_;
    std::deque<std::pair<JobId, GenerateRequest>> queue_;
    JobId next_id_ = 1;
    JobId running_ = 0;
    std::stop_source job_stop_;
    std::jthread thread_;  // declared last: joined first
};

}  // namespace sf
