// A fake vJoyInterface.dll for testing vJoy feeders without the driver (under wine or on a Windows
// machine without vJoy). It exports the vJoy SDK's C API (extern "C", __cdecl: on x64 the names
// are undecorated, so GetProcAddress finds them as in the real DLL), behaves as configured by the
// FAKE_VJOY_* environment variables and records what it receives (see fake_vjoy_record.hpp).
//
// It follows the real DLL where a feeder could notice (shauleiz/vJoy apps/common/vJoyInterface.cpp):
// UpdateVJD writes rID into the caller's bDevice and fails unless the device was acquired;
// AcquireVJD succeeds only for a FREE (or already owned) device; SetAxis rejects usages outside
// 0x30..0x38; axis ranges come from GetVJDAxisMin/Max.
#include <windows.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fake_vjoy/fake_vjoy_record.hpp"

#define FAKE_VJOY_API extern "C" __declspec(dllexport)

namespace {

enum VjdStat { VJD_STAT_OWN = 0, VJD_STAT_FREE = 1, VJD_STAT_BUSY = 2, VJD_STAT_MISS = 3, VJD_STAT_UNKN = 4 };

constexpr UINT kMaxDevices = 16;
constexpr UINT kFirstAxis = 0x30;  // HID_USAGE_X
constexpr UINT kLastAxis = 0x38;   // HID_USAGE_WHL

uint32_t g_acquired = 0;  // bit rID-1; per process, as the driver's ownership is
uint8_t g_position[kMaxDevices][fake_vjoy::kPositionV2Size] = {};  // the DLL's per-device cache (SetAxis/SetBtn)

std::string env(const char* name, const char* fallback) {
    char buf[256];
    DWORD n = GetEnvironmentVariableA(name, buf, sizeof(buf));
    return (n > 0 && n < sizeof(buf)) ? std::string(buf, n) : std::string(fallback);
}
long env_long(const char* name, long fallback) {
    const std::string v = env(name, "");
    if (v.empty()) return fallback;
    return std::strtol(v.c_str(), nullptr, 0);
}

bool valid_id(UINT rID) { return rID >= 1 && rID <= kMaxDevices; }
bool device_exists(UINT rID) { return valid_id(rID) && long(rID) <= env_long("FAKE_VJOY_DEVICES", 1); }
bool owned(UINT rID) { return valid_id(rID) && (g_acquired & (1u << (rID - 1))) != 0; }

// The record mapping, (re)opened when FAKE_VJOY_RECORD names another one.
fake_vjoy::Record* record() {
    static std::wstring open_name;
    static HANDLE handle = nullptr;
    static fake_vjoy::Record* view = nullptr;
    wchar_t name[256];
    DWORD n = GetEnvironmentVariableW(L"FAKE_VJOY_RECORD", name, 256);
    if (n == 0 || n >= 256) return nullptr;
    if (view != nullptr && open_name == std::wstring(name, n)) return view;
    if (view != nullptr) UnmapViewOfFile(view);
    if (handle != nullptr) CloseHandle(handle);
    view = nullptr;
    open_name.assign(name, n);
    handle = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);  // the test owns it
    if (handle == nullptr) return nullptr;
    view = static_cast<fake_vjoy::Record*>(MapViewOfFile(handle, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(fake_vjoy::Record)));
    if (view != nullptr) view->magic = fake_vjoy::kRecordMagic;
    return view;
}
void count(uint32_t fake_vjoy::Record::*field) {
    if (fake_vjoy::Record* r = record()) InterlockedIncrement(reinterpret_cast<volatile LONG*>(&(r->*field)));
}
void publish_acquired() {
    if (fake_vjoy::Record* r = record()) InterlockedExchange(reinterpret_cast<volatile LONG*>(&r->acquired_mask), LONG(g_acquired));
}

bool axis_exists(UINT axis) {
    if (axis < kFirstAxis || axis > kLastAxis) return false;
    const std::string list = env("FAKE_VJOY_AXES", "30,31,32,33,34,35,36,37");
    std::size_t pos = 0;
    while (pos < list.size()) {
        std::size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        if (std::strtoul(list.substr(pos, end - pos).c_str(), nullptr, 16) == axis) return true;
        pos = end + 1;
    }
    return false;
}

// JOYSTICK_POSITION_V2 byte offset of an axis usage (vJoyInterface.cpp's SetAxis switch).
std::size_t axis_offset(UINT axis) {
    static constexpr std::size_t offsets[] = {16, 20, 24, 28, 32, 36, 40, 44, 48};  // X Y Z RX RY RZ SL0 SL1 WHL
    return offsets[axis - kFirstAxis];
}

