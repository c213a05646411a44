// One place for the version string; keep it equal to project(VERSION) in CMakeLists.txt.
#include <mgw/core/version.hpp>

namespace mgw::core {

std::string_view version() {
    return "0.1.0";
}

}  // namespace mgw::core
