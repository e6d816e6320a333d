// The built-in simulator as its own process (`ac-core sim`): one car, real time at 333 Hz (or a time
// scale), publishing the three AC pages as named shared memory ("<prefix>physics", "<prefix>graphics",
// "<prefix>static", 2048 bytes each, seqlocked) and driven by the virtual pad page "<prefix>pad".
//
// Pacing: tick i is due at start + i * dt / time_scale (absolute deadlines, never accumulated
// sleeps, so the loop cannot drift); the wait is an OS sleep then a short spin. If the loop falls
// more than `resync_after_s` behind (a stopped process, a debugger) it re-bases instead of bursting.
//
// Pad: level-triggered buttons act on 0 -> 1 edges: gear up/down, restart (reset the car), pause
// toggle (AC_PAUSE: physics and packetId freeze, graphics keeps publishing), DRS toggle. The sim
// echoes the applied control's sequence and the physics packetId into the pad page. Without a pad
// page the car gets zero input, and the page is looked for again every 0.1 s.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ac_core/controls/pad.hpp"
#include "ac_core/sim/csp_server.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/sim/sim_batch.hpp"
#include "ac_core/core/snapshot.hpp"

namespace ac_core::sim {

struct RunnerOptions {
    std::string prefix = kDefaultPagePrefix;
    double time_scale = 1.0;      // 2.0 = twice real time
    double spin_s = 0.0002;       // busy-wait this long before each deadline
    double resync_after_s = 0.1;  // re-base the schedule when this far behind
    bool replace_stale = true;    // remove pages a crashed sim left behind (POSIX)
    bool pad = true;              // read the pad page "<prefix>pad"
    bool csp = false;             // serve CSP's Custom AI pages "<csp_prefix>AcTools.CSP.NewBehaviour.CustomAI.*"
    std::string csp_prefix;       // "" = the names the game uses
    int csp_car_index = 0;
};

struct RunnerStats {
    uint64_t ticks = 0;           // physics ticks run (not counting paused ticks)
    uint64_t loops = 0;           // loop iterations (ticks + paused iterations)
    uint64_t resyncs = 0;
    uint64_t pad_controls = 0;    // pad writes applied
    uint64_t csp_paused_loops = 0; // loop iterations held by CSP's pause flag
    uint64_t rebases = 0;          // schedule re-based for a time-scale change
    double lateness_p50_us = 0, lateness_p99_us = 0, lateness_max_us = 0;
};

class RealtimeRunner {
public:
    RealtimeRunner(std::shared_ptr<const Track> track, const VehicleParams& params, SimOptions sim_options,
                   RunnerOptions options);
    ~RealtimeRunner();
    RealtimeRunner(const RealtimeRunner&) = delete;
    RealtimeRunner& operator=(const RealtimeRunner&) = delete;

    // Runs the loop for `wall_seconds` (or until stop()); returns the physics ticks run meanwhile.
    // Call it repeatedly: the schedule continues where it left off.
    uint64_t run_for(double wall_seconds);
    void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
    // Removes the pages (also done by the destructor).
    void close() noexcept;
    bool closed() const noexcept { return !physics_page_.valid(); }

    SimBatch& sim() { return sim_; }
    const RunnerOptions& options() const { return options_; }
    RunnerStats stats() const;
    bool pad_attached() const noexcept { return pad_.attached(); }
    // The CSP side (nullptr unless options.csp). Read its stats only while run_for is not running.
    const CspServer* csp() const noexcept { return csp_.get(); }
    double effective_time_scale() const noexcept { return effective_scale_; }
    // Lines the loop wants logged (a refused CSP controls page). Call between run_for calls.
    std::vector<std::string> take_notes() { return csp_ ? csp_->take_notes() : std::vector<std::string>{}; }
    std::vector<std::string> page_names() const;

private:
    void handle_pad();
    void handle_csp();
    void publish();
    void set_paused_state();

    SimBatch sim_;
    RunnerOptions options_;
    SharedPage physics_page_, graphics_page_, static_page_;
    std::unique_ptr<SeqlockPageWriter> physics_writer_, graphics_writer_, static_writer_;
    PadLink pad_;
    std::unique_ptr<CspServer> csp_;
    bool pad_paused_ = false, csp_paused_ = false;
    double effective_scale_ = 1.0;
    int64_t period_ns_ = 0;
    int64_t extra_sleep_ns_ = 0;
    int64_t last_csp_pause_ns_ = -(int64_t(1) << 62);
    uint32_t last_buttons_ = 0;
    uint32_t last_sequence_ = 0;
    bool drs_on_ = false;
    int8_t pending_shift_ = 0;
    std::atomic<bool> stop_{false};
    bool started_ = false;
    int64_t start_ns_ = 0;
    uint64_t next_index_ = 0;
    RunnerStats stats_;
    std::vector<uint32_t> lateness_hist_;  // 1 us bins, last bin = overflow
};

}  // namespace ac_core::sim
