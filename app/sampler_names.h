// The sampler and schedule names sfumato-cli accepts, read from the lookup in core/sampling/samplers.h.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf::cli {

/// A1111 sampler names, in display order.
const std::vector<std::string>& sampler_names();
/// The A1111 name for `name`, matched case-insensitively, also by k-diffusion function name
/// ("euler_ancestral", "dpmpp_2m"); nullopt when unknown.
std::optional<std::string> resolve_sampler(std::string_view name);

/// A1111 "Schedule type" names, in display order.
const std::vector<std::string>& schedule_names();
/// The A1111 name for `name` (case-insensitive); nullopt when unknown.
std::optional<std::string> resolve_schedule(std::string_view name);

}  // namespace sf::cli
