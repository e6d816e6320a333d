// VJoyFeeder: controls → one UpdateVJD of a JOYSTICK_POSITION_V2 per write (a single IOCTL, where
// pyvjoy-style SetAxis per axis costs one IOCTL each).
//
// Start-up checks, each with an error that says what to do: the driver is enabled (vJoyEnabled),
// the DLL matches the driver (DriverMatch), the device exists, is not owned by another process
// (GetOwnerPid names it), can be acquired, and has the mapped axes; axis ranges come from
// GetVJDAxisMin/Max. The entry points come from a VJoyApi table: the real DLL (VJoyLibrary) on
// Windows, or a fake (vjoy_fake.hpp) in tests on any platform.
#pragma once

#include <cstdint>
#include <memory>

#include "ac_core/controls/feeder.hpp"
#include "ac_core/controls/vjoy.hpp"

namespace ac_core {

class VJoyFeeder final : public Feeder {
public:
    // `library` (may be null when `api` is a fake) is kept alive as long as the feeder.
    VJoyFeeder(const VJoyApi& api, uint32_t device_id = 1, VJoyAxisMap map = {},
               std::shared_ptr<VJoyLibrary> library = nullptr);
    ~VJoyFeeder() override;
    VJoyFeeder(const VJoyFeeder&) = delete;
    VJoyFeeder& operator=(const VJoyFeeder&) = delete;

    const char* kind() const noexcept override { return "vjoy"; }
    uint32_t device_id() const noexcept { return device_id_; }
    const VJoyRanges& ranges() const noexcept { return ranges_; }
    uint32_t button_count() const noexcept { return button_count_; }
    uint16_t dll_version() const noexcept { return dll_version_; }
    uint16_t driver_version() const noexcept { return driver_version_; }
    const JoystickPositionV2& last_position() const noexcept { return position_; }
    // Neutral position and release of the device (also done by the destructor).
    void close() noexcept;
    bool closed() const noexcept { return !acquired_; }

protected:
    void send(const ControlInput& c) override;

private:
    VJoyAxisRange query_range(uint32_t axis, const char* control);

    VJoyApi api_;
    std::shared_ptr<VJoyLibrary> library_;
    uint32_t device_id_;
    VJoyAxisMap map_;
    VJoyRanges ranges_;
    uint32_t button_count_ = 0;
    uint16_t dll_version_ = 0, driver_version_ = 0;
    bool acquired_ = false;
    JoystickPositionV2 position_{};
};

}  // namespace ac_core
