// VJoyFeeder through the real Windows loading path (VJoyLibrary: LoadLibraryExW + GetProcAddress)
// against the fake vJoyInterface.dll built from fake_vjoy/, under wine or on Windows.
//
// The fake records every call into a named mapping this test creates, so the checks below read what
// actually crossed the DLL boundary: one write = exactly one UpdateVJD (no per-axis SetAxis), the
// JOYSTICK_POSITION_V2 bytes at vJoy's offsets, axes scaled into the range GetVJDAxisMin/Max report,
// and each start-up failure's error code and message.
#include <windows.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "ac_core/controls/pad_page.hpp"
#include "ac_core/controls/vjoy.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"
#include "check.hpp"
#include "fake_vjoy/fake_vjoy_record.hpp"

using namespace ac_core;

namespace {

std::string exe_dir() {
    char self[MAX_PATH];
    const DWORD n = GetModuleFileNameA(nullptr, self, MAX_PATH);
    std::string path(self, n);
    return path.substr(0, path.find_last_of("\\/") + 1);
}
const std::string& fake_dll_path() {
    static const std::string path = exe_dir() + "vJoyInterface.dll";
    return path;
}

// The record mapping, created once; FAKE_VJOY_RECORD tells the DLL its name.
fake_vjoy::Record& record() {
    static fake_vjoy::Record* view = [] {
        const std::string name = "Local\\fake_vjoy_rec_" + std::to_string(GetCurrentProcessId());
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, sizeof(fake_vjoy::Record), name.c_str());
        SetEnvironmentVariableA("FAKE_VJOY_RECORD", name.c_str());
        return static_cast<fake_vjoy::Record*>(MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(fake_vjoy::Record)));
    }();
    return *view;
}
void clear_record() { std::memset(&record(), 0, sizeof(fake_vjoy::Record)); }

// Sets the fake's configuration for one scenario and restores the defaults afterwards.
class FakeConfig {
public:
    FakeConfig& set(const char* name, const char* value) {
        SetEnvironmentVariableA(name, value);
        return *this;
    }
    ~FakeConfig() {
        for (const char* name : {"FAKE_VJOY_ENABLED", "FAKE_VJOY_DRIVER_MATCH", "FAKE_VJOY_DEVICES", "FAKE_VJOY_STATUS",
                                 "FAKE_VJOY_OWNER_PID", "FAKE_VJOY_AXIS_MIN", "FAKE_VJOY_AXIS_MAX", "FAKE_VJOY_AXES",
                                 "FAKE_VJOY_BUTTONS"})
            SetEnvironmentVariableA(name, nullptr);
    }
};

std::shared_ptr<VJoyLibrary> load_fake() { return std::shared_ptr<VJoyLibrary>(VJoyLibrary::load(fake_dll_path())); }

// Builds a feeder over the fake DLL; returns the VJoyError it threw, or nullptr-equivalent on success.
struct Attempt {
    bool threw = false;
    VJoyError::Code code = VJoyError::Code::NotInstalled;
    std::string message;
};
Attempt try_feeder(uint32_t device_id = 1) {
    Attempt a;
    auto lib = load_fake();
    try {
        VJoyFeeder feeder(lib->api(), device_id, VJoyAxisMap{}, lib);
    } catch (const VJoyError& e) {
        a.threw = true;
        a.code = e.code();
        a.message = e.what();
    }
    return a;
}
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

int32_t word_at(const uint8_t* position, std::size_t offset) {
    int32_t v;
    std::memcpy(&v, position + offset, 4);
    return v;
}

// JOYSTICK_POSITION_V2 offsets (vJoy public.h), written out independently of the project's struct.
constexpr std::size_t kOffThrottle = 4, kOffAxisX = 16, kOffAxisY = 20, kOffAxisZ = 24, kOffAxisXRot = 28,
                      kOffAxisZRot = 36, kOffButtons = 76;

bool running_under_wine() {
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

}  // namespace

AC_TEST(fake_dll_loads_by_explicit_path_with_every_entry_point) {
    auto lib = load_fake();
    CHECK(lib->api().missing_required().empty());
    CHECK(lib->api().GetVJDAxisMin != nullptr && lib->api().GetVJDAxisMax != nullptr);
    CHECK(lib->api().GetOwnerPid != nullptr && lib->api().isVJDExists != nullptr && lib->api().ResetVJD != nullptr);
    CHECK(lib->path() == fake_dll_path());
}