BOOL store_position(UINT rID, const void* data) {
    std::memcpy(g_position[rID - 1], data, fake_vjoy::kPositionV2Size);
    if (fake_vjoy::Record* r = record()) {
        std::memcpy(r->last_position, data, fake_vjoy::kPositionV2Size);
        InterlockedExchange(reinterpret_cast<volatile LONG*>(&r->last_update_rid), LONG(rID));
        InterlockedIncrement(reinterpret_cast<volatile LONG*>(&r->update_calls));
    }
    return TRUE;
}

}  // namespace

FAKE_VJOY_API BOOL __cdecl vJoyEnabled(void) {
    count(&fake_vjoy::Record::enabled_calls);
    return env_long("FAKE_VJOY_ENABLED", 1) != 0;
}

FAKE_VJOY_API SHORT __cdecl GetvJoyVersion(void) { return SHORT(fake_vjoy::kDllVersion); }

FAKE_VJOY_API BOOL __cdecl DriverMatch(WORD* DllVer, WORD* DrvVer) {
    count(&fake_vjoy::Record::driver_match_calls);
    const bool match = env_long("FAKE_VJOY_DRIVER_MATCH", 1) != 0;
    if (DllVer != nullptr) *DllVer = fake_vjoy::kDllVersion;
    if (DrvVer != nullptr) *DrvVer = match ? fake_vjoy::kDllVersion : fake_vjoy::kOtherDriverVersion;
    return match;
}

FAKE_VJOY_API PVOID __cdecl GetvJoyProductString(void) { return const_cast<wchar_t*>(L"vJoy - Virtual Joystick (fake)"); }
FAKE_VJOY_API PVOID __cdecl GetvJoyManufacturerString(void) { return const_cast<wchar_t*>(L"ac_core tests"); }
FAKE_VJOY_API PVOID __cdecl GetvJoySerialNumberString(void) { return const_cast<wchar_t*>(L"2.2.2.0-fake"); }

FAKE_VJOY_API BOOL __cdecl GetvJoyMaxDevices(int* n) {
    if (n == nullptr) return FALSE;
    *n = int(kMaxDevices);
    return TRUE;
}
FAKE_VJOY_API BOOL __cdecl GetNumberExistingVJD(int* n) {
    if (n == nullptr) return FALSE;
    *n = int(env_long("FAKE_VJOY_DEVICES", 1));
    return TRUE;
}
FAKE_VJOY_API BOOL __cdecl vJoyFfbCap(BOOL* supported) {
    if (supported != nullptr) *supported = FALSE;
    return TRUE;
}

FAKE_VJOY_API BOOL __cdecl isVJDExists(UINT rID) { return device_exists(rID); }

FAKE_VJOY_API int __cdecl GetVJDStatus(UINT rID) {
    if (!device_exists(rID)) return VJD_STAT_MISS;
    if (owned(rID)) return VJD_STAT_OWN;
    const std::string status = env("FAKE_VJOY_STATUS", "free");
    if (status == "busy") return VJD_STAT_BUSY;
    if (status == "unkn") return VJD_STAT_UNKN;
    return VJD_STAT_FREE;
}

FAKE_VJOY_API int __cdecl GetOwnerPid(UINT rID) {
    if (!device_exists(rID)) return -1;  // NO_HANDLE_BY_INDEX
    if (owned(rID)) return int(GetCurrentProcessId());
    return GetVJDStatus(rID) == VJD_STAT_BUSY ? int(env_long("FAKE_VJOY_OWNER_PID", 0)) : 0;
}

FAKE_VJOY_API BOOL __cdecl GetVJDAxisExist(UINT rID, UINT Axis) { return device_exists(rID) && axis_exists(Axis); }

FAKE_VJOY_API BOOL __cdecl GetVJDAxisMax(UINT rID, UINT Axis, LONG* Max) {
    if (!device_exists(rID) || !axis_exists(Axis) || Max == nullptr) return FALSE;
    *Max = LONG(env_long("FAKE_VJOY_AXIS_MAX", 32767));
    return TRUE;
}
FAKE_VJOY_API BOOL __cdecl GetVJDAxisMin(UINT rID, UINT Axis, LONG* Min) {
    if (!device_exists(rID) || !axis_exists(Axis) || Min == nullptr) return FALSE;
    *Min = LONG(env_long("FAKE_VJOY_AXIS_MIN", 0));
    return TRUE;
}

FAKE_VJOY_API int __cdecl GetVJDButtonNumber(UINT rID) {
    return device_exists(rID) ? int(env_long("FAKE_VJOY_BUTTONS", 8)) : -1;
}
FAKE_VJOY_API int __cdecl GetVJDDiscPovNumber(UINT rID) { return device_exists(rID) ? 0 : -1; }
FAKE_VJOY_API int __cdecl GetVJDContPovNumber(UINT rID) { return device_exists(rID) ? 0 : -1; }

