// One monotonic clock for all real-time plumbing (poller timestamps, stepper deadlines, pad write
// times), and the sleep-then-spin wait both the poller and the stepper use.
//
// OS sleeps overshoot by 50 µs (Linux) to a scheduler tick (old Windows): sleeping until
// `deadline - spin` and busy-waiting the rest trades a little CPU for sub-10 µs wake-up accuracy.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ac_core {

using SteadyClock = std::chrono::steady_clock;

// steady_clock time in nanoseconds; comparable across threads of one process (and across processes
// on Linux and Windows, where steady_clock is CLOCK_MONOTONIC / QueryPerformanceCounter).
inline int64_t steady_now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

inline double ns_to_s(int64_t ns) noexcept { return double(ns) * 1e-9; }
inline int64_t s_to_ns(double s) noexcept { return int64_t(s * 1e9); }

// The OS sleep with the finest resolution available: nanosleep on POSIX, a high-resolution
// waitable timer on Windows 10 1803+ (Sleep() would round up to the 1-15.6 ms scheduler tick).
void sleep_ns(int64_t ns) noexcept;

// Sleeps until `deadline_ns - spin_ns` with the OS sleep, then spins until `deadline_ns`.
// Returns the steady time at wake-up (>= deadline_ns).
int64_t sleep_then_spin_until(int64_t deadline_ns, int64_t spin_ns) noexcept;

// A CPU hint for spin loops (pause on x86, yield on ARM): keeps a spinning hyper-thread from
// starving its sibling.
void cpu_relax() noexcept;

// 64 bytes on x86-64 and most ARM cores; std::hardware_destructive_interference_size is not
// reliably available (and warns on GCC), so the value is fixed.
inline constexpr std::size_t kCacheLine = 64;

}  // namespace ac_core
