#include "ac_core/sim/realtime_runner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ac_core/core/clock.hpp"

namespace ac_core::sim {

namespace {
constexpr std::size_t kLatencyBins = 20000;  // 1 us each; 20 ms and above land in the last bin
constexpr int64_t kPauseSteppingWindowNs = 1'000'000'000;  // a CSP pause this recent = pause-stepping
}

RealtimeRunner::RealtimeRunner(std::shared_ptr<const Track> track, const VehicleParams& params, SimOptions sim_options,
                               RunnerOptions options)
    : sim_(1, std::move(track), params, std::move(sim_options)), options_(std::move(options)), pad_(options_.prefix) {
    if (!(options_.time_scale > 0.0) || !std::isfinite(options_.time_scale))
        throw std::invalid_argument("time_scale must be a positive number (1.0 = real time)");
    if (!options_.pad && !options_.csp)
        throw std::invalid_argument("the simulator needs a control protocol: pad, csp or both");
    effective_scale_ = options_.time_scale;
    period_ns_ = int64_t(std::llround(1e9 * kPhysicsDt / effective_scale_));
    if (!(options_.spin_s >= 0.0) || options_.spin_s > kPhysicsDt)
        throw std::invalid_argument("spin_s must be between 0 and one physics tick (0.003 s)");
    physics_page_ = SharedPage::create(options_.prefix + "physics", kBridgePageSize, 0600, options_.replace_stale);
    graphics_page_ = SharedPage::create(options_.prefix + "graphics", kBridgePageSize, 0600, options_.replace_stale);
    static_page_ = SharedPage::create(options_.prefix + "static", kBridgePageSize, 0600, options_.replace_stale);
    physics_writer_ = std::make_unique<SeqlockPageWriter>(physics_page_, PageKind::Physics);
    graphics_writer_ = std::make_unique<SeqlockPageWriter>(graphics_page_, PageKind::Graphics);
    static_writer_ = std::make_unique<SeqlockPageWriter>(static_page_, PageKind::Static);
    if (options_.csp)
        csp_ = std::make_unique<CspServer>(options_.csp_prefix, options_.csp_car_index, 0.1, options_.replace_stale);
    lateness_hist_.assign(kLatencyBins, 0);
    static_writer_->publish(&sim_.static_page());
    publish();
}

RealtimeRunner::~RealtimeRunner() { close(); }

void RealtimeRunner::close() noexcept {
    if (csp_) csp_->close();
    physics_writer_.reset();
    graphics_writer_.reset();
    static_writer_.reset();
    physics_page_.close();
    graphics_page_.close();
    static_page_.close();
}

std::vector<std::string> RealtimeRunner::page_names() const {
    std::vector<std::string> names{options_.prefix + "physics", options_.prefix + "graphics", options_.prefix + "static"};
    if (csp_)
        for (const std::string& n : csp_->page_names()) names.push_back(n + " (once a CarControls page appears)");
    return names;
}

void RealtimeRunner::set_paused_state() {
    const bool paused = pad_paused_ || csp_paused_;
    if (paused != sim_.paused()) sim_.set_paused(paused);
}

void RealtimeRunner::publish() {
    physics_writer_->publish(&sim_.physics_pages()[0]);
    graphics_writer_->publish(&sim_.graphics_pages()[0]);
}

void RealtimeRunner::handle_pad() {
    PadSnapshot snap;
    CarInput& in = sim_.controls()[0];
    if (!pad_.poll(snap)) {
        // No pad (yet, or its writer left): the car gets no input.
        in = CarInput{};
        last_buttons_ = 0;
        return;
    }
    const uint32_t pressed = snap.controls.buttons & ~last_buttons_;
    last_buttons_ = snap.controls.buttons;
    if (pressed & kPadPauseToggle) pad_paused_ = !pad_paused_;
    if (pressed & kPadRestartSession) {
        sim_.reset(0);
        drs_on_ = false;
    }
    if (pressed & kPadDrsToggle) drs_on_ = !drs_on_;
    if (pressed & kPadGearUp) pending_shift_ = 1;
    if (pressed & kPadGearDown) pending_shift_ = -1;
    in.steer = snap.controls.steer;
    in.throttle = snap.controls.throttle;
    in.brake = snap.controls.brake;
    in.clutch = snap.controls.clutch;
    in.drs = drs_on_ ? 1 : 0;
    if (snap.sequence != last_sequence_) {
        last_sequence_ = snap.sequence;
        stats_.pad_controls++;
    }
}

uint64_t RealtimeRunner::run_for(double wall_seconds) {
    if (closed()) throw std::runtime_error("the simulator's pages are closed; create a new runner");
    stop_.store(false, std::memory_order_relaxed);
    const int64_t spin_ns = int64_t(options_.spin_s * 1e9);
    const int64_t resync_ns = int64_t(options_.resync_after_s * 1e9);
    const int64_t until = steady_now_ns() + int64_t(wall_seconds * 1e9);
    if (!started_) {
        start_ns_ = steady_now_ns();
        next_index_ = 0;
        started_ = true;
    }
    uint64_t ticks = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
        int64_t deadline = start_ns_ + int64_t(next_index_) * period_ns_;
        if (deadline > until) break;
        const int64_t woke = sleep_then_spin_until(deadline, spin_ns);
        const int64_t late = woke - deadline;
        // A controller that pause-steps the simulation (CSP) counts ticks, not wall time: a burst of
        // catch-up ticks would run past its pause. While it does, re-base on any lateness.
        const bool pause_stepping = csp_ && woke - last_csp_pause_ns_ < kPauseSteppingWindowNs;
        if (late > resync_ns || (pause_stepping && late > period_ns_)) {
            // Far behind (the process was stopped): re-base rather than run a burst of ticks.
            start_ns_ = woke;
            next_index_ = 0;
            deadline = woke;
            stats_.resyncs++;
        } else {
            lateness_hist_[std::min<std::size_t>(std::size_t(late / 1000), kLatencyBins - 1)]++;
        }
        if (csp_) handle_csp();
        // A car that Custom AI owns is not driven by the pad (as in AC: CSP replaces the controller).
        if (options_.pad && !(csp_ && csp_->driving())) handle_pad();
        set_paused_state();
        CarInput& in = sim_.controls()[0];
        in.shift = pending_shift_;
        const bool ticked = !sim_.paused();
        if (ticked) {
            if (csp_) csp_->apply_pending(sim_);
            sim_.step(1);
            pending_shift_ = 0;
            ++ticks;
            stats_.ticks++;
        } else {
            sim_.write_pages();
            if (csp_paused_) stats_.csp_paused_loops++;
        }
        in.shift = 0;
        if (last_sequence_ != 0) pad_.store_applied(last_sequence_, sim_.physics_pages()[0].packetId);
        publish();
        if (csp_) csp_->publish(sim_);
        stats_.loops++;
        ++next_index_;
        if (ticked && extra_sleep_ns_ > 0) {
            // CSP's extra_sleep_ms slows the simulation: sleep, and move the schedule with it.
            sleep_ns(extra_sleep_ns_);
            start_ns_ += extra_sleep_ns_;
        }
    }
    return ticks;
}

