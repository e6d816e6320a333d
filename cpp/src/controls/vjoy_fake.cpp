#include "ac_core/controls/vjoy_fake.hpp"

#include <cstring>

namespace ac_core {

namespace {

FakeVJoyState g_state;

bool device_exists(uint32_t id) { return id >= 1 && id <= g_state.device_count; }

int32_t AC_VJOY_CALL fake_enabled() { return g_state.enabled ? 1 : 0; }
int32_t AC_VJOY_CALL fake_driver_match(uint16_t* dll, uint16_t* drv) {
    if (dll) *dll = g_state.dll_version;
    if (drv) *drv = g_state.driver_version;
    return g_state.dll_version == g_state.driver_version ? 1 : 0;
}
int16_t AC_VJOY_CALL fake_version() { return int16_t(g_state.driver_version); }
int32_t AC_VJOY_CALL fake_status(uint32_t id) {
    if (!device_exists(id)) return kVjdMiss;
    if (g_state.acquired_device == id) return kVjdOwn;
    return g_state.status;
}
int32_t AC_VJOY_CALL fake_exists(uint32_t id) { return device_exists(id) ? 1 : 0; }
int32_t AC_VJOY_CALL fake_owner_pid(uint32_t id) { return device_exists(id) ? g_state.owner_pid : -1; }
int32_t AC_VJOY_CALL fake_axis_exist(uint32_t id, uint32_t axis) {
    if (!device_exists(id) || axis < kHidUsageX || axis > kHidUsageWHL) return 0;
    return (g_state.axis_mask >> (axis - kHidUsageX)) & 1u ? 1 : 0;
}
int32_t AC_VJOY_CALL fake_axis_min(uint32_t id, uint32_t axis, int32_t* v) {
    if (!fake_axis_exist(id, axis) || v == nullptr) return 0;
    *v = g_state.axis_min;
    return 1;
}
int32_t AC_VJOY_CALL fake_axis_max(uint32_t id, uint32_t axis, int32_t* v) {
    if (!fake_axis_exist(id, axis) || v == nullptr) return 0;
    *v = g_state.axis_max;
    return 1;
}
int32_t AC_VJOY_CALL fake_buttons(uint32_t id) { return device_exists(id) ? g_state.buttons : -1; }
int32_t AC_VJOY_CALL fake_acquire(uint32_t id) {
    if (!device_exists(id) || g_state.status != kVjdFree) return 0;
    g_state.acquired_device = id;
    return 1;
}
void AC_VJOY_CALL fake_relinquish(uint32_t id) {
    if (g_state.acquired_device == id) g_state.acquired_device = 0;
    g_state.relinquish_calls++;
}
int32_t AC_VJOY_CALL fake_reset(uint32_t id) { return device_exists(id) ? 1 : 0; }

}  // namespace

FakeVJoyState& fake_vjoy_state() noexcept { return g_state; }

void fake_vjoy_reset() noexcept { g_state = FakeVJoyState{}; }

extern "C" int32_t AC_VJOY_CALL fake_vjoy_update(uint32_t id, void* position) {
    if (g_state.fail_update || g_state.acquired_device != id || position == nullptr) return 0;
    auto* p = static_cast<JoystickPositionV2*>(position);
    p->bDevice = uint8_t(id);  // as the real DLL does
    std::memcpy(&g_state.position, p, sizeof(JoystickPositionV2));
    g_state.update_calls++;
    return 1;
}

// pyvjoy's SetAxis path: change one cached field, then a full update (one IOCTL in the real DLL).
extern "C" int32_t AC_VJOY_CALL fake_vjoy_set_axis(int32_t value, uint32_t id, uint32_t axis) {
    int32_t* field = vjoy_axis_field(g_state.position, axis);
    if (field == nullptr) return 0;
    *field = value;
    g_state.set_axis_calls++;
    JoystickPositionV2 copy = g_state.position;
    return fake_vjoy_update(id, &copy);
}

extern "C" int32_t AC_VJOY_CALL fake_vjoy_set_button(int32_t value, uint32_t id, uint8_t button) {
    if (button < 1 || button > 32) return 0;
    const uint32_t bit = 1u << (button - 1);
    uint32_t word = uint32_t(g_state.position.lButtons);
    word = value ? (word | bit) : (word & ~bit);
    g_state.position.lButtons = int32_t(word);
    g_state.set_button_calls++;
    JoystickPositionV2 copy = g_state.position;
    return fake_vjoy_update(id, &copy);
}

VJoyApi fake_vjoy_api() noexcept {
    VJoyApi a;
    a.vJoyEnabled = fake_enabled;
    a.DriverMatch = fake_driver_match;
    a.GetvJoyVersion = fake_version;
    a.GetVJDStatus = fake_status;
    a.isVJDExists = fake_exists;
    a.GetOwnerPid = fake_owner_pid;
    a.GetVJDAxisExist = fake_axis_exist;
    a.GetVJDAxisMin = fake_axis_min;
    a.GetVJDAxisMax = fake_axis_max;
    a.GetVJDButtonNumber = fake_buttons;
    a.AcquireVJD = fake_acquire;
    a.RelinquishVJD = fake_relinquish;
    a.UpdateVJD = fake_vjoy_update;
    a.ResetVJD = fake_reset;
    return a;
}

}  // namespace ac_core
