// The one control interface every output (pad page, vJoy, uinput) implements: steer, throttle,
// brake, clutch and a few buttons, validated and clamped in one place, sent in one call.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ac_core/controls/pad_page.hpp"

namespace ac_core {

// Button bits are the pad page's PadButton bits (gear up/down, restart session, pause, DRS ...);
// vJoy maps bit i to button i + 1, uinput to the i-th joystick button code.
inline constexpr uint32_t kControlButtonCount = 8;

struct ControlInput {
    double steer = 0.0;     // [-1, 1], negative = left
    double throttle = 0.0;  // [0, 1]
    double brake = 0.0;     // [0, 1]
    double clutch = 0.0;    // [0, 1], 1 = pedal fully pressed
    uint32_t buttons = 0;   // PadButton bits; only the low kControlButtonCount bits are used
};

struct FeederStats {
    uint64_t writes = 0;          // control sets sent
    uint64_t clamped_values = 0;  // values outside their range that were clamped before sending
    uint64_t rejected = 0;        // writes refused (NaN or infinite input): nothing was sent
};

class ControlError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Clamps every value into its range, counting clamps in `stats`. NaN or ±inf throws ControlError
// naming the field (a NaN from a diverged policy must never reach the car); nothing is modified.
ControlInput sanitize_controls(const ControlInput& in, FeederStats& stats);

class Feeder {
public:
    virtual ~Feeder() = default;
    // Validates, clamps and sends all controls with one call to the output.
    void write(const ControlInput& controls);
    const FeederStats& stats() const noexcept { return stats_; }
    virtual const char* kind() const noexcept = 0;

protected:
    virtual void send(const ControlInput& sanitized) = 0;

private:
    FeederStats stats_;
};

}  // namespace ac_core
