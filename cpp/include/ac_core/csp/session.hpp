// CspSession: drive one car of an Assetto Corsa session through CSP's Custom AI pages — controls,
// gear and other buttons, teleports, pause/resume, time scale — and step it in sync with physics.
//
// Creating the session creates CarControls<N>.v0 (that is what makes CSP take the car over) with
// safe values (brake 1, throttle 0, automatic clutch/blip/gearbox) and SimState.v1 (or .v0 for CSP
// before 0.2.8). CSP then creates Car<N>.v0; wait_for_car() waits for it.
//
// CSP acknowledges nothing: it samples the controls page at 333 Hz and keeps the last values. So:
//  * Stepping is measured, never assumed: every step reports the Car page's packet_id delta.
//    step_paused(k): resume, spin until packet_id >= p + k, pause, then wait until packet_id has
//    been still for `settle_ticks` tick periods (a tick CSP had already started still lands).
//    wait_ticks(k): real time (any time scale); chained targets, re-based when the caller is late.
//  * Safety: the controls the caller asked for are "staged". While the simulation is paused the
//    page holds safe controls (the staged ones are written just before resuming), so a process
//    that dies while paused — where a synchronous trainer spends most of its time — leaves the car
//    braking. A heartbeat thread advances a counter in our page's trailer (for the out-of-process
//    watchdog, csp_watchdog.hpp) and writes safe controls itself when the simulation runs but the
//    caller has not written controls for `stall_timeout_s` (a hung or stopped caller). close()
//    writes safe controls, resumes at time scale 1 and detaches.
//
// Thread-safety: one thread drives the session; the heartbeat thread shares the pages under a mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ac_core/csp/page_io.hpp"
#include "ac_core/csp/pages.hpp"
#include "ac_core/core/shared_page.hpp"

namespace ac_core {

class CspError : public std::runtime_error {
public:
    enum class Code { CarNotFound, GameStopped, NotMoved, BadArgument, Closed };
    CspError(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
    Code code() const noexcept { return code_; }

private:
    Code code_;
};

struct CspSessionOptions {
    std::string prefix;            // before the CSP namespace: "" for the game
    int car_index = 0;             // 0 = the player's car
    int sim_state_version = 1;     // 1: SimState.v1 (CSP >= 0.2.8, time scale); 0: SimState.v0
    bool autoshift = true;         // CSP's automatic gearbox
    bool autoclutch = true;        // without it the engine free-revs in gear (observed in the game)
    bool autoblip = true;
    double heartbeat_interval_s = 0.05;
    double stall_timeout_s = 0.5;  // running, no control write for this long -> safe controls
    float safe_brake = 1.0f;       // the brake of the safe controls (throttle 0, wheel centred)
    double settle_ticks = 1.0;     // after pausing, packet_id must stay still this many tick periods
    uint32_t teleport_hold_ticks = 5;  // physics ticks teleport_to stays set
    bool replace_stale = true;     // POSIX: replace pages a crashed session left behind
};

// What the caller drives with. Ranges: steer -1..1 (+ = right), gas/brake/handbrake 0..1, clutch
// 0..1 in CSP's convention (1 = engaged); CSP ignores the clutch while autoclutch is on.
struct CspDrive {
    float steer = 0.0f;
    float gas = 0.0f;
    float brake = 0.0f;
    float clutch = 1.0f;
    float handbrake = 0.0f;
};

struct CspStepResult {
    int32_t packet_id = 0;  // Car page packet_id at the end of the step
    uint32_t ticks = 0;     // physics ticks since the previous step ended (CSP does not acknowledge)
    double wall_s = 0.0;
};

struct CspSessionStats {
    uint64_t control_writes = 0;
    uint64_t steps = 0;
    uint64_t ticks = 0;
    uint64_t overshoot_ticks = 0;  // pause-step ticks beyond the ones asked for
    uint64_t late_steps = 0;       // real-time steps whose target had already passed
    uint64_t stall_brakes = 0;     // times the heartbeat put safe controls in (caller stalled)
    uint64_t teleports = 0;
    uint64_t button_presses = 0;
    uint64_t read_retries = 0;
};

class CspSession {
public:
    explicit CspSession(CspSessionOptions options = {});
    ~CspSession();
    CspSession(const CspSession&) = delete;
    CspSession& operator=(const CspSession&) = delete;

