// Stepper: chained deadlines (no drift), elastic restart on overrun, lateness statistics, and the
// physics-aligned mode against a page writer thread.
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "ac_core/core/clock.hpp"
#include "ac_core/realtime/stepper.hpp"
#include "check.hpp"

using namespace ac_core;

AC_TEST(lateness_percentiles_are_nearest_rank) {
    LatenessRecorder r(100);
    for (int i = 1; i <= 100; ++i) r.add(i * 1e-3);
    CHECK_NEAR(r.percentile(0.5), 0.050, 1e-12);
    CHECK_NEAR(r.percentile(0.99), 0.099, 1e-12);
    CHECK_NEAR(r.percentile(1.0), 0.100, 1e-12);
    CHECK_NEAR(r.max(), 0.100, 1e-12);
    CHECK_NEAR(r.mean(), 0.0505, 1e-12);
    r.add(1.0);  // window of 100: the oldest sample (1 ms) leaves
    CHECK_NEAR(r.percentile(0.0), 0.002, 1e-12);
    CHECK_EQ(r.count(), std::size_t(101));
    CHECK_THROWS(LatenessRecorder(0));
}

AC_TEST(bad_periods_are_rejected) {
    CHECK_THROWS(DeadlineStepper(0.0));
    CHECK_THROWS(DeadlineStepper(std::nan("")));
    CHECK_THROWS(DeadlineStepper(0.01, -1.0));
    CHECK_THROWS(DeadlineStepper(0.01, 1.0, 0.02));
}

// 100 steps at 200 Hz with a little work per step: the total elapsed time is steps * period plus
// only the last step's lateness (deadlines chain, so nothing accumulates). A huge timeout factor
// keeps a loaded machine from restarting the chain.
AC_TEST(deadlines_chain_without_drift) {
    const double period = 0.005;
    DeadlineStepper stepper(period, 1000.0, 0.0005);
    stepper.start();
    const int64_t t0 = stepper.next_deadline_ns();
    for (int i = 0; i < 100; ++i) {
        sleep_then_spin_until(steady_now_ns() + 1'000'000, 0);  // 1 ms of "work"
        const StepResult r = stepper.step();
        CHECK(r.lateness_s >= 0.0);
    }
    const double elapsed = ns_to_s(steady_now_ns() - t0);
    const StepperStats s = stepper.stats();
    CHECK_EQ(s.steps, uint64_t(100));
    CHECK_EQ(s.timeouts, uint64_t(0));
    CHECK(elapsed >= 100 * period);
    CHECK(elapsed <= 100 * period + s.max_s + 0.001);
    CHECK(std::fabs(s.drift_s) <= s.max_s + 1e-6);  // drift = the last step's lateness only
    CHECK(s.p50_s <= s.p99_s && s.p99_s <= s.max_s);
}

AC_TEST(overrun_beyond_the_timeout_restarts_the_clock) {
    // A 20 ms period: `next` must wake within one period of its deadline, which a loaded machine
    // (or wine's timers) can miss at 4 ms.
    DeadlineStepper stepper(0.02, 1.0, 0.0);
    stepper.step();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // work > timeout (1 x 20 ms)
    const StepResult late = stepper.step();
    CHECK(late.timed_out);
    const StepResult next = stepper.step();
    CHECK(!next.timed_out);
    CHECK_EQ(stepper.stats().timeouts, uint64_t(1));
}

// rtgym's rule: the clock restarts only when the work after a deadline took longer than the timeout
// (timeout_factor * period). 65 ms of work with a 50 ms period and a 200 ms timeout wakes ~15 ms
// late and keeps the chain (wide margins: sanitizer builds on a loaded 2-core machine sleep long).
AC_TEST(small_overrun_within_the_timeout_keeps_the_chain) {
    DeadlineStepper stepper(0.050, 4.0, 0.0);
    stepper.step();
    const int64_t first_deadline = stepper.next_deadline_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(65));
    const StepResult r = stepper.step();
    CHECK(!r.timed_out);
    CHECK_EQ(stepper.next_deadline_ns(), first_deadline + 50'000'000);
    CHECK(r.lateness_s >= 0.010);  // it woke late and says so
}

AC_TEST(physics_stepper_ends_a_step_every_k_packets) {
    struct alignas(64) PageMemory {
        uint8_t bytes[kBridgePageSize];
    } phys{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    PhysicsPage p{};
    p.packetId = 1;
    pw.publish(&p);
    PollerConfig cfg;
    cfg.expected_period_s = 0.001;
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, nullptr, 0, cfg);
    CHECK_THROWS(PhysicsStepper(poller, 0));
    PhysicsStepper unstarted(poller, 2);
    CHECK_THROWS(unstarted.step(0.1));
    poller.start();
    std::atomic<bool> stop{false};
    std::thread writer([&] {  // a 1 kHz physics clock
        int64_t next = steady_now_ns();
        for (int32_t id = 2; !stop.load(); ++id) {
            next += 1'000'000;
            sleep_then_spin_until(next, 100'000);
            PhysicsPage q{};
            q.packetId = id;
            pw.publish(&q);
        }
    });
    PhysicsStepper stepper(poller, 3);
    auto first = stepper.step(2.0);
    CHECK(first.ok);
    // Targets chain from the previous target (not from the id seen, which may be past it when
    // packets arrive in bursts), each at least 3 ids after the last.
    const int32_t second_target = stepper.target_packet_id();
    for (int i = 0; i < 20; ++i) {
        auto r = stepper.step(2.0);
        CHECK(r.ok);
        CHECK(r.packet_id >= second_target + 3 * i);
    }
    stop.store(true);
    writer.join();
    poller.stop();
    const StepperStats s = stepper.stats();
    CHECK_EQ(s.steps, uint64_t(21));
    CHECK(s.max_s >= s.p50_s);
    // The poller stopped: once the packets published after the last step are used up, a step times
    // out instead of hanging.
    bool timed_out = false;
    for (int i = 0; i < 1000 && !timed_out; ++i) timed_out = !stepper.step(0.01).ok;
    CHECK(timed_out);
}

AC_TEST_MAIN("stepper")
