#include "ac_core/core/liveness.hpp"

namespace ac_core {

const char* liveness_name(Liveness l) noexcept {
    switch (l) {
        case Liveness::Unknown: return "unknown";
        case Liveness::Live: return "live";
        case Liveness::Paused: return "paused";
        case Liveness::Replay: return "replay";
        case Liveness::Off: return "off";
        case Liveness::Stale: return "stale";
    }
    return "unknown";
}

Liveness LivenessTracker::update(int32_t physics_packet_id, int32_t graphics_status, double now_s) noexcept {
    if (!seen_ || physics_packet_id != last_id_) {
        seen_ = true;
        last_id_ = physics_packet_id;
        last_change_s_ = now_s;
    }
    const double frozen = now_s - last_change_s_;
    Liveness next;
    if (graphics_status == static_cast<int32_t>(AcStatus::Off)) next = Liveness::Off;
    else if (graphics_status == static_cast<int32_t>(AcStatus::Replay)) next = Liveness::Replay;
    else if (frozen > stale_after_) next = Liveness::Stale;
    else if (graphics_status == static_cast<int32_t>(AcStatus::Pause) || frozen > pause_after_) next = Liveness::Paused;
    else next = Liveness::Live;
    if (next == Liveness::Paused && state_ != Liveness::Paused) pauses_++;
    if (next == Liveness::Stale && state_ != Liveness::Stale) stalls_++;
    state_ = next;
    return state_;
}

}  // namespace ac_core
