#include "ac_core/controls/feeder.hpp"

#include <cmath>

namespace ac_core {

namespace {

double clamp_counted(double v, double lo, double hi, uint64_t& clamped) noexcept {
    if (v < lo) {
        clamped++;
        return lo;
    }
    if (v > hi) {
        clamped++;
        return hi;
    }
    return v;
}

void require_finite(double v, const char* name, FeederStats& stats) {
    if (!std::isfinite(v)) {
        stats.rejected++;
        throw ControlError(std::string("control '") + name + "' is " + (std::isnan(v) ? "NaN" : "infinite") +
                           ": refusing to send it; check the policy output (nothing was written)");
    }
}

}  // namespace

ControlInput sanitize_controls(const ControlInput& in, FeederStats& stats) {
    require_finite(in.steer, "steer", stats);
    require_finite(in.throttle, "throttle", stats);
    require_finite(in.brake, "brake", stats);
    require_finite(in.clutch, "clutch", stats);
    ControlInput out = in;
    out.steer = clamp_counted(in.steer, -1.0, 1.0, stats.clamped_values);
    out.throttle = clamp_counted(in.throttle, 0.0, 1.0, stats.clamped_values);
    out.brake = clamp_counted(in.brake, 0.0, 1.0, stats.clamped_values);
    out.clutch = clamp_counted(in.clutch, 0.0, 1.0, stats.clamped_values);
    out.buttons = in.buttons & ((1u << kControlButtonCount) - 1u);
    return out;
}

void Feeder::write(const ControlInput& controls) {
    const ControlInput clean = sanitize_controls(controls, stats_);
    send(clean);
    stats_.writes++;
}

}  // namespace ac_core
