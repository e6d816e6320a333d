// Real-time step clocks for an RL loop that drives a live game.
//
// DeadlineStepper (rtgym's elastic clock, in C++): each deadline is the previous deadline plus the
// period, never "now + period", so lateness does not accumulate (no drift). When a step's work ran
// so long that it missed its deadline by more than `timeout_factor * period`, the clock restarts from
// now (elastic) and counts a timeout, as rtgym warns "Time-step timed out". The wait sleeps until
// `spin` before the deadline, then spins.
//
// PhysicsStepper: a step ends after `ticks` new physics packetIds (AC: 3 ms each), as seen by a
// TelemetryPoller. The target id chains from the previous target (no drift); if the game ran ahead by
// more than `timeout_ticks`, the target restarts from the current id and a timeout is counted.
//
// Both record lateness (wake-up time minus the deadline, or minus the time the poller saw the target
// packet) in a bounded window for p50/p99/max.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ac_core/realtime/poller.hpp"

namespace ac_core {

// Lateness samples in seconds; keeps the last `window` for percentiles plus all-time max/mean.
class LatenessRecorder {
public:
    explicit LatenessRecorder(std::size_t window = 65536);
    void add(double lateness_s) noexcept;
    void clear() noexcept;
    std::size_t count() const noexcept { return count_; }
    double max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? sum_ / double(count_) : 0.0; }
    // q in [0, 1] over the window (nearest-rank); 0 when empty.
    double percentile(double q) const;

private:
    std::vector<double> samples_;
    std::size_t next_ = 0;
    std::size_t count_ = 0;
    double max_ = 0.0;
    double sum_ = 0.0;
};

struct StepResult {
    uint64_t step = 0;         // steps completed, this one included
    double lateness_s = 0.0;   // how late the wake-up was (>= 0)
    bool timed_out = false;    // the clock restarted from now before this step
};

struct StepperStats {
    uint64_t steps = 0;
    uint64_t timeouts = 0;
    double p50_s = 0, p99_s = 0, max_s = 0, mean_s = 0;
    // Drift: (last deadline - first deadline) - (steps - 1) * period, over the current chain (since
    // the last timeout restart). 0 for a drift-free clock.
    double drift_s = 0;
    double elapsed_s = 0;  // wall time from start() to the latest wake-up
};

class DeadlineStepper {
public:
    DeadlineStepper(double period_s, double timeout_factor = 1.0, double spin_s = 0.0002, std::size_t window = 65536);

    // Sets the first deadline to now + period (called by the first step() if not called before).
    void start() noexcept;
    // Blocks until the next deadline; see the header comment for the elastic rule.
    StepResult step() noexcept;
    StepperStats stats() const;
    void reset_stats() noexcept;

    double period_s() const noexcept { return ns_to_s(period_ns_); }
    int64_t next_deadline_ns() const noexcept { return deadline_ns_; }

private:
    int64_t period_ns_;
    int64_t timeout_ns_;
    int64_t spin_ns_;
    bool started_ = false;
    int64_t start_ns_ = 0;
    int64_t deadline_ns_ = 0;   // the deadline of the step in progress
    int64_t chain_start_ns_ = 0;
    uint64_t chain_steps_ = 0;
    int64_t last_wake_ns_ = 0;
    uint64_t steps_ = 0;
    uint64_t timeouts_ = 0;
    LatenessRecorder lateness_;
};

class PhysicsStepper {
public:
    // The poller must be running (and outlive the stepper).
    PhysicsStepper(TelemetryPoller& poller, uint32_t ticks, uint32_t timeout_ticks = 0, std::size_t window = 65536);

    // Blocks until the poller has made a frame with packetId >= target, or `timeout_s` passes
    // (returns with `ok == false`). The first call anchors to the current packetId.
    struct Result {
        bool ok = false;
        StepResult step;
        int32_t packet_id = 0;
    };
    Result step(double timeout_s);
    StepperStats stats() const;
    uint32_t ticks() const noexcept { return ticks_; }
    int32_t target_packet_id() const noexcept { return target_; }

private:
    TelemetryPoller& poller_;
    uint32_t ticks_;
    uint32_t timeout_ticks_;
    bool anchored_ = false;
    int32_t target_ = 0;
    uint64_t steps_ = 0;
    uint64_t timeouts_ = 0;
    int64_t start_ns_ = 0;
    int64_t last_wake_ns_ = 0;
    LatenessRecorder lateness_;
};

}  // namespace ac_core
