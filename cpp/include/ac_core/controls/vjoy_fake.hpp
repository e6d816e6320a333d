// An in-process stand-in for vJoyInterface.dll: the same C entry points over a configurable state,
// recording what the feeder sends. Used by the C++ and Python tests (every error path of VJoyFeeder
// runs on Linux) and by the feeder benchmark (a pyvjoy-style ctypes caller of fake_vjoy_set_axis vs
// one VJoyFeeder.write through fake_vjoy_update).
//
// One global state (C function pointers carry no context); tests reset it. Not thread-safe.
#pragma once

#include <cstdint>

#include "ac_core/controls/vjoy.hpp"

namespace ac_core {

struct FakeVJoyState {
    bool enabled = true;
    uint16_t dll_version = 0x0219;
    uint16_t driver_version = 0x0219;
    int32_t status = kVjdFree;  // of every configured device
    int32_t owner_pid = 0;
    uint32_t device_count = 1;  // devices 1..device_count exist
    uint32_t axis_mask = 0x0F;  // bit (usage - 0x30): X, Y, Z, Rx by default
    int32_t axis_min = 0;
    int32_t axis_max = 32767;  // vJoyConf's HID descriptor
    int32_t buttons = 8;
    bool fail_update = false;
    // Recorded.
    uint64_t update_calls = 0;
    uint64_t set_axis_calls = 0;
    uint64_t set_button_calls = 0;
    uint32_t acquired_device = 0;
    uint32_t relinquish_calls = 0;
    JoystickPositionV2 position{};
};

FakeVJoyState& fake_vjoy_state() noexcept;
void fake_vjoy_reset() noexcept;
VJoyApi fake_vjoy_api() noexcept;

// The per-axis setters pyvjoy calls (vjoyinterface.h signatures), for the ctypes baseline.
extern "C" int32_t AC_VJOY_CALL fake_vjoy_set_axis(int32_t value, uint32_t id, uint32_t axis);
extern "C" int32_t AC_VJOY_CALL fake_vjoy_set_button(int32_t value, uint32_t id, uint8_t button);
extern "C" int32_t AC_VJOY_CALL fake_vjoy_update(uint32_t id, void* position);

}  // namespace ac_core
