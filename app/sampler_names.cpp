// Sampler and schedule names for the command line, from core's one registry (core/sampling/samplers.h).
#include "app/sampler_names.h"

#include "core/error.h"
#include "core/sampling/samplers.h"
#include "core/sampling/schedule.h"

namespace sf::cli {

const std::vector<std::string>& sampler_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& s : sampling::samplers()) {
            v.push_back(s.name);
        }
        return v;
    }();
    return names;
}

std::optional<std::string> resolve_sampler(std::string_view name) {
    if (name.rfind("sample_", 0) == 0) {  // k-diffusion function names
        name.remove_prefix(7);
    }
    try {
        auto choice = sampling::find_sampler(name);
        std::string out = choice.sampler->name;
        if (choice.schedule_from_name) {
            out += " " + sampling::schedule_name(choice.schedule);
        }
        return out;
    } catch (const Error&) {
        return std::nullopt;
    }
}

const std::vector<std::string>& schedule_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (auto kind : {sampling::ScheduleKind::automatic, sampling::ScheduleKind::karras,
                          sampling::ScheduleKind::exponential, sampling::ScheduleKind::sgm_uniform,
                          sampling::ScheduleKind::simple}) {
            v.push_back(sampling::schedule_name(kind));
        }
        return v;
    }();
    return names;
}

std::optional<std::string> resolve_schedule(std::string_view name) {
    try {
        return sampling::schedule_name(sampling::parse_schedule(name));
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace sf::cli
