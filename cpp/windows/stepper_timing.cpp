// The DeadlineStepper on Windows timers (run under wine by run_wine_tests.sh, or on Windows).
//
// Checks what must hold on any OS: the number of steps, no drift (deadlines chain from the previous
// deadline), no early wake-ups, and elapsed time of at least steps x period. Prints lateness
// statistics as a report only: wine is not Windows, and a shared CI machine is not a gaming PC.
// It also reports whether the high-resolution waitable timer (Windows 10 1803+) is available,
// which the stepper's sleep uses when it is.
#include <windows.h>

#include <cstdio>

#include "ac_core/core/clock.hpp"
#include "ac_core/realtime/stepper.hpp"
#include "check.hpp"

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

using namespace ac_core;

namespace {

void run_and_report(const char* label, double period_s, double spin_s, int steps) {
    DeadlineStepper stepper(period_s, /*timeout_factor=*/1000.0, spin_s);  // no elastic restarts here
    stepper.start();
    const int64_t first_deadline = stepper.next_deadline_ns();
    int early = 0;
    StepResult last;
    for (int i = 0; i < steps; ++i) {
        last = stepper.step();
        // After step() the stepper's deadline is the one this step waited for.
        if (last.lateness_s < 0.0 || steady_now_ns() < stepper.next_deadline_ns()) ++early;
    }
    const StepperStats s = stepper.stats();
    CHECK_EQ(s.steps, uint64_t(steps));
    CHECK_EQ(s.timeouts, uint64_t(0));
    CHECK_EQ(early, 0);
    // Drift is only the last wake-up's own lateness: earlier lateness did not push later deadlines.
    CHECK_NEAR(s.drift_s, last.lateness_s, 1e-6);
    // The next deadline is exactly `steps` periods after the first one: chained, never now + period.
    CHECK_EQ(stepper.next_deadline_ns() - first_deadline, int64_t(steps) * s_to_ns(period_s));
    CHECK(s.elapsed_s >= double(steps) * period_s - 1e-6);
    std::printf("  %-28s %4d steps at %6.1f Hz, spin %.1f ms: lateness p50 %.3f ms, p99 %.3f ms, max %.3f ms, "
                "mean %.3f ms\n",
                label, steps, 1.0 / period_s, spin_s * 1e3, s.p50_s * 1e3, s.p99_s * 1e3, s.max_s * 1e3,
                s.mean_s * 1e3);
}

}  // namespace

AC_TEST(high_resolution_timer_availability) {
    HANDLE timer = CreateWaitableTimerExW(nullptr, nullptr, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
    std::printf("  CREATE_WAITABLE_TIMER_HIGH_RESOLUTION: %s\n",
                timer != nullptr ? "available" : "not available (older Windows: the stepper falls back)");
    if (timer == nullptr) return;
    // One relative 2 ms wait on it must not return early.
    LARGE_INTEGER due;
    due.QuadPart = -20000;  // 100 ns units, negative = relative
    const int64_t before = steady_now_ns();
    CHECK(SetWaitableTimer(timer, &due, 0, nullptr, nullptr, FALSE));
    CHECK_EQ(WaitForSingleObject(timer, 5000), DWORD(WAIT_OBJECT_0));
    // Not early by more than the clock mismatch Windows allows (interrupt time vs QueryPerformanceCounter).
    CHECK(steady_now_ns() - before >= 2000000 - 500000);
    CloseHandle(timer);
}

AC_TEST(deadline_stepper_20hz_rl_step) { run_and_report("RL step, sleep + spin", 0.05, 0.0002, 40); }
AC_TEST(deadline_stepper_20hz_longer_spin) { run_and_report("RL step, sleep + 1 ms spin", 0.05, 0.001, 40); }
AC_TEST(deadline_stepper_50hz_os_sleep_only) { run_and_report("RL step, OS sleep only", 0.02, 0.0, 50); }
AC_TEST(deadline_stepper_333hz_physics_tick) { run_and_report("physics tick, sleep + spin", 0.003, 0.0002, 333); }

AC_TEST_MAIN("wine_stepper")