void RealtimeRunner::handle_csp() {
    const CspSimDirectives& d = csp_->poll_sim_state();
    csp_paused_ = d.pause;
    if (csp_paused_) last_csp_pause_ns_ = steady_now_ns();
    extra_sleep_ns_ = int64_t(d.extra_sleep_ms) * 1'000'000;
    const double scale = options_.time_scale * double(d.time_scale);
    if (scale != effective_scale_) {
        // Keep the current deadline, change the spacing of the next ones (no burst, no gap).
        start_ns_ += int64_t(next_index_) * period_ns_;
        next_index_ = 0;
        effective_scale_ = scale;
        period_ns_ = int64_t(std::llround(1e9 * kPhysicsDt / scale));
        stats_.rebases++;
    }
    // CSP applies controls in its physics update: while paused the car keeps the inputs of its last
    // tick (the page then holds the session's safe values, which must not show up in the pages).
    CarInput held = sim_.controls()[0];
    csp_->poll_controls(sim_, csp_paused_ ? held : sim_.controls()[0], pending_shift_, drs_on_);
}

RunnerStats RealtimeRunner::stats() const {
    RunnerStats s = stats_;
    uint64_t total = 0;
    for (uint32_t c : lateness_hist_) total += c;
    if (total == 0) return s;
    auto quantile = [&](double q) {
        const uint64_t target = uint64_t(std::ceil(q * double(total)));
        uint64_t acc = 0;
        for (std::size_t i = 0; i < lateness_hist_.size(); ++i) {
            acc += lateness_hist_[i];
            if (acc >= target) return double(i);
        }
        return double(lateness_hist_.size() - 1);
    };
    s.lateness_p50_us = quantile(0.50);
    s.lateness_p99_us = quantile(0.99);
    for (std::size_t i = lateness_hist_.size(); i-- > 0;)
        if (lateness_hist_[i]) {
            s.lateness_max_us = double(i);
            break;
        }
    return s;
}

}  // namespace ac_core::sim
