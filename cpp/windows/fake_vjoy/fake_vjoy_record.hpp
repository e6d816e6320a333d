// What the fake vJoyInterface.dll records, in a named mapping the test creates (its name is in the
// environment variable FAKE_VJOY_RECORD, e.g. "Local\\fake_vjoy_rec_1234"). The test reads it
// without going through the DLL, so it sees exactly what the feeder handed to the vJoy API.
//
// Behaviour is set by environment variables, read on every call so one process can run several
// scenarios (SetEnvironmentVariableW between them):
//   FAKE_VJOY_ENABLED        0/1 (default 1)            vJoyEnabled()
//   FAKE_VJOY_DRIVER_MATCH   0/1 (default 1)            DriverMatch(): versions below differ when 0
//   FAKE_VJOY_DEVICES        n (default 1)              devices 1..n exist, the others are missing
//   FAKE_VJOY_STATUS         free|busy|unkn (default free)  status of an existing device we do not own
//   FAKE_VJOY_OWNER_PID      pid (default 0)            GetOwnerPid() of a busy device
//   FAKE_VJOY_AXIS_MIN/MAX   (default 0 / 32767)        GetVJDAxisMin/Max (the vJoyConf HID caps)
//   FAKE_VJOY_AXES           hex usages, e.g. "30,31,32" (default 30..37)  GetVJDAxisExist()
//   FAKE_VJOY_BUTTONS        n (default 8)              GetVJDButtonNumber()
#pragma once

#include <cstdint>

namespace fake_vjoy {

inline constexpr uint32_t kRecordMagic = 0x4A56414Bu;  // "KAVJ"
inline constexpr uint32_t kPositionV2Size = 108;       // sizeof(JOYSTICK_POSITION_V2)
inline constexpr uint16_t kDllVersion = 0x0222;        // what GetvJoyVersion/DriverMatch report
inline constexpr uint16_t kOtherDriverVersion = 0x0219;

struct Record {
    uint32_t magic;  // set by the DLL the first time it records
    uint32_t enabled_calls;
    uint32_t driver_match_calls;
    uint32_t acquire_calls;
    uint32_t relinquish_calls;
    uint32_t update_calls;     // UpdateVJD calls that the fake accepted
    uint32_t update_rejected;  // UpdateVJD calls for a device the caller had not acquired
    uint32_t reset_calls;
    uint32_t set_axis_calls;   // SetAxis/SetBtn/SetDiscPov/SetContPov: each is a full IOCTL in the real DLL
    uint32_t set_btn_calls;
    uint32_t last_update_rid;
    uint32_t acquired_mask;    // bit rID-1: devices currently acquired through this DLL
    uint8_t last_position[kPositionV2Size];  // the JOYSTICK_POSITION_V2 bytes of the last UpdateVJD
};

}  // namespace fake_vjoy
