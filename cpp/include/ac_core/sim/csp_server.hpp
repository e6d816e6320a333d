// The built-in simulator's stand-in for CSP's Custom AI (process mode, `ac-core sim --protocol csp`):
// it implements the game side of the protocol in csp_pages.hpp so that the `csp` backend runs end to
// end on any machine.
//
// As CSP does: it looks for "<prefix>...CarControls<N>.v0" (every retry interval); once it finds
// one it creates Car<N>.v0 and CarPublic<N>.v0 and drives car N from the controls page; it reads
// SimState.v1 (or .v0) for pause, time scale, extra sleep, collisions and session restarts. It keeps
// the last values it read when a writer leaves (CSP has no watchdog either) and looks for a new
// page by name when the writer detached or its process is gone.
//
// Where CSP leaves a behaviour undocumented, the choices made here (docs/csp.md):
//  * buttons and teleport_to act on their 0 -> non-zero edge; a teleport waits for the next
//    physics tick (it is applied in the physics update, so not while paused);
//  * teleport to pits = the simulator's pit exit, at rest; to a position = the nearest point of the
//    track, facing `teleport_dir`, at rest;
//  * the handbrake brakes like the foot brake (the model has no separate handbrake);
//  * with either autoclutch flag on the clutch field is ignored (engaged); otherwise clutch 1 =
//    engaged, 0 = disengaged;
//  * pause holds physics (and packet_id) at the next tick; time_scale <= 0 or NaN counts as 1;
//  * a CarControls page of 68..71 bytes is CSP 0.1.78's struct (no autoshift_active: the simulator's
//    own gearbox setting applies); a smaller one is refused, with a note saying why (take_notes()).
//    Only POSIX shows a page's exact size: a Windows view is page-granular (4096 bytes).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ac_core/csp/page_io.hpp"
#include "ac_core/csp/pages.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/sim/sim_batch.hpp"

namespace ac_core::sim {

// What the SimState page asks of the loop right now (the last values read; defaults before any).
struct CspSimDirectives {
    bool present = false;  // a SimState page was ever found
    bool pause = false;
    float time_scale = 1.0f;
    uint8_t extra_sleep_ms = 0;
    bool disable_collisions = false;
};

struct CspServerStats {
    uint64_t attaches = 0;        // controls pages found (a session took the car)
    uint64_t control_reads = 0;   // consistent copies of the controls applied
    uint64_t teleports_pits = 0;
    uint64_t teleports_position = 0;
    uint64_t restarts = 0;        // restart_session edges
    uint64_t invalid_time_scales = 0;
    uint64_t refused_controls = 0;  // attempts on a controls page too small to be CSP's struct
    std::string last_refusal;       // why (one line), empty if none
    // Edges (0 -> 1) of every one-byte control of the controls page, by kCspControlsFields index.
    std::array<uint64_t, std::size(kCspControlsFields)> edges{};
    CspCarControls last_controls{};
    CspSimStateV1 last_sim_state{0, 0, 0, 0, 1.0f};
};

class CspServer {
public:
    CspServer(std::string prefix, int car_index = 0, double retry_interval_s = 0.1, bool replace_stale = true);
    ~CspServer();
    CspServer(const CspServer&) = delete;
    CspServer& operator=(const CspServer&) = delete;

    // Reads the SimState page (finding it first if needed). Call once per loop iteration.
    const CspSimDirectives& poll_sim_state() noexcept;
    // Reads the controls page; when CSP drives the car, sets `in` and the gear/DRS requests and
    // records teleport/restart requests. Returns whether the car is under Custom AI control.
    bool poll_controls(SimBatch& sim, CarInput& in, int8_t& pending_shift, bool& drs_on) noexcept;
    // Applies a pending teleport or session restart. Call before a physics tick (never while paused).
    void apply_pending(SimBatch& sim);
    // Writes Car<N> and CarPublic<N> from the simulator's state (after each loop iteration).
    void publish(SimBatch& sim) noexcept;

    bool driving() const noexcept { return driving_; }
    bool controls_attached() const noexcept { return controls_page_.valid(); }
    const CspServerStats& stats() const noexcept { return stats_; }
    std::vector<std::string> page_names() const;
    // Lines to log since the last call (a refused controls page); bounded.
    std::vector<std::string> take_notes();
    void close() noexcept;

private:
    void try_attach_controls() noexcept;
    void try_attach_sim_state() noexcept;
    static bool writer_left(const SharedPage& page) noexcept;
    void refuse_controls(const std::string& name, std::size_t size);
    static constexpr std::size_t kMaxNotes = 16;

    std::string prefix_;
    int car_index_;
    int64_t retry_interval_ns_;
    bool replace_stale_;
    int64_t next_controls_attempt_ns_ = 0, next_state_attempt_ns_ = 0;
    int64_t next_liveness_check_ns_ = 0;
    SharedPage controls_page_, sim_state_page_, car_page_, car_public_page_;
    CspPageKind sim_state_kind_ = CspPageKind::SimStateV1;
    std::unique_ptr<CspPageWriter> car_writer_, car_public_writer_;
    CspSimDirectives directives_;
    CspCarControls controls_{};
    bool controls_have_autoshift_ = true;
    std::size_t refused_size_ = 0;
    std::vector<std::string> notes_;
    uint8_t last_restart_ = 0;
    bool driving_ = false;
    bool pending_restart_ = false;
    uint8_t pending_teleport_ = 0;
    float pending_pos_[3] = {0, 0, 0}, pending_dir_[3] = {0, 0, 1};
    float handbrake_ = 0.0f;
    bool published_once_ = false;
    int32_t last_packet_id_ = 0, last_graphics_id_ = 0;
    CspServerStats stats_;
};

}  // namespace ac_core::sim
