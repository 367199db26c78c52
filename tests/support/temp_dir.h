// Folders for tests that write files: one per test and process, under the system's temporary folder.
#pragma once

#include <filesystem>
#include <string>

namespace sf::test {

/// <tmp>/sfumato_test_<name>_<pid>, created if missing.
std::filesystem::path test_dir(const std::string& name);

/// test_dir(name) emptied first, for a test that checks exactly what it writes there.
std::filesystem::path fresh_dir(const std::string& name);

}  // namespace sf::test
