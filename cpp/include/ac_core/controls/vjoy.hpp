// vJoy without the SDK: the JOYSTICK_POSITION_V2 layout, the encoding of controls into it
// (platform-independent, unit-tested on Linux), the table of vJoyInterface.dll entry points, and the
// run-time DLL loader (Windows only; elsewhere it reports that vJoy is Windows-only).
//
// Layout: vJoy's public.h, "4-bytes aligned", LONG/DWORD are 32-bit on Windows (LLP64). The mirror
// uses int32_t/uint32_t, never long (64-bit on Linux). Offsets from research/plumbing_and_latency.md
// §1.4 are pinned below, so a mingw build and an MSVC build agree with the driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ac_core/controls/feeder.hpp"

namespace ac_core {

struct JoystickPositionV2 {
    uint8_t bDevice;  // 1-based device id; UpdateVJD overwrites it
    uint8_t pad_[3];
    int32_t wThrottle, wRudder, wAileron;
    int32_t wAxisX, wAxisY, wAxisZ;
    int32_t wAxisXRot, wAxisYRot, wAxisZRot;
    int32_t wSlider, wDial, wWheel;
    int32_t wAxisVX, wAxisVY, wAxisVZ;
    int32_t wAxisVBRX, wAxisVBRY, wAxisVBRZ;
    int32_t lButtons;  // buttons 1..32, bit 0 = button 1
    uint32_t bHats, bHatsEx1, bHatsEx2, bHatsEx3;
    int32_t lButtonsEx1, lButtonsEx2, lButtonsEx3;  // buttons 33..128
};

static_assert(sizeof(JoystickPositionV2) == 108, "JOYSTICK_POSITION_V2 is 108 bytes");
static_assert(offsetof(JoystickPositionV2, bDevice) == 0);
static_assert(offsetof(JoystickPositionV2, wThrottle) == 4);
static_assert(offsetof(JoystickPositionV2, wRudder) == 8);
static_assert(offsetof(JoystickPositionV2, wAileron) == 12);
static_assert(offsetof(JoystickPositionV2, wAxisX) == 16);
static_assert(offsetof(JoystickPositionV2, wAxisY) == 20);
static_assert(offsetof(JoystickPositionV2, wAxisZ) == 24);
static_assert(offsetof(JoystickPositionV2, wAxisXRot) == 28);
static_assert(offsetof(JoystickPositionV2, wAxisYRot) == 32);
static_assert(offsetof(JoystickPositionV2, wAxisZRot) == 36);
static_assert(offsetof(JoystickPositionV2, wSlider) == 40);
static_assert(offsetof(JoystickPositionV2, wDial) == 44);
static_assert(offsetof(JoystickPositionV2, wWheel) == 48);
static_assert(offsetof(JoystickPositionV2, wAxisVX) == 52);
static_assert(offsetof(JoystickPositionV2, wAxisVY) == 56);
static_assert(offsetof(JoystickPositionV2, wAxisVZ) == 60);
static_assert(offsetof(JoystickPositionV2, wAxisVBRX) == 64);
static_assert(offsetof(JoystickPositionV2, wAxisVBRY) == 68);
static_assert(offsetof(JoystickPositionV2, wAxisVBRZ) == 72);
static_assert(offsetof(JoystickPositionV2, lButtons) == 76);
static_assert(offsetof(JoystickPositionV2, bHats) == 80);
static_assert(offsetof(JoystickPositionV2, bHatsEx1) == 84);
static_assert(offsetof(JoystickPositionV2, bHatsEx2) == 88);
static_assert(offsetof(JoystickPositionV2, bHatsEx3) == 92);
static_assert(offsetof(JoystickPositionV2, lButtonsEx1) == 96);
static_assert(offsetof(JoystickPositionV2, lButtonsEx2) == 100);
static_assert(offsetof(JoystickPositionV2, lButtonsEx3) == 104);

// HID usages of the axes (public.h); GetVJDAxisExist/Min/Max take these.
enum VJoyAxis : uint32_t {
    kHidUsageX = 0x30,
    kHidUsageY = 0x31,
    kHidUsageZ = 0x32,
    kHidUsageRX = 0x33,
    kHidUsageRY = 0x34,
    kHidUsageRZ = 0x35,
    kHidUsageSL0 = 0x36,
    kHidUsageSL1 = 0x37,
    kHidUsageWHL = 0x38,
};

// GetVJDStatus results (vjoyinterface.h, enum VjdStat).
enum VJoyDeviceStatus : int32_t { kVjdOwn = 0, kVjdFree = 1, kVjdBusy = 2, kVjdMiss = 3, kVjdUnknown = 4 };

const char* vjoy_axis_name(uint32_t usage) noexcept;

struct VJoyAxisRange {
    int32_t min = 0;
    int32_t max = 0x8000;  // the SDK examples' convention; the real range is queried at start-up
};

// Which axis carries which control. Defaults: steer = X, throttle = Y, brake = Z, clutch = Rx.
struct VJoyAxisMap {
    uint32_t steer = kHidUsageX;
    uint32_t throttle = kHidUsageY;
    uint32_t brake = kHidUsageZ;
    uint32_t clutch = kHidUsageRX;
};

struct VJoyRanges {
    VJoyAxisRange steer, throttle, brake, clutch;
};

// Pointer to the struct field an axis usage writes (as vJoy's SetAxis switch does); null if unknown.
int32_t* vjoy_axis_field(JoystickPositionV2& pos, uint32_t usage) noexcept;

// Scales a value into [range.min, range.max]: steer from [-1, 1] (0 = centre), pedals from [0, 1].
int32_t vjoy_scale_bipolar(double v, const VJoyAxisRange& range) noexcept;
int32_t vjoy_scale_unipolar(double v, const VJoyAxisRange& range) noexcept;

// Fills every mapped axis and the button word of `pos` from already sanitized controls. Buttons
// beyond `button_count` (what the device was configured with) are left off.
void encode_vjoy(const ControlInput& c, const VJoyAxisMap& map, const VJoyRanges& ranges, uint32_t button_count,
                 JoystickPositionV2& pos) noexcept;

// ---- the DLL's entry points -----------------------------------------------------------------------

#if defined(_WIN32) && !defined(_WIN64)
#define AC_VJOY_CALL __cdecl
#else
#define AC_VJOY_CALL
#endif

// Windows types as fixed-width integers (BOOL/LONG/UINT are 32-bit, WORD 16-bit, SHORT 16-bit).
struct VJoyApi {
    int32_t(AC_VJOY_CALL* vJoyEnabled)() = nullptr;
    int32_t(AC_VJOY_CALL* DriverMatch)(uint16_t* dll_version, uint16_t* driver_version) = nullptr;
    int16_t(AC_VJOY_CALL* GetvJoyVersion)() = nullptr;
    int32_t(AC_VJOY_CALL* GetVJDStatus)(uint32_t id) = nullptr;
    int32_t(AC_VJOY_CALL* isVJDExists)(uint32_t id) = nullptr;  // optional (2.1.6+)
    int32_t(AC_VJOY_CALL* GetOwnerPid)(uint32_t id) = nullptr;  // optional (2.1.8+)
    int32_t(AC_VJOY_CALL* GetVJDAxisExist)(uint32_t id, uint32_t axis) = nullptr;
    int32_t(AC_VJOY_CALL* GetVJDAxisMin)(uint32_t id, uint32_t axis, int32_t* value) = nullptr;  // optional
    int32_t(AC_VJOY_CALL* GetVJDAxisMax)(uint32_t id, uint32_t axis, int32_t* value) = nullptr;  // optional
    int32_t(AC_VJOY_CALL* GetVJDButtonNumber)(uint32_t id) = nullptr;
    int32_t(AC_VJOY_CALL* AcquireVJD)(uint32_t id) = nullptr;
    void(AC_VJOY_CALL* RelinquishVJD)(uint32_t id) = nullptr;
    int32_t(AC_VJOY_CALL* UpdateVJD)(uint32_t id, void* position) = nullptr;
    int32_t(AC_VJOY_CALL* ResetVJD)(uint32_t id) = nullptr;  // optional

