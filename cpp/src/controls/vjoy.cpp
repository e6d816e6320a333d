#include "ac_core/controls/vjoy.hpp"

#include <algorithm>
#include <cmath>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif

namespace ac_core {

const char* vjoy_axis_name(uint32_t usage) noexcept {
    switch (usage) {
        case kHidUsageX: return "X";
        case kHidUsageY: return "Y";
        case kHidUsageZ: return "Z";
        case kHidUsageRX: return "Rx";
        case kHidUsageRY: return "Ry";
        case kHidUsageRZ: return "Rz";
        case kHidUsageSL0: return "Slider";
        case kHidUsageSL1: return "Dial";
        case kHidUsageWHL: return "Wheel";
        default: return "?";
    }
}

int32_t* vjoy_axis_field(JoystickPositionV2& pos, uint32_t usage) noexcept {
    switch (usage) {
        case kHidUsageX: return &pos.wAxisX;
        case kHidUsageY: return &pos.wAxisY;
        case kHidUsageZ: return &pos.wAxisZ;
        case kHidUsageRX: return &pos.wAxisXRot;
        case kHidUsageRY: return &pos.wAxisYRot;
        case kHidUsageRZ: return &pos.wAxisZRot;
        case kHidUsageSL0: return &pos.wSlider;
        case kHidUsageSL1: return &pos.wDial;
        case kHidUsageWHL: return &pos.wWheel;
        default: return nullptr;
    }
}

int32_t vjoy_scale_unipolar(double v, const VJoyAxisRange& r) noexcept {
    const double t = std::clamp(v, 0.0, 1.0);
    return int32_t(std::lround(double(r.min) + t * (double(r.max) - double(r.min))));
}

int32_t vjoy_scale_bipolar(double v, const VJoyAxisRange& r) noexcept {
    return vjoy_scale_unipolar((std::clamp(v, -1.0, 1.0) + 1.0) * 0.5, r);
}

void encode_vjoy(const ControlInput& c, const VJoyAxisMap& map, const VJoyRanges& ranges, uint32_t button_count,
                 JoystickPositionV2& pos) noexcept {
    if (int32_t* f = vjoy_axis_field(pos, map.steer)) *f = vjoy_scale_bipolar(c.steer, ranges.steer);
    if (int32_t* f = vjoy_axis_field(pos, map.throttle)) *f = vjoy_scale_unipolar(c.throttle, ranges.throttle);
    if (int32_t* f = vjoy_axis_field(pos, map.brake)) *f = vjoy_scale_unipolar(c.brake, ranges.brake);
    if (int32_t* f = vjoy_axis_field(pos, map.clutch)) *f = vjoy_scale_unipolar(c.clutch, ranges.clutch);
    const uint32_t n = std::min(button_count, kControlButtonCount);
    const uint32_t mask = n >= 32 ? 0xFFFFFFFFu : ((1u << n) - 1u);
    pos.lButtons = int32_t(c.buttons & mask);
}

std::vector<std::string> VJoyApi::missing_required() const {
    std::vector<std::string> missing;
    auto need = [&](const void* fn, const char* name) {
        if (fn == nullptr) missing.emplace_back(name);
    };
    need(reinterpret_cast<const void*>(vJoyEnabled), "vJoyEnabled");
    need(reinterpret_cast<const void*>(DriverMatch), "DriverMatch");
    need(reinterpret_cast<const void*>(GetVJDStatus), "GetVJDStatus");
    need(reinterpret_cast<const void*>(GetVJDAxisExist), "GetVJDAxisExist");
    need(reinterpret_cast<const void*>(GetVJDButtonNumber), "GetVJDButtonNumber");
    need(reinterpret_cast<const void*>(AcquireVJD), "AcquireVJD");
    need(reinterpret_cast<const void*>(RelinquishVJD), "RelinquishVJD");
    need(reinterpret_cast<const void*>(UpdateVJD), "UpdateVJD");
    return missing;
}

// ---- loader -------------------------------------------------------------------------------------

#ifdef _WIN32

namespace {

std::wstring widen(const std::string& s) {
    if (s.empty()) return {};
    const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), nullptr, 0);
    std::wstring w(std::size_t(n), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), w.data(), n);
    return w;
}

std::string narrow(const std::wstring& w) {
    if (w.empty()) return {};
    const int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), int(w.size()), nullptr, 0, nullptr, nullptr);
    std::string s(std::size_t(n), '\0');
    WideCharToMultiByte(CP_UTF8, 0, w.data(), int(w.size()), s.data(), n, nullptr, nullptr);
    return s;
}

// The vJoy installer (Inno Setup) records its folder under this uninstall key.
std::string registry_install_location() {
    const wchar_t* key =
        L"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{8E31F76F-74C3-47F1-9550-E041EEDC5FBB}_is1";
    wchar_t buffer[1024];
    DWORD size = sizeof(buffer);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, key, L"InstallLocation", RRF_RT_REG_SZ, nullptr, buffer, &size) != ERROR_SUCCESS)
        return {};
    return narrow(buffer);
}

