// Errors: exceptions inside core, caught once where a job or command ends (STYLE.md §2.1).
#pragma once

#include <stdexcept>
#include <string>

namespace sf {

/// A user-facing failure: the message names the file/tensor and what was expected.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A job was cancelled by the user; not an error.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace sf
