#include "ac_core/controls/vjoy_feeder.hpp"

#include <cstdio>
#include <string>

namespace ac_core {

namespace {

std::string hex4(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04X", unsigned(v));
    return buf;
}

}  // namespace

VJoyFeeder::VJoyFeeder(const VJoyApi& api, uint32_t device_id, VJoyAxisMap map, std::shared_ptr<VJoyLibrary> library)
    : api_(api), library_(std::move(library)), device_id_(device_id), map_(map) {
    const auto missing = api_.missing_required();
    if (!missing.empty())
        throw VJoyError(VJoyError::Code::MissingExport, "the vJoy API table lacks " + missing.front());
    const std::string dev = "vJoy device " + std::to_string(device_id);
    if (device_id < 1 || device_id > 16)
        throw VJoyError(VJoyError::Code::DeviceMissing, dev + " is out of range: vJoy device ids are 1..16");
    if (!api_.vJoyEnabled())
        throw VJoyError(VJoyError::Code::DriverDisabled,
                        "the vJoy driver is not installed or not enabled: install vJoy and tick 'Enable vJoy' in "
                        "'Configure vJoy'");
    if (!api_.DriverMatch(&dll_version_, &driver_version_))
        throw VJoyError(VJoyError::Code::VersionMismatch,
                        "vJoyInterface.dll version " + hex4(dll_version_) + " does not match the vJoy driver " +
                            hex4(driver_version_) +
                            ": load the DLL from the driver's install folder (e.g. C:\\Program Files\\vJoy\\x64), "
                            "not an older copy (pyvjoy bundles a 2017 DLL)");
    const int32_t status = api_.GetVJDStatus(device_id);
    switch (status) {
        case kVjdOwn: break;  // this process already holds it
        case kVjdFree:
            if (!api_.AcquireVJD(device_id))
                throw VJoyError(VJoyError::Code::AcquireFailed,
                                "could not acquire " + dev + " although it is free: retry, or restart the vJoy driver");
            break;
        case kVjdBusy: {
            std::string owner = "another process";
            if (api_.GetOwnerPid != nullptr) {
                const int32_t pid = api_.GetOwnerPid(device_id);
                if (pid > 0) owner += " (pid " + std::to_string(pid) + ")";
            }
            throw VJoyError(VJoyError::Code::DeviceBusy,
                            dev + " is owned by " + owner + ": close that feeder or pick another device id");
        }
        case kVjdMiss:
            throw VJoyError(VJoyError::Code::DeviceMissing,
                            dev + " is not configured: add it in 'Configure vJoy' (axes X, Y, Z, Rx and 8 buttons)");
        default:
            throw VJoyError(VJoyError::Code::DeviceMissing,
                            dev + " is in an unknown state (" + std::to_string(status) + "): restart the vJoy driver");
    }
    acquired_ = true;
    try {
        ranges_.steer = query_range(map_.steer, "steer");
        ranges_.throttle = query_range(map_.throttle, "throttle");
        ranges_.brake = query_range(map_.brake, "brake");
        ranges_.clutch = query_range(map_.clutch, "clutch");
    } catch (...) {
        api_.RelinquishVJD(device_id_);
        acquired_ = false;
        throw;
    }
    const int32_t buttons = api_.GetVJDButtonNumber(device_id);
    button_count_ = buttons > 0 ? uint32_t(buttons) : 0;
    position_.bDevice = uint8_t(device_id);
}

VJoyAxisRange VJoyFeeder::query_range(uint32_t axis, const char* control) {
    if (vjoy_axis_field(position_, axis) == nullptr)
        throw VJoyError(VJoyError::Code::AxisMissing,
                        std::string("axis usage ") + std::to_string(axis) + " for " + control +
                            " is not a vJoy axis (use 0x30..0x38)");
    if (!api_.GetVJDAxisExist(device_id_, axis))
        throw VJoyError(VJoyError::Code::AxisMissing,
                        "vJoy device " + std::to_string(device_id_) + " has no " + vjoy_axis_name(axis) + " axis (for " +
                            control + "): enable it in 'Configure vJoy'");
    VJoyAxisRange range;  // the SDK convention if the DLL cannot tell
    int32_t lo = 0, hi = 0;
    if (api_.GetVJDAxisMin != nullptr && api_.GetVJDAxisMax != nullptr && api_.GetVJDAxisMin(device_id_, axis, &lo) &&
        api_.GetVJDAxisMax(device_id_, axis, &hi) && hi > lo) {
        range.min = lo;
        range.max = hi;
    }
    return range;
}

VJoyFeeder::~VJoyFeeder() { close(); }

void VJoyFeeder::close() noexcept {
    if (!acquired_) return;
    encode_vjoy(ControlInput{}, map_, ranges_, button_count_, position_);  // centred, pedals up
    api_.UpdateVJD(device_id_, &position_);
    api_.RelinquishVJD(device_id_);
    acquired_ = false;
}

void VJoyFeeder::send(const ControlInput& c) {
    if (!acquired_) throw std::logic_error("vJoy feeder is closed; create a new one");
    encode_vjoy(c, map_, ranges_, button_count_, position_);
    position_.bDevice = uint8_t(device_id_);
    if (!api_.UpdateVJD(device_id_, &position_))
        throw VJoyError(VJoyError::Code::UpdateFailed,
                        "UpdateVJD failed for vJoy device " + std::to_string(device_id_) +
                            ": the device was released or the driver was removed");
}

}  // namespace ac_core
