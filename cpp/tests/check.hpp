// A minimal test harness: CHECK records failures and keeps going; main() returns non-zero on any.
// (No third-party test framework, so the C++ tests build anywhere the core builds, mingw included.)
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace ac_test {

struct Registry {
    std::vector<std::pair<std::string, std::function<void()>>> tests;
    int failures = 0;
    static Registry& get() {
        static Registry r;
        return r;
    }
};

struct Register {
    Register(const char* name, std::function<void()> fn) { Registry::get().tests.emplace_back(name, std::move(fn)); }
};

inline int run_all(const char* suite) {
    auto& r = Registry::get();
    int failed_tests = 0;
    for (auto& [name, fn] : r.tests) {
        int before = r.failures;
        try {
            fn();
        } catch (const std::exception& e) {
            std::printf("  exception in %s: %s\n", name.c_str(), e.what());
            r.failures++;
        }
        bool ok = r.failures == before;
        if (!ok) failed_tests++;
        std::printf("[%s] %s.%s\n", ok ? " OK " : "FAIL", suite, name.c_str());
    }
    std::printf("%s: %d passed, %d failed\n", suite, int(r.tests.size()) - failed_tests, failed_tests);
    return failed_tests == 0 ? 0 : 1;
}

}  // namespace ac_test

#define AC_TEST(name)                                                       \
    static void name();                                                     \
    static ac_test::Register name##_registration(#name, name);              \
    static void name()

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);          \
            ac_test::Registry::get().failures++;                                             \
        }                                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                                                        \
    do {                                                                                                      \
        auto va_ = (a);                                                                                       \
        auto vb_ = (b);                                                                                       \
        if (!(va_ == vb_)) {                                                                                  \
            std::printf("  %s:%d: CHECK_EQ(%s, %s) failed: %s vs %s\n", __FILE__, __LINE__, #a, #b,           \
                        std::to_string(va_).c_str(), std::to_string(vb_).c_str());                             \
            ac_test::Registry::get().failures++;                                                              \
        }                                                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                                  \
    do {                                                                                                       \
        double va_ = double(a), vb_ = double(b);                                                               \
        if (!(std::fabs(va_ - vb_) <= (tol))) {                                                                \
            std::printf("  %s:%d: CHECK_NEAR(%s, %s, %s) failed: %g vs %g\n", __FILE__, __LINE__, #a, #b, #tol, \
                        va_, vb_);                                                                             \
            ac_test::Registry::get().failures++;                                                               \
        }                                                                                                      \
    } while (0)

#define CHECK_THROWS(expr)                                                                        \
    do {                                                                                          \
        bool threw_ = false;                                                                      \
        try { (void)(expr); } catch (...) { threw_ = true; }                                      \
        if (!threw_) {                                                                            \
            std::printf("  %s:%d: CHECK_THROWS(%s) did not throw\n", __FILE__, __LINE__, #expr); \
            ac_test::Registry::get().failures++;                                                  \
        }                                                                                         \
    } while (0)

#define AC_TEST_MAIN(suite) \
    int main() { return ac_test::run_all(suite); }
