#include "ac_core/realtime/stepper.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ac_core/core/clock.hpp"

namespace ac_core {

// ---- lateness -----------------------------------------------------------------------------------

LatenessRecorder::LatenessRecorder(std::size_t window) {
    if (window == 0) throw std::invalid_argument("lateness window must hold at least one sample");
    samples_.reserve(window);
}

void LatenessRecorder::add(double lateness_s) noexcept {
    if (samples_.size() < samples_.capacity()) {
        samples_.push_back(lateness_s);
    } else {
        samples_[next_] = lateness_s;
        next_ = (next_ + 1) % samples_.size();
    }
    count_++;
    sum_ += lateness_s;
    max_ = std::max(max_, lateness_s);
}

void LatenessRecorder::clear() noexcept {
    samples_.clear();
    next_ = 0;
    count_ = 0;
    max_ = 0.0;
    sum_ = 0.0;
}

double LatenessRecorder::percentile(double q) const {
    if (samples_.empty()) return 0.0;
    std::vector<double> sorted(samples_);
    const double clamped = std::clamp(q, 0.0, 1.0);
    const auto rank = std::size_t(std::ceil(clamped * double(sorted.size())));
    const std::size_t index = rank == 0 ? 0 : rank - 1;
    std::nth_element(sorted.begin(), sorted.begin() + std::ptrdiff_t(index), sorted.end());
    return sorted[index];
}

namespace {

void fill_percentiles(StepperStats& s, const LatenessRecorder& r) {
    s.p50_s = r.percentile(0.50);
    s.p99_s = r.percentile(0.99);
    s.max_s = r.max();
    s.mean_s = r.mean();
}

}  // namespace

// ---- deadline stepper ---------------------------------------------------------------------------

DeadlineStepper::DeadlineStepper(double period_s, double timeout_factor, double spin_s, std::size_t window)
    : period_ns_(s_to_ns(period_s)), timeout_ns_(0), spin_ns_(s_to_ns(spin_s)), lateness_(window) {
    if (!std::isfinite(period_s) || period_s < 1e-4 || period_s > 3600)
        throw std::invalid_argument("stepper period must be in [0.0001, 3600] seconds, got " + std::to_string(period_s));
    if (!std::isfinite(timeout_factor) || timeout_factor < 0)
        throw std::invalid_argument("stepper timeout_factor must be >= 0 (rtgym's default is 1.0), got " +
                                    std::to_string(timeout_factor));
    if (!std::isfinite(spin_s) || spin_s < 0 || spin_s > period_s)
        throw std::invalid_argument("stepper spin must be in [0, period] seconds, got " + std::to_string(spin_s));
    timeout_ns_ = s_to_ns(timeout_factor * period_s);
}

void DeadlineStepper::start() noexcept {
    const int64_t now = steady_now_ns();
    started_ = true;
    start_ns_ = now;
    deadline_ns_ = now;  // the "previous deadline": the first step ends one period from now
    chain_start_ns_ = now;
    chain_steps_ = 0;
    last_wake_ns_ = now;
}

StepResult DeadlineStepper::step() noexcept {
    StepResult r;
    if (!started_) start();
    const int64_t now = steady_now_ns();
    if (now < deadline_ns_ + timeout_ns_ || steps_ == 0) {
        deadline_ns_ += period_ns_;  // chained from the previous deadline: no drift
    } else {
        // The work since the last deadline overran it by more than the timeout: restart from now.
        timeouts_++;
        r.timed_out = true;
        chain_start_ns_ = now;
        chain_steps_ = 0;
        deadline_ns_ = now + period_ns_;
    }
    const int64_t wake = sleep_then_spin_until(deadline_ns_, spin_ns_);
    last_wake_ns_ = wake;
    chain_steps_++;
    steps_++;
    r.step = steps_;
    r.lateness_s = ns_to_s(wake - deadline_ns_);
    lateness_.add(r.lateness_s);
    return r;
}

StepperStats DeadlineStepper::stats() const {
    StepperStats s;
    s.steps = steps_;
    s.timeouts = timeouts_;
    fill_percentiles(s, lateness_);
    s.drift_s = started_ ? ns_to_s((last_wake_ns_ - chain_start_ns_) - int64_t(chain_steps_) * period_ns_) : 0.0;
    s.elapsed_s = started_ ? ns_to_s(last_wake_ns_ - start_ns_) : 0.0;
    return s;
}

void DeadlineStepper::reset_stats() noexcept {
    lateness_.clear();
    timeouts_ = 0;
}

// ---- physics-aligned stepper --------------------------------------------------------------------

PhysicsStepper::PhysicsStepper(TelemetryPoller& poller, uint32_t ticks, uint32_t timeout_ticks, std::size_t window)
    : poller_(poller), ticks_(ticks), timeout_ticks_(timeout_ticks == 0 ? ticks : timeout_ticks), lateness_(window) {
    if (ticks == 0 || ticks > 100000)
        throw std::invalid_argument("physics stepper ticks must be in [1, 100000], got " + std::to_string(ticks));
}

PhysicsStepper::Result PhysicsStepper::step(double timeout_s) {
    Result result;
    const int64_t now = steady_now_ns();
    if (!anchored_) {
        if (!poller_.running() && poller_.frames_made() == 0)
            throw std::logic_error("physics stepper: the telemetry poller is not running; start it first");
        auto first = poller_.wait_for_packet(poller_.latest_packet_id() - 1, timeout_s);
        if (!first) return result;  // no telemetry yet
        anchored_ = true;
        start_ns_ = now;
        target_ = *first + int32_t(ticks_);
    }
    // Wait for the target id (wrap-safe comparison via wait_for_packet's "newer than target - 1").
    auto seen = poller_.wait_for_packet(target_ - 1, timeout_s);
    if (!seen) return result;
    const int64_t wake = steady_now_ns();
    TelemetryFrame frame{};
    int64_t seen_at = wake;
    if (poller_.latest(frame)) seen_at = frame.time_ns;
    result.ok = true;
    result.packet_id = *seen;
    steps_++;
    result.step.step = steps_;
    result.step.lateness_s = ns_to_s(std::max<int64_t>(0, wake - seen_at));
    lateness_.add(result.step.lateness_s);
    last_wake_ns_ = wake;
    // Next target: chained from this target; re-anchored if the game ran far past it (or restarted).
    const int32_t ahead = int32_t(uint32_t(*seen) - uint32_t(target_));
    if (ahead < 0 || uint32_t(ahead) > timeout_ticks_) {
        timeouts_++;
        result.step.timed_out = true;
        target_ = *seen + int32_t(ticks_);
    } else {
        target_ += int32_t(ticks_);
    }
    return result;
}

StepperStats PhysicsStepper::stats() const {
    StepperStats s;
    s.steps = steps_;
    s.timeouts = timeouts_;
    fill_percentiles(s, lateness_);
    s.elapsed_s = anchored_ ? ns_to_s(last_wake_ns_ - start_ns_) : 0.0;
    return s;
}

}  // namespace ac_core
