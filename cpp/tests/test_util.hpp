// Helpers shared by the C++ tests.
#pragma once

#include <string>

#ifdef _WIN32
#include <process.h>
#else
#include <unistd.h>
#endif

namespace ac_test {

// A page-name prefix no other test process uses (the pid keeps parallel runs apart).
inline std::string unique_prefix(const char* tag) {
#ifdef _WIN32
    return std::string("actest_") + tag + "_";
#else
    return std::string("actest_") + tag + "_" + std::to_string(getpid()) + "_";
#endif
}

}  // namespace ac_test