AC_TEST(one_write_is_one_update_vjd_with_axes_scaled_to_the_reported_range) {
    FakeConfig config;
    config.set("FAKE_VJOY_AXIS_MIN", "-1000").set("FAKE_VJOY_AXIS_MAX", "3000");  // not vJoy's default 0..32767
    clear_record();
    {
        auto lib = load_fake();
        VJoyFeeder feeder(lib->api(), 1, VJoyAxisMap{}, lib);
        CHECK_EQ(feeder.ranges().steer.min, -1000);
        CHECK_EQ(feeder.ranges().steer.max, 3000);
        CHECK_EQ(feeder.ranges().brake.max, 3000);
        CHECK_EQ(record().acquire_calls, 1u);
        CHECK_EQ(record().acquired_mask, 1u);
        const uint32_t updates_before = record().update_calls;

        ControlInput c;
        c.steer = 0.5;      // -1000 + 0.75 * 4000
        c.throttle = 0.25;  // -1000 + 0.25 * 4000
        c.brake = 1.0;
        c.clutch = 0.0;
        c.buttons = kPadGearUp | kPadRestartSession;  // vJoy buttons 1 and 3
        feeder.write(c);

        CHECK_EQ(record().update_calls - updates_before, 1u);  // exactly one UpdateVJD ...
        CHECK_EQ(record().set_axis_calls, 0u);                  // ... and no per-axis IOCTLs
        CHECK_EQ(record().set_btn_calls, 0u);
        CHECK_EQ(record().update_rejected, 0u);
        CHECK_EQ(record().last_update_rid, 1u);
        const uint8_t* p = record().last_position;
        CHECK_EQ(p[0], uint8_t(1));  // bDevice
        CHECK_EQ(word_at(p, kOffAxisX), 2000);
        CHECK_EQ(word_at(p, kOffAxisY), 0);
        CHECK_EQ(word_at(p, kOffAxisZ), 3000);
        CHECK_EQ(word_at(p, kOffAxisXRot), -1000);
        CHECK_EQ(word_at(p, kOffButtons), 0x5);
        CHECK_EQ(word_at(p, kOffThrottle), 0);  // unmapped axes untouched
        CHECK_EQ(word_at(p, kOffAxisZRot), 0);

        c.steer = -1.0;
        c.throttle = 0.0;
        c.brake = 0.5;
        c.buttons = 0;
        feeder.write(c);
        CHECK_EQ(record().update_calls - updates_before, 2u);
        CHECK_EQ(word_at(p, kOffAxisX), -1000);
        CHECK_EQ(word_at(p, kOffAxisY), -1000);
        CHECK_EQ(word_at(p, kOffAxisZ), 1000);
        CHECK_EQ(word_at(p, kOffButtons), 0);
        CHECK_EQ(feeder.stats().writes, uint64_t(2));
    }
    // Destroying the feeder centres the wheel, lifts the pedals and releases the device.
    CHECK_EQ(record().relinquish_calls, 1u);
    CHECK_EQ(record().acquired_mask, 0u);
    CHECK_EQ(word_at(record().last_position, kOffAxisX), 1000);
    CHECK_EQ(word_at(record().last_position, kOffAxisY), -1000);
    CHECK_EQ(word_at(record().last_position, kOffAxisZ), -1000);
}

AC_TEST(default_vjoyconf_range_centres_the_wheel) {
    FakeConfig config;  // 0..32767, as vJoyConf's HID descriptor declares
    clear_record();
    auto lib = load_fake();
    VJoyFeeder feeder(lib->api(), 1, VJoyAxisMap{}, lib);
    ControlInput c;
    c.throttle = 1.0;
    feeder.write(c);
    CHECK_EQ(record().update_calls, 1u);
    CHECK_EQ(word_at(record().last_position, kOffAxisX), 16384);  // round(32767 / 2)
    CHECK_EQ(word_at(record().last_position, kOffAxisY), 32767);
    CHECK_EQ(word_at(record().last_position, kOffAxisZ), 0);
}

AC_TEST(nan_control_is_refused_before_reaching_the_dll) {
    FakeConfig config;
    clear_record();
    auto lib = load_fake();
    VJoyFeeder feeder(lib->api(), 1, VJoyAxisMap{}, lib);
    ControlInput c;
    c.steer = std::nan("");
    CHECK_THROWS(feeder.write(c));
    CHECK_EQ(record().update_calls, 0u);
}

AC_TEST(driver_disabled_is_a_clear_error) {
    FakeConfig config;
    config.set("FAKE_VJOY_ENABLED", "0");
    clear_record();
    const Attempt a = try_feeder();
    CHECK(a.threw && a.code == VJoyError::Code::DriverDisabled);
    CHECK(contains(a.message, "Enable vJoy"));
    CHECK_EQ(record().acquire_calls, 0u);
}

AC_TEST(driver_mismatch_names_both_versions) {
    FakeConfig config;
    config.set("FAKE_VJOY_DRIVER_MATCH", "0");
    clear_record();
    const Attempt a = try_feeder();
    CHECK(a.threw && a.code == VJoyError::Code::VersionMismatch);
    CHECK(contains(a.message, "0x0222"));  // the DLL
    CHECK(contains(a.message, "0x0219"));  // the driver
    CHECK_EQ(record().acquire_calls, 0u);
}

