// TelemetryPoller: a thread that follows the physics page and turns every new physics packetId
// into a TelemetryFrame (checked physics snapshot + latest graphics snapshot + ids + timestamp).
// packetId 0 (AC's "not updating") never makes a frame.
//
// Each frame goes to an SpscRing (consumer: Python's drain()) and to a seqlocked latest-frame slot
// (any reader: latest()). Waiting for the next packet is "sleep, then spin": the poller estimates
// the physics period (AC: 333 Hz, 3.0 ms) from the packets it sees, sleeps in short slices until
// `spin` before the next packet is due, then spins on the packetId. While the game is paused or
// gone it only sleeps (`paused_sleep`).
//
// Threads: the poller thread is the ring's producer and the slot's writer; one consumer thread may
// pop/drain; any thread may call latest(), wait_for_packet() and stats().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ac_core/core/liveness.hpp"
#include "ac_core/core/seqlock.hpp"
#include "ac_core/core/snapshot.hpp"
#include "ac_core/realtime/spsc_ring.hpp"
#include "ac_core/realtime/telemetry.hpp"

namespace ac_core {

struct PollerConfig {
    std::size_t ring_capacity = 1024;           // power of two; 1024 frames ≈ 3 s of AC physics
    double idle_sleep_s = 0.0005;               // longest sleep slice while a packet is expected
    double spin_s = 0.0003;                     // busy-wait this long around the expected packet time
    double expected_period_s = 1.0 / 333.0;     // first guess of the physics period; then measured
    double paused_sleep_s = 0.002;              // sleep slice while paused/stale
    double pause_after_s = 0.050;               // packetId frozen this long = paused
    double stale_after_s = 1.0;                 // frozen this long = not live (stall)
    uint32_t max_retries = 16;                  // torn-read retries per snapshot before giving up
    int realtime_priority = 0;                  // 0: normal thread; 1..99: SCHED_FIFO / TIME_CRITICAL (rt_thread.hpp)

    void validate() const;  // throws std::invalid_argument naming the bad field
};

struct PollerStats {
    uint64_t frames = 0;          // frames made (pushed or dropped)
    uint64_t dropped = 0;         // frames not queued because the ring was full (still in latest())
    uint64_t missed_packets = 0;  // physics packetIds that went by between two polls
    uint64_t torn_retries = 0;    // snapshot copies discarded because the page changed mid-copy
    uint64_t read_failures = 0;   // snapshots abandoned after max_retries (no frame made)
    uint64_t restarts = 0;        // the physics packetId went backwards (game/session restarted)
    uint64_t pauses = 0;          // transitions into Paused (packetId frozen > pause_after)
    uint64_t stalls = 0;          // transitions into Stale (frozen > stale_after)
    uint64_t resumes = 0;         // frames flagged kFrameAfterPause
    uint64_t polls = 0;           // packetId checks
    int32_t last_packet_id = 0;
    Liveness liveness = Liveness::Unknown;
    double period_estimate_s = 0.0;
};

class TelemetryPoller {
public:
    // The pages must outlive the poller. The graphics page may be null (frames then carry a zeroed
    // graphics part and the kFrameGraphicsStale flag).
    TelemetryPoller(const uint8_t* physics, std::size_t physics_size, const uint8_t* graphics,
                    std::size_t graphics_size, PollerConfig config = {});
    ~TelemetryPoller();
    TelemetryPoller(const TelemetryPoller&) = delete;
    TelemetryPoller& operator=(const TelemetryPoller&) = delete;

    void start();                 // no-op if running; waits until the thread has set its priority
    // What the thread's real-time request got ("" when none was asked for): see rt_thread.hpp.
    const std::string& realtime_detail() const noexcept { return realtime_detail_; }
    bool realtime_ok() const noexcept { return realtime_ok_; }
    void stop() noexcept;         // joins the thread; wakes every waiter
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }

    // One poll step without the thread (tests, or a caller that drives polling itself). Returns
    // true when a new frame was made. Must not be called while the thread runs.
    bool poll_once();

    // Consumer side of the ring (one thread).
    bool pop(TelemetryFrame& out) noexcept { return ring_.try_pop(out); }
    std::size_t drain(TelemetryFrame* out, std::size_t max) noexcept { return ring_.pop_many(out, max); }
    std::size_t pending() const noexcept { return ring_.size(); }
    std::size_t capacity() const noexcept { return ring_.capacity(); }

    // Any thread: the most recent frame (false if none yet).
    bool latest(TelemetryFrame& out) const noexcept { return latest_.load(out) && latest_.version() > 0; }
    int32_t latest_packet_id() const noexcept { return latest_id_.load(std::memory_order_acquire); }
    uint64_t frames_made() const noexcept { return frames_.load(std::memory_order_acquire); }

    // Blocks until a physics packetId newer than `after_id` has been made into a frame (newer by
    // serial-number arithmetic, or any id after a restart), the poller stops, or `timeout_s` passes.
    // Returns the latest packetId, or nothing on timeout/stop. timeout_s < 0 waits forever.
    std::optional<int32_t> wait_for_packet(int32_t after_id, double timeout_s);

    PollerStats stats() const noexcept;
    const PollerConfig& config() const noexcept { return config_; }

private:
    void run() noexcept;
    bool make_frame(int64_t now_ns);
    void publish(const TelemetryFrame& frame);
    int64_t next_wait_ns(int64_t now_ns) const noexcept;
    static bool is_newer(int32_t id, int32_t than) noexcept { return int32_t(uint32_t(id) - uint32_t(than)) > 0; }

    PollerConfig config_;
    const uint8_t* physics_;
    const uint8_t* graphics_;
    PageReader physics_reader_;
    std::optional<PageReader> graphics_reader_;
    SpscRing<TelemetryFrame> ring_;
    SeqlockSlot<TelemetryFrame> latest_;
    LivenessTracker liveness_;

    // Poller-thread state.
    TelemetryFrame scratch_{};
    bool seen_any_ = false;
    int32_t last_id_ = 0;
    int64_t last_frame_ns_ = 0;
    int64_t period_ns_;
    bool frozen_ = false;

    std::thread thread_;
    std::string realtime_detail_;
    bool realtime_ok_ = false;
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_requested_{false};

    // Hand-off to waiters: the poller stores latest_id_ (seq_cst) then checks waiters_ (seq_cst);
    // a waiter increments waiters_ then checks latest_id_ under the mutex, so no wake-up is lost.
    std::atomic<int32_t> latest_id_{0};
    std::atomic<uint64_t> restarts_{0};
    std::atomic<int> waiters_{0};
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;

    // Counters written by the poller thread only, read by anyone.
    std::atomic<uint64_t> frames_{0}, dropped_{0}, missed_{0}, torn_{0}, failures_{0}, pauses_{0}, stalls_{0},
        resumes_{0}, polls_{0};
    std::atomic<int> liveness_state_{0};
    std::atomic<int64_t> period_estimate_ns_{0};
};

}  // namespace ac_core
