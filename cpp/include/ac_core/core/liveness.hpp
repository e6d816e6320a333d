// Is the game live, paused, or gone? AC does not always set AC_PAUSE, so liveness also follows the
// physics packetId: frozen for more than `pause_after` = paused, for more than `stale_after` = not
// live (Content Manager uses the same 50 ms / 1 s rules).
#pragma once

#include <cstdint>

#include "ac_core/core/pages.hpp"

namespace ac_core {

enum class Liveness : uint8_t { Unknown, Live, Paused, Replay, Off, Stale };

const char* liveness_name(Liveness l) noexcept;

class LivenessTracker {
public:
    explicit LivenessTracker(double pause_after_s = 0.050, double stale_after_s = 1.0)
        : pause_after_(pause_after_s), stale_after_(stale_after_s) {}

    // Feed one observation: the physics packetId, graphics.status, and a monotonic time in seconds.
    Liveness update(int32_t physics_packet_id, int32_t graphics_status, double now_s) noexcept;
    Liveness state() const noexcept { return state_; }
    // Seconds since the physics packetId last changed.
    double frozen_for(double now_s) const noexcept { return seen_ ? now_s - last_change_s_ : 0.0; }
    uint64_t pauses() const noexcept { return pauses_; }  // transitions into Paused
    uint64_t stalls() const noexcept { return stalls_; }  // transitions into Stale

private:
    double pause_after_;
    double stale_after_;
    bool seen_ = false;
    int32_t last_id_ = 0;
    double last_change_s_ = 0.0;
    Liveness state_ = Liveness::Unknown;
    uint64_t pauses_ = 0;
    uint64_t stalls_ = 0;
};

}  // namespace ac_core