// GetEnvironmentVariableW, not _dupenv_s: mingw's msvcrt lacks the latter, and this keeps UTF-8.
std::string env_or(const wchar_t* name, const char* fallback) {
    wchar_t buffer[1024];
    const DWORD n = GetEnvironmentVariableW(name, buffer, 1024);
    if (n == 0 || n >= 1024) return fallback;
    return narrow(std::wstring(buffer, n));
}

bool file_exists(const std::string& path) {
    const DWORD attr = GetFileAttributesW(widen(path).c_str());
    return attr != INVALID_FILE_ATTRIBUTES && !(attr & FILE_ATTRIBUTE_DIRECTORY);
}

template <typename Fn>
void resolve(HMODULE module, Fn& slot, const char* name) {
    slot = reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(module, name)));
}

}  // namespace

std::vector<std::string> VJoyLibrary::candidate_paths(const std::string& user_path) {
#ifdef _WIN64
    const char* arch = "x64";
#else
    const char* arch = "x86";
#endif
    std::vector<std::string> out;
    std::string location = registry_install_location();
    if (!location.empty()) {
        if (location.back() != '\\' && location.back() != '/') location += '\\';
        out.push_back(location + arch + "\\vJoyInterface.dll");
    }
    out.push_back(env_or(L"ProgramFiles", "C:\\Program Files") + "\\vJoy\\" + arch + "\\vJoyInterface.dll");
    if (!user_path.empty()) out.push_back(user_path);
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::unique_ptr<VJoyLibrary> VJoyLibrary::load(const std::string& dll_path) {
    if (!file_exists(dll_path))
        throw VJoyError(VJoyError::Code::NotInstalled, "vJoyInterface.dll not found at '" + dll_path + "'");
    HMODULE module = LoadLibraryExW(widen(dll_path).c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (module == nullptr)
        throw VJoyError(VJoyError::Code::LoadFailed,
                        "could not load '" + dll_path + "' (Windows error " + std::to_string(GetLastError()) +
                            "): is it the DLL for this architecture (x64 Python needs vJoy\\x64)?");
    std::unique_ptr<VJoyLibrary> lib(new VJoyLibrary());
    lib->module_ = module;
    lib->path_ = dll_path;
    VJoyApi& a = lib->api_;
    resolve(module, a.vJoyEnabled, "vJoyEnabled");
    resolve(module, a.DriverMatch, "DriverMatch");
    resolve(module, a.GetvJoyVersion, "GetvJoyVersion");
    resolve(module, a.GetVJDStatus, "GetVJDStatus");
    resolve(module, a.isVJDExists, "isVJDExists");
    resolve(module, a.GetOwnerPid, "GetOwnerPid");
    resolve(module, a.GetVJDAxisExist, "GetVJDAxisExist");
    resolve(module, a.GetVJDAxisMin, "GetVJDAxisMin");
    resolve(module, a.GetVJDAxisMax, "GetVJDAxisMax");
    resolve(module, a.GetVJDButtonNumber, "GetVJDButtonNumber");
    resolve(module, a.AcquireVJD, "AcquireVJD");
    resolve(module, a.RelinquishVJD, "RelinquishVJD");
    resolve(module, a.UpdateVJD, "UpdateVJD");
    resolve(module, a.ResetVJD, "ResetVJD");
    const auto missing = a.missing_required();
    if (!missing.empty()) {
        std::string names;
        for (const auto& n : missing) names += (names.empty() ? "" : ", ") + n;
        throw VJoyError(VJoyError::Code::MissingExport,
                        "'" + dll_path + "' lacks " + names + ": it is not a vJoyInterface.dll this feeder can use");
    }
    return lib;
}

std::unique_ptr<VJoyLibrary> VJoyLibrary::load_installed(const std::string& user_path) {
    const auto candidates = candidate_paths(user_path);
    std::string looked;
    for (const auto& path : candidates) {
        looked += "\n  " + path;
        if (file_exists(path)) return load(path);
    }
    throw VJoyError(VJoyError::Code::NotInstalled,
                    "vJoy is not installed (no vJoyInterface.dll in:" + looked +
                        ")\ninstall the vJoy driver (BrunnerInnovation/vJoy 2.2.x on Windows 11) or pass the DLL path");
}

VJoyLibrary::~VJoyLibrary() {
    if (module_ != nullptr) FreeLibrary(static_cast<HMODULE>(module_));
}

#else  // not Windows

std::vector<std::string> VJoyLibrary::candidate_paths(const std::string& user_path) {
    std::vector<std::string> out;
    if (!user_path.empty()) out.push_back(user_path);
    return out;
}

std::unique_ptr<VJoyLibrary> VJoyLibrary::load(const std::string& dll_path) {
    throw VJoyError(VJoyError::Code::NotInstalled,
                    "vJoy is Windows-only (asked to load '" + dll_path +
                        "'); on Linux use the uinput feeder (AC under Proton) or the pad feeder (built-in sim)");
}

std::unique_ptr<VJoyLibrary> VJoyLibrary::load_installed(const std::string& user_path) { return load(user_path); }

VJoyLibrary::~VJoyLibrary() = default;

#endif

}  // namespace ac_core