AC_TEST(missing_device_is_a_clear_error) {
    FakeConfig config;
    config.set("FAKE_VJOY_DEVICES", "1");
    const Attempt a = try_feeder(2);
    CHECK(a.threw && a.code == VJoyError::Code::DeviceMissing);
    CHECK(contains(a.message, "vJoy device 2"));
    CHECK(contains(a.message, "Configure vJoy"));
    config.set("FAKE_VJOY_DEVICES", "0");
    const Attempt none = try_feeder(1);
    CHECK(none.threw && none.code == VJoyError::Code::DeviceMissing);
}

AC_TEST(device_owned_by_another_process_names_its_pid) {
    FakeConfig config;
    config.set("FAKE_VJOY_STATUS", "busy").set("FAKE_VJOY_OWNER_PID", "4321");
    clear_record();
    const Attempt a = try_feeder();
    CHECK(a.threw && a.code == VJoyError::Code::DeviceBusy);
    CHECK(contains(a.message, "pid 4321"));
    CHECK_EQ(record().acquire_calls, 0u);
}

AC_TEST(missing_axis_is_a_clear_error_and_releases_the_device) {
    FakeConfig config;
    config.set("FAKE_VJOY_AXES", "30,31,32");  // no Rx for the clutch
    clear_record();
    const Attempt a = try_feeder();
    CHECK(a.threw && a.code == VJoyError::Code::AxisMissing);
    CHECK(contains(a.message, "Rx"));
    CHECK_EQ(record().acquire_calls, 1u);
    CHECK_EQ(record().relinquish_calls, 1u);
    CHECK_EQ(record().acquired_mask, 0u);
}

AC_TEST(missing_dll_is_not_installed_and_lists_where_it_looked) {
    bool threw = false;
    try {
        VJoyLibrary::load("C:\\no_such_folder\\vJoyInterface.dll");
    } catch (const VJoyError& e) {
        threw = e.code() == VJoyError::Code::NotInstalled;
    }
    CHECK(threw);
    if (!running_under_wine()) return;  // a real Windows machine may have vJoy installed
    try {
        VJoyLibrary::load_installed();
        CHECK(false);  // a fresh wine prefix has no vJoy
    } catch (const VJoyError& e) {
        CHECK(e.code() == VJoyError::Code::NotInstalled);
        CHECK(contains(e.what(), "\\vJoy\\x64\\vJoyInterface.dll"));
        CHECK(contains(e.what(), "install the vJoy driver"));
    }
}

AC_TEST(installed_driver_location_from_the_registry_is_found) {
    if (!running_under_wine()) {
        std::printf("  (runs under wine only: it writes the vJoy uninstall key into HKLM)\n");
        return;
    }
    // Lay out an "installed" vJoy the way its installer does, in a folder of our own.
    const std::string root = "C:\\ac_core_fake_vjoy_install\\";
    CreateDirectoryA(root.c_str(), nullptr);
    CreateDirectoryA((root + "x64").c_str(), nullptr);
    CHECK(CopyFileA(fake_dll_path().c_str(), (root + "x64\\vJoyInterface.dll").c_str(), FALSE));
    const char* key = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{8E31F76F-74C3-47F1-9550-E041EEDC5FBB}_is1";
    HKEY h = nullptr;
    CHECK_EQ(RegCreateKeyExA(HKEY_LOCAL_MACHINE, key, 0, nullptr, 0, KEY_SET_VALUE, nullptr, &h, nullptr), LONG(ERROR_SUCCESS));
    if (h == nullptr) return;
    RegSetValueExA(h, "InstallLocation", 0, REG_SZ, reinterpret_cast<const BYTE*>(root.c_str()), DWORD(root.size() + 1));
    RegCloseKey(h);

    const auto candidates = VJoyLibrary::candidate_paths();
    CHECK(!candidates.empty() && candidates.front() == root + "x64\\vJoyInterface.dll");
    auto lib = std::shared_ptr<VJoyLibrary>(VJoyLibrary::load_installed());
    CHECK(lib->path() == root + "x64\\vJoyInterface.dll");
    {
        FakeConfig config;
        clear_record();
        VJoyFeeder feeder(lib->api(), 1, VJoyAxisMap{}, lib);
        feeder.write(ControlInput{});
        CHECK_EQ(record().update_calls, 1u);
    }
    RegDeleteKeyA(HKEY_LOCAL_MACHINE, key);
}

AC_TEST(report_write_cost_through_the_dll) {
    FakeConfig config;
    auto lib = load_fake();
    VJoyFeeder feeder(lib->api(), 1, VJoyAxisMap{}, lib);
    ControlInput c;
    constexpr int kWrites = 20000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kWrites; ++i) {
        c.steer = (i % 200) / 100.0 - 1.0;
        feeder.write(c);
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kWrites;
    CHECK_EQ(feeder.stats().writes, uint64_t(kWrites));
    // A report, not a limit: the fake does no IOCTL, so this is the feeder + DLL-call overhead only.
    std::printf("  VJoyFeeder.write through the fake DLL: %.0f ns per write (%d writes)\n", ns, kWrites);
}

AC_TEST_MAIN("wine_vjoy")