    const CspSessionOptions& options() const noexcept { return options_; }
    std::string page_name(CspPageKind kind) const;

    // ---- the car page ----
    bool car_present() const;  // Car<N>.v0 exists (CSP took the car)
    // Waits for Car<N>.v0 and opens it; throws CspError(CarNotFound) naming the three reasons it
    // may not appear.
    void wait_for_car(double timeout_s);
    bool car_attached() const noexcept { return car_page_.valid(); }
    CspReadResult read_car(CspCarData& out);
    int32_t packet_id() const;

    // ---- controls ----
    // Validated (NaN/inf -> CspError BadArgument, nothing written) and clamped.
    void write_drive(const CspDrive& drive);
    CspDrive staged_drive() const;
    // Any one-byte control by its field name (buttons, headlights, mguh_mode, the assists); not
    // teleport_to, which teleport() manages.
    void set_control_byte(const std::string& field, uint8_t value);
    uint8_t control_byte(const std::string& field) const;
    // Holds a button for `hold_ticks` physics ticks, then releases it. Runs physics if paused (and
    // pauses again). Returns the ticks that ran.
    CspStepResult press_button(const std::string& field, uint32_t hold_ticks, double timeout_s);
    static std::vector<std::string> button_names();

    // ---- teleports (the car ends at rest, braking; the pause state is restored) ----
    CspStepResult teleport_to_pits(double timeout_s);
    // To a world position (x, y up, z) facing `direction`; checks the car arrived within
    // `tolerance_m` (horizontal) and throws CspError(NotMoved) otherwise.
    CspStepResult teleport(const float position[3], const float direction[3], double timeout_s,
                           double tolerance_m = 3.0);

    // ---- the simulation ----
    void set_paused(bool paused);
    bool paused() const;
    void set_time_scale(float scale);  // SimState.v1 only
    float time_scale() const;
    void set_extra_sleep_ms(int ms);   // 0..255
    void set_disable_collisions(bool disable);
    void set_restart_session(bool restart);  // AC opens its session menu; teleports are the clean reset

    // ---- stepping ----
    CspStepResult step_paused(uint32_t ticks, double timeout_s);
    CspStepResult wait_ticks(uint32_t ticks, double timeout_s);

    CspSessionStats stats() const;
    uint32_t heartbeat() const;
    // Safe controls, resume at time scale 1, stop the heartbeat, detach and remove our pages.
    void close() noexcept;
    bool closed() const noexcept { return !controls_page_.valid(); }

private:
    void require_open() const;
    void require_car() const;
    void publish_controls_locked(bool safe);
    void publish_sim_state_locked();
    void heartbeat_loop();
    int64_t tick_period_ns() const;
    // Waits until packet_id >= target; throws GameStopped after timeout_s without a new packet.
    int32_t wait_packet_at_least(int32_t target, double timeout_s, const char* what);
    // Waits until packet_id stayed the same for `still_ns`; returns it.
    int32_t wait_still(int64_t still_ns, double timeout_s, const char* what);
    CspStepResult run_ticks_with_controls(uint32_t ticks, double timeout_s, const char* what);
    CspStepResult do_teleport(CspTeleport mode, const float* position, const float* direction, double timeout_s,
                              double tolerance_m);
    void touch() noexcept;

    CspSessionOptions options_;
    SharedPage controls_page_, sim_state_page_, car_page_;
    std::unique_ptr<CspPageWriter> controls_writer_, sim_state_writer_;

    mutable std::mutex mu_;  // guards everything below that the heartbeat touches
    CspCarControls page_controls_{};  // staged buttons/assists/teleport fields
    CspDrive staged_{};
    CspSimStateV1 sim_state_{};
    bool safe_in_page_ = false;
    // Last time the caller was seen (any call; also refreshed inside long waits): the heartbeat's
    // stall guard compares against it.
    std::atomic<int64_t> last_activity_ns_{0};

    bool rt_started_ = false;
    int32_t rt_target_ = 0, rt_last_ = 0;
    CspSessionStats stats_;

    std::thread heartbeat_thread_;
    std::condition_variable heartbeat_cv_;
    bool stopping_ = false;
};

}  // namespace ac_core