FAKE_VJOY_API BOOL __cdecl AcquireVJD(UINT rID) {
    count(&fake_vjoy::Record::acquire_calls);
    const int status = GetVJDStatus(rID);
    if (status != VJD_STAT_FREE && status != VJD_STAT_OWN) return FALSE;
    g_acquired |= 1u << (rID - 1);
    std::memset(g_position[rID - 1], 0, fake_vjoy::kPositionV2Size);
    publish_acquired();
    return TRUE;
}

FAKE_VJOY_API VOID __cdecl RelinquishVJD(UINT rID) {
    count(&fake_vjoy::Record::relinquish_calls);
    if (valid_id(rID)) g_acquired &= ~(1u << (rID - 1));
    publish_acquired();
}

FAKE_VJOY_API BOOL __cdecl UpdateVJD(UINT rID, PVOID pData) {
    if (!owned(rID) || pData == nullptr) {
        count(&fake_vjoy::Record::update_rejected);
        return FALSE;
    }
    static_cast<BYTE*>(pData)[0] = BYTE(rID);  // the real DLL sets pData->bDevice = rID
    return store_position(rID, pData);
}

FAKE_VJOY_API BOOL __cdecl ResetVJD(UINT rID) {
    count(&fake_vjoy::Record::reset_calls);
    if (!owned(rID)) return FALSE;
    std::memset(g_position[rID - 1], 0, fake_vjoy::kPositionV2Size);
    g_position[rID - 1][0] = BYTE(rID);
    return store_position(rID, g_position[rID - 1]);
}
FAKE_VJOY_API VOID __cdecl ResetAll(void) {
    for (UINT id = 1; id <= kMaxDevices; ++id)
        if (owned(id)) ResetVJD(id);
}
FAKE_VJOY_API BOOL __cdecl ResetButtons(UINT rID) {
    if (!owned(rID)) return FALSE;
    std::memset(g_position[rID - 1] + 76, 0, 4);                           // lButtons
    std::memset(g_position[rID - 1] + 96, 0, fake_vjoy::kPositionV2Size - 96);  // lButtonsEx1..3
    return store_position(rID, g_position[rID - 1]);
}
FAKE_VJOY_API BOOL __cdecl ResetPovs(UINT rID) { return owned(rID) ? TRUE : FALSE; }

// The per-field setters: each one is a full update in the real DLL, which is why a feeder should
// not use them. They work here so that a test can see it happen (set_axis_calls / set_btn_calls).
FAKE_VJOY_API BOOL __cdecl SetAxis(LONG Value, UINT rID, UINT Axis) {
    count(&fake_vjoy::Record::set_axis_calls);
    if (!owned(rID) || Axis < kFirstAxis || Axis > kLastAxis) return FALSE;
    std::memcpy(g_position[rID - 1] + axis_offset(Axis), &Value, sizeof(Value));
    g_position[rID - 1][0] = BYTE(rID);
    return store_position(rID, g_position[rID - 1]);
}
FAKE_VJOY_API BOOL __cdecl SetBtn(BOOL Value, UINT rID, UCHAR nBtn) {
    count(&fake_vjoy::Record::set_btn_calls);
    if (!owned(rID) || nBtn < 1 || nBtn > 128) return FALSE;
    static constexpr std::size_t word_offset[] = {76, 96, 100, 104};  // lButtons, lButtonsEx1..3
    uint32_t word;
    uint8_t* p = g_position[rID - 1] + word_offset[(nBtn - 1) / 32];
    std::memcpy(&word, p, 4);
    const uint32_t bit = 1u << ((nBtn - 1) % 32);
    word = Value ? (word | bit) : (word & ~bit);
    std::memcpy(p, &word, 4);
    g_position[rID - 1][0] = BYTE(rID);
    return store_position(rID, g_position[rID - 1]);
}
FAKE_VJOY_API BOOL __cdecl SetDiscPov(int /*Value*/, UINT rID, UCHAR /*nPov*/) { return owned(rID) ? TRUE : FALSE; }
FAKE_VJOY_API BOOL __cdecl SetContPov(DWORD /*Value*/, UINT rID, UCHAR /*nPov*/) { return owned(rID) ? TRUE : FALSE; }

typedef void(CALLBACK* RemovalCB)(BOOL, BOOL, PVOID);
FAKE_VJOY_API VOID __cdecl RegisterRemovalCB(RemovalCB /*cb*/, PVOID /*data*/) {}
