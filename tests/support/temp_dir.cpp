#include "tests/support/temp_dir.h"

#include <unistd.h>

namespace sf::test {

std::filesystem::path test_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("sfumato_test_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path fresh_dir(const std::string& name) {
    auto dir = test_dir(name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace sf::test