    // Names of required entry points that are null (empty = usable).
    std::vector<std::string> missing_required() const;
};

class VJoyError : public std::runtime_error {
public:
    enum class Code {
        NotInstalled,     // no DLL found / not Windows
        LoadFailed,       // the DLL exists but LoadLibrary failed (wrong architecture ...)
        MissingExport,    // the DLL lacks an entry point the feeder needs
        DriverDisabled,   // vJoyEnabled() is false
        VersionMismatch,  // DriverMatch() is false
        DeviceMissing,    // the device id is not configured
        DeviceBusy,       // owned by another process
        AcquireFailed,
        AxisMissing,
        UpdateFailed,
    };
    VJoyError(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
    Code code() const noexcept { return code_; }

private:
    Code code_;
};

// A loaded vJoyInterface.dll and its entry points. Windows only: elsewhere `load` throws
// VJoyError(NotInstalled). The library stays loaded while the object lives.
class VJoyLibrary {
public:
    // Loads exactly this file (no search path), resolves the entry points by name.
    static std::unique_ptr<VJoyLibrary> load(const std::string& dll_path);
    // The installed driver's DLL first (registry InstallLocation, then Program Files\vJoy\<arch>),
    // then `user_path` if given. Throws VJoyError(NotInstalled) listing every place it looked.
    static std::unique_ptr<VJoyLibrary> load_installed(const std::string& user_path = "");
    // Where load_installed looks, in order (existing or not).
    static std::vector<std::string> candidate_paths(const std::string& user_path = "");

    ~VJoyLibrary();
    VJoyLibrary(const VJoyLibrary&) = delete;
    VJoyLibrary& operator=(const VJoyLibrary&) = delete;

    const VJoyApi& api() const noexcept { return api_; }
    const std::string& path() const noexcept { return path_; }

private:
    VJoyLibrary() = default;
    VJoyApi api_;
    std::string path_;
    void* module_ = nullptr;  // HMODULE
};

}  // namespace ac_core
