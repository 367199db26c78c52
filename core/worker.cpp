#include "core/worker.h"

#include <random>

#include "core/error.h"

namespace sf {

void JobContext::check() const {
    if (stop.stop_requested()) {
        throw Cancelled();
    }
}

Worker::Worker(JobRunner runner, std::function<void(Event)> on_event, ImageSaver saver)
    : runner_(std::move(runner)), on_event_(std::move(on_event)), saver_(std::move(saver)),
      thread_([this](std::stop_token stop) { run(stop); }) {}

Worker::~Worker() {
    cancel_all();
    thread_.request_stop();
    cv_.notify_all();
}

JobId Worker::submit(GenerateRequest request) {
    std::lock_guard lock(mutex_);
    JobId id = next_id_++;
    queue_.emplace_back(id, std::move(request));
    cv_.notify_all();
    return id;
}

void Worker::cancel(JobId id) {
    bool removed = false;
    {
        std::lock_guard lock(mutex_);
        if (running_ == id) {
            job_stop_.request_stop();
            return;
        }
        for (auto it = queue_.begin(); it != queue_.end(); ++it) {
            if (it->first == id) {
                queue_.erase(it);
                removed = true;
                break;
            }
        }
    }
    if (removed) {
        on_event_(Cancelled_{id});
        idle_cv_.notify_all();
    }
}

void Worker::cancel_all() {
    std::deque<std::pair<JobId, GenerateRequest>> dropped;
    {
        std::lock_guard lock(mutex_);
        dropped.swap(queue_);
        if (running_) {
            job_stop_.request_stop();
        }
    }
    for (const auto& job : dropped) {
        on_event_(Cancelled_{job.first});
    }
    idle_cv_.notify_all();
}

std::vector<std::pair<JobId, GenerateRequest>> Worker::queued() const {
    std::lock_guard lock(mutex_);
    return {queue_.begin(), queue_.end()};
}

void Worker::move(JobId id, int delta) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < queue_.size(); ++i) {
        if (queue_[i].first == id) {
            auto j = static_cast<int64_t>(i) + delta;
            if (j >= 0 && j < static_cast<int64_t>(queue_.size())) {
                std::swap(queue_[i], queue_[static_cast<size_t>(j)]);
            }
            return;
        }
    }
}

JobId Worker::running() const {
    std::lock_guard lock(mutex_);
    return running_;
}

void Worker::wait_idle() {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [&] { return queue_.empty() && running_ == 0; });
}

void Worker::run(std::stop_token stop) {
    torch::NoGradGuard no_grad;  // thread-local: set on the worker thread
    for (;;) {
        std::pair<JobId, GenerateRequest> job;
        {
            std::unique_lock lock(mutex_);
            if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) {
                return;  // stop requested
            }
            job = std::move(queue_.front());
            queue_.pop_front();
            running_ = job.first;
            job_stop_ = std::stop_source();
        }
        auto& [id, request] = job;
        if (request.seed < 0) {
            request.seed = static_cast<int64_t>(std::random_device{}() % 4294967295u);
        }
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
        JobContext ctx{id, job_stop_.get_token(), {}};
        ctx.progress = [&](int step, int steps, const torch::Tensor& latent) {
            double e = elapsed();
            on_event_(Progress{id, step, steps, e, e > 0 ? step / e : 0.0, latent});
        };
        on_event_(Started{id, request});
        try {
            auto images = runner_(request, ctx);
            Finished done{id, request, std::move(images), {}, 0};
            if (saver_) {
                for (size_t i = 0; i < done.images.size(); ++i) {
                    done.paths.push_back(saver_(request, done.images[i], static_cast<int>(i)));
                }
            }
            done.elapsed_s = elapsed();
            on_event_(std::move(done));
        } catch (const Cancelled&) {
            on_event_(Cancelled_{id});
        } catch (const c10::Error& e) {
            std::string what = e.what_without_backtrace();
            if (what.find("out of memory") != std::string::npos || what.find("alloc") != std::string::npos) {
                what = "out of memory: " + what + " (try a smaller size or batch, or the CPU)";
            }
            on_event_(Failed{id, what});
        } catch (const std::bad_alloc&) {
            on_event_(Failed{id, "out of memory (try a smaller size or batch)"});
        } catch (const std::exception& e) {
            on_event_(Failed{id, e.what()});
        }
        {
            std::lock_guard lock(mutex_);
            running_ = 0;
        }
        idle_cv_.notify_all();
    }
}

}  // namespace sf
