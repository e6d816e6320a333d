#include "ac_core/realtime/poller.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/word_copy.hpp"
#include "ac_core/realtime/rt_thread.hpp"

namespace ac_core {

namespace {

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) noexcept {
    // Single writer: a load + store is enough and avoids a locked instruction per frame.
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

constexpr int64_t kMinPeriodNs = 50'000;       // 20 kHz: AC's 333 Hz at time scale 60
constexpr int64_t kMaxPeriodNs = 100'000'000;  // 10 Hz
constexpr int32_t kStatusLive = 2;

}  // namespace

void PollerConfig::validate() const {
    require(ring_capacity >= 2 && (ring_capacity & (ring_capacity - 1)) == 0,
            "poller ring_capacity must be a power of two >= 2, got " + std::to_string(ring_capacity));
    require(std::isfinite(idle_sleep_s) && idle_sleep_s > 0 && idle_sleep_s <= 0.1,
            "poller idle_sleep_s must be in (0, 0.1] seconds, got " + std::to_string(idle_sleep_s));
    require(std::isfinite(spin_s) && spin_s >= 0 && spin_s <= 0.01,
            "poller spin_s must be in [0, 0.01] seconds, got " + std::to_string(spin_s));
    require(std::isfinite(expected_period_s) && expected_period_s >= 0.0005 && expected_period_s <= 0.1,
            "poller expected_period_s must be in [0.0005, 0.1] seconds, got " + std::to_string(expected_period_s));
    require(std::isfinite(paused_sleep_s) && paused_sleep_s > 0 && paused_sleep_s <= 0.5,
            "poller paused_sleep_s must be in (0, 0.5] seconds, got " + std::to_string(paused_sleep_s));
    require(std::isfinite(pause_after_s) && std::isfinite(stale_after_s) && pause_after_s > 0 &&
                stale_after_s >= pause_after_s,
            "poller needs 0 < pause_after_s <= stale_after_s");
    require(realtime_priority >= 0 && realtime_priority <= 99,
            "poller realtime_priority must be 0 (normal thread) or in [1, 99], got " + std::to_string(realtime_priority));
}

TelemetryPoller::TelemetryPoller(const uint8_t* physics, std::size_t physics_size, const uint8_t* graphics,
                                 std::size_t graphics_size, PollerConfig config)
    : config_((config.validate(), config)),
      physics_(physics),
      graphics_(graphics),
      physics_reader_(physics, physics_size, PageKind::Physics, config.max_retries),
      ring_(config.ring_capacity),
      liveness_(config.pause_after_s, config.stale_after_s),
      period_ns_(s_to_ns(config.expected_period_s)) {
    if (physics == nullptr) throw std::invalid_argument("telemetry poller: no physics page");
    if (physics_size < kPhysicsMinimalSize)
        throw std::invalid_argument("telemetry poller: physics page has " + std::to_string(physics_size) +
                                    " bytes, an AC physics page has at least " + std::to_string(kPhysicsMinimalSize));
    if (graphics != nullptr) {
        if (graphics_size < kGraphicsMinimalSize)
            throw std::invalid_argument("telemetry poller: graphics page has " + std::to_string(graphics_size) +
                                        " bytes, an AC graphics page has at least " +
                                        std::to_string(kGraphicsMinimalSize));
        graphics_reader_.emplace(graphics, graphics_size, PageKind::Graphics, config.max_retries);
    }
    period_estimate_ns_.store(period_ns_, std::memory_order_relaxed);
}

TelemetryPoller::~TelemetryPoller() { stop(); }

void TelemetryPoller::start() {
    if (running_.load(std::memory_order_acquire)) return;
    stop_requested_.store(false, std::memory_order_release);
    running_.store(true, std::memory_order_release);
    std::promise<RealtimeResult> scheduled;
    std::future<RealtimeResult> result = scheduled.get_future();
    thread_ = std::thread([this, &scheduled] {
        fine_timer_slack();  // a sleep slice ends within microseconds, not 50 µs late
        scheduled.set_value(config_.realtime_priority > 0 ? make_thread_realtime(config_.realtime_priority)
                                                          : RealtimeResult{});
        run();
    });
    const RealtimeResult got = result.get();
    realtime_ok_ = got.ok;
    realtime_detail_ = got.detail;
}

void TelemetryPoller::stop() noexcept {
    stop_requested_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    running_.store(false, std::memory_order_release);
    std::lock_guard<std::mutex> lock(wait_mutex_);
    wait_cv_.notify_all();
}

bool TelemetryPoller::make_frame(int64_t now_ns) {
    TelemetryFrame& f = scratch_;
    const SnapshotStats before = physics_reader_.stats();
    const SnapshotResult phys = physics_reader_.read(&f.physics);
    uint64_t torn = physics_reader_.stats().retries - before.retries;
    if (!phys.ok) {
        bump(torn_, torn);
        bump(failures_);
        return false;
    }
    if (seen_any_ && phys.packet_id == last_id_) {  // the packetId moved back during the copy: nothing new
        bump(torn_, torn);
        return false;
    }
    f.flags = 0;
    if (graphics_reader_) {
        const uint64_t g_before = graphics_reader_->stats().retries;
        GraphicsPage g;
        const SnapshotResult gr = graphics_reader_->read(&g);
        torn += graphics_reader_->stats().retries - g_before;
        if (gr.ok) f.graphics = g;  // otherwise keep the previous graphics snapshot
        else f.flags |= kFrameGraphicsStale;
    } else {
        f.flags |= kFrameGraphicsStale;
    }
    f.missed_packets = 0;
    if (seen_any_) {
        if (is_newer(phys.packet_id, last_id_)) {
            f.missed_packets = uint32_t(phys.packet_id) - uint32_t(last_id_) - 1u;
        } else {
            restarts_.fetch_add(1, std::memory_order_seq_cst);  // counter went back: new session
        }
        const int64_t gap = now_ns - last_frame_ns_;
        if (gap > s_to_ns(config_.pause_after_s)) {
            f.flags |= kFrameAfterPause;
            bump(resumes_);
        } else if (gap > 0 && f.missed_packets < 64) {
            // Follow the writer's real period (EWMA, 1/8), ignoring pauses. Packets missed in between
            // divide the gap: a writer faster than the estimate (time scale 10) is followed down too.
            const int64_t period = gap / int64_t(f.missed_packets + 1);
            period_ns_ = std::clamp(period_ns_ + (period - period_ns_) / 8, kMinPeriodNs, kMaxPeriodNs);
            period_estimate_ns_.store(period_ns_, std::memory_order_relaxed);
        }
    }
    f.frame_index = frames_.load(std::memory_order_relaxed);
    f.time_ns = now_ns;
    f.physics_packet_id = phys.packet_id;
    f.graphics_packet_id = f.graphics.packetId;
    f.retries = uint32_t(torn);
    f.reserved = 0;
    bump(missed_, f.missed_packets);
    bump(torn_, torn);
    seen_any_ = true;
    last_id_ = phys.packet_id;
    last_frame_ns_ = now_ns;
    publish(f);
    return true;
}

void TelemetryPoller::publish(const TelemetryFrame& frame) {
    latest_.store(frame);
    if (!ring_.try_push(frame)) bump(dropped_);
    frames_.store(frame.frame_index + 1, std::memory_order_release);
    latest_id_.store(frame.physics_packet_id, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard<std::mutex> lock(wait_mutex_);
        wait_cv_.notify_all();
    }
}

bool TelemetryPoller::poll_once() {
    bump(polls_);
    const int64_t now = steady_now_ns();
    const auto id = int32_t(load_word_acquire(physics_));
    const int32_t status = graphics_ ? int32_t(load_word_relaxed(graphics_ + offsetof(GraphicsPage, status))) : kStatusLive;
    bool made = false;
    // packetId 0 means "not updating" (AC before a session is live, a zeroed page): never a frame.
    if (id != 0 && (!seen_any_ || id != last_id_)) made = make_frame(now);
    const Liveness state = liveness_.update(seen_any_ ? last_id_ : id, status, ns_to_s(now));
    liveness_state_.store(int(state), std::memory_order_relaxed);
    pauses_.store(liveness_.pauses(), std::memory_order_relaxed);
    stalls_.store(liveness_.stalls(), std::memory_order_relaxed);
    return made;
}

int64_t TelemetryPoller::next_wait_ns(int64_t now_ns) const noexcept {
    const int64_t frozen_ns = now_ns - last_frame_ns_;
    if (!seen_any_ || frozen_ns > s_to_ns(config_.pause_after_s)) return s_to_ns(config_.paused_sleep_s);
    const int64_t due = last_frame_ns_ + period_ns_;
    const int64_t spin = s_to_ns(config_.spin_s);
    if (now_ns >= due - spin) return 0;  // inside the spin window (or late): check again at once
    return std::min(due - spin - now_ns, s_to_ns(config_.idle_sleep_s));
}

void TelemetryPoller::run() noexcept {
    while (!stop_requested_.load(std::memory_order_acquire)) {
        if (poll_once()) continue;
        const int64_t wait = next_wait_ns(steady_now_ns());
        if (wait > 0) sleep_ns(wait);
        else cpu_relax();
    }
}

std::optional<int32_t> TelemetryPoller::wait_for_packet(int32_t after_id, double timeout_s) {
    const uint64_t restarts_at_start = restarts_.load(std::memory_order_seq_cst);
    auto satisfied = [&] {
        return frames_.load(std::memory_order_acquire) > 0 &&
               (is_newer(latest_id_.load(std::memory_order_seq_cst), after_id) ||
                restarts_.load(std::memory_order_seq_cst) != restarts_at_start);
    };
    if (satisfied()) return latest_id_.load(std::memory_order_seq_cst);
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    std::unique_lock<std::mutex> lock(wait_mutex_);
    auto done = [&] { return satisfied() || stop_requested_.load(std::memory_order_acquire); };
    if (timeout_s < 0) {
        wait_cv_.wait(lock, done);
    } else {
        wait_cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), done);
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    if (satisfied()) return latest_id_.load(std::memory_order_seq_cst);
    return std::nullopt;
}

PollerStats TelemetryPoller::stats() const noexcept {
    PollerStats s;
    s.frames = frames_.load(std::memory_order_acquire);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.missed_packets = missed_.load(std::memory_order_relaxed);
    s.torn_retries = torn_.load(std::memory_order_relaxed);
    s.read_failures = failures_.load(std::memory_order_relaxed);
    s.restarts = restarts_.load(std::memory_order_relaxed);
    s.pauses = pauses_.load(std::memory_order_relaxed);
    s.stalls = stalls_.load(std::memory_order_relaxed);
    s.resumes = resumes_.load(std::memory_order_relaxed);
    s.polls = polls_.load(std::memory_order_relaxed);
    s.last_packet_id = latest_id_.load(std::memory_order_acquire);
    s.liveness = Liveness(liveness_state_.load(std::memory_order_relaxed));
    s.period_estimate_s = ns_to_s(period_estimate_ns_.load(std::memory_order_relaxed));
    return s;
}

}  // namespace ac_core
