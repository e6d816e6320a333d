// A stand-in for Assetto Corsa's acs.exe, for testing `ac-core launch`, `smoke-test` and crash/hang
// recovery without the game (built as acs.exe by mingw-w64, run under wine). Raw Win32 only, no project
// code, so it checks the project against an independent reading of AC's files and pages:
//
//  * reads Documents\Assetto Corsa\cfg\race.ini with GetPrivateProfileStringW, the Win32 INI reader:
//    [RACE] MODEL, SKIN, TRACK, CONFIG_TRACK, [SESSION_0] TYPE and SPAWN_SET, [WEATHER] NAME;
//    exits with code 3 when the car or track folder is missing under content\ (the working directory
//    is the AC folder, as AC is started);
//  * publishes Local\<prefix>physics/graphics/static at AC 1.16's sizes and offsets, carModel = MODEL
//    etc., 333 packets a second, status AC_LIVE. With ACS_STANDIN_SHM_DIR set (e.g. Z:\dev\shm) the
//    pages are backed by files there, as simshmbridge does under Proton, so Linux readers see them;
//  * reads its controls the way AC reads a DirectInput device, from the vJoy device state: here the fake
//    vJoyInterface.dll's record (mapping named by FAKE_VJOY_RECORD) that a feeder's UpdateVJD wrote.
//    cfg\controls.ini decides which axis is steer/throttle/brake/clutch (AXLE, MIN/MAX, SCALE) and which
//    button is gear up/down and [RESET_RACE] (restart: the car back to its start, lap clock at 0);
//  * faults on request: the file acs_stand_in_fault.txt in the AC folder, holding "crash" (the process
//    ends at once with code 0xC0000005, as after an access violation) or "freeze" (it stops publishing
//    with status still LIVE, as a hung game). The file is removed when acted on, so a relaunch runs.
//  * acs.exe --print-documents prints the Documents folder it uses and exits.
#include <windows.h>
#include <mmsystem.h>
#include <shlobj.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "fake_vjoy/fake_vjoy_record.hpp"

namespace {

// AC 1.16 page sizes and the offsets this program writes (the shared-memory spec).
constexpr DWORD kPhysicsBytes = 712, kGraphicsBytes = 296, kStaticBytes = 684;
namespace phys {
constexpr std::size_t packetId = 0, gas = 4, brake = 8, gear = 16, rpms = 20, steerAngle = 24, speedKmh = 28,
                      velocity = 32, heading = 208, clutch = 364, localVelocity = 568;
}
namespace graph {
constexpr std::size_t packetId = 0, status = 4, session = 8, completedLaps = 132, iCurrentTime = 140, iLastTime = 144,
                      isInPit = 160, normalizedCarPosition = 248, carCoordinates = 252;
}
namespace stat {
constexpr std::size_t smVersion = 0, acVersion = 30, numberOfSessions = 60, numCars = 64, carModel = 68, track = 134,
                      maxRpm = 412, trackSPlineLength = 520, trackConfiguration = 524, carSkin = 604;
}
constexpr int32_t kStatusLive = 2;
// JOYSTICK_POSITION_V2 (vJoy public.h): axes X, Y, Z, Rx, Ry, Rz, Slider, Dial from offset 16, buttons at 76.
constexpr std::size_t kAxisOffsets[8] = {16, 20, 24, 28, 32, 36, 40, 44};
constexpr std::size_t kButtonsOffset = 76;
constexpr double kLapMetres = 3000.0;  // the stand-in's circuit: a circle this long

template <typename T> void put(uint8_t* page, std::size_t offset, T value) { std::memcpy(page + offset, &value, sizeof(T)); }
void put_text(uint8_t* page, std::size_t offset, const std::wstring& text, std::size_t chars) {
    std::wstring t = text.substr(0, chars - 1);
    std::memset(page + offset, 0, chars * sizeof(wchar_t));
    std::memcpy(page + offset, t.c_str(), t.size() * sizeof(wchar_t));
}

std::wstring documents() {
    wchar_t path[MAX_PATH];
    if (SHGetFolderPathW(nullptr, CSIDL_PERSONAL, nullptr, SHGFP_TYPE_CURRENT, path) != S_OK) return L"";
    return std::wstring(path) + L"\\Assetto Corsa";
}

std::wstring ini_string(const std::wstring& file, const wchar_t* section, const wchar_t* key, const wchar_t* fallback) {
    wchar_t buffer[512];
    GetPrivateProfileStringW(section, key, fallback, buffer, 512, file.c_str());
    return buffer;
}
int ini_int(const std::wstring& file, const wchar_t* section, const wchar_t* key, int fallback) {
    return int(GetPrivateProfileIntW(section, key, fallback, file.c_str()));
}
std::wstring env(const wchar_t* name, const wchar_t* fallback = L"") {
    wchar_t buffer[512];
    DWORD n = GetEnvironmentVariableW(name, buffer, 512);
    return (n == 0 || n >= 512) ? std::wstring(fallback) : std::wstring(buffer, n);
}
bool is_dir(const std::wstring& path) {
    DWORD a = GetFileAttributesW(path.c_str());
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

struct Page {
    HANDLE file = INVALID_HANDLE_VALUE, mapping = nullptr;
    uint8_t* view = nullptr;
};
// AC's own way (pagefile-backed, Local\ name); with a folder, backed by a file there as well.
bool create_page(Page& p, const std::wstring& prefix, const wchar_t* kind, DWORD size, const std::wstring& shm_dir) {
    const std::wstring name = L"Local\\" + prefix + kind;
    if (!shm_dir.empty()) {
        const std::wstring path = shm_dir + L"\\" + prefix + kind;
        p.file = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (p.file == INVALID_HANDLE_VALUE) return false;
        LARGE_INTEGER at;
        at.QuadPart = size;
        SetFilePointerEx(p.file, at, nullptr, FILE_BEGIN);
        SetEndOfFile(p.file);
    }
    p.mapping = CreateFileMappingW(p.file, nullptr, PAGE_READWRITE, 0, size, name.c_str());
    if (p.mapping == nullptr) return false;
    p.view = static_cast<uint8_t*>(MapViewOfFile(p.mapping, FILE_MAP_ALL_ACCESS, 0, 0, size));
    if (p.view != nullptr) std::memset(p.view, 0, size);
    return p.view != nullptr;
}

// One control binding of controls.ini.
struct Axis {
    int axle = -1;  // AXLE: index into kAxisOffsets
    double min = -1, max = 1, scale = 1;
};
struct Bindings {
    Axis steer, throttle, brake, clutch;
    int gear_up = -1, gear_down = -1, restart = -1;  // 0-based BUTTON
};
Axis read_axis(const std::wstring& file, const wchar_t* section) {
    Axis a;
    if (ini_int(file, section, L"JOY", -1) < 0) return a;
    a.axle = ini_int(file, section, L"AXLE", -1);
    a.min = _wtof(ini_string(file, section, L"MIN", L"-1").c_str());
    a.max = _wtof(ini_string(file, section, L"MAX", L"1").c_str());
    a.scale = _wtof(ini_string(file, section, L"SCALE", L"1").c_str());
    return a;
}
int read_button(const std::wstring& file, const wchar_t* section) {
    return ini_int(file, section, L"JOY", -1) < 0 ? -1 : ini_int(file, section, L"BUTTON", -1);
}
Bindings read_controls(const std::wstring& file) {
    Bindings b;
    b.steer = read_axis(file, L"STEER");
    b.throttle = read_axis(file, L"THROTTLE");
    b.brake = read_axis(file, L"BRAKES");
    b.clutch = read_axis(file, L"CLUTCH");
    b.gear_up = read_button(file, L"GEARUP");
    b.gear_down = read_button(file, L"GEARDN");
    b.restart = read_button(file, L"RESET_RACE");
    return b;
}

struct Input {
    double steer = 0, throttle = 0, brake = 0, clutch = 0;
    uint32_t buttons = 0;
};
// The vJoy device as DirectInput would show it: the last UpdateVJD position, axes 0..32767 (vJoy's
// default range; FAKE_VJOY_AXIS_MIN/MAX when the test changed it).
double fraction(const uint8_t* position, int axle) {
    if (axle < 0 || axle > 7) return 0.0;
    int32_t raw;
    std::memcpy(&raw, position + kAxisOffsets[axle], 4);
    const double lo = _wtof(env(L"FAKE_VJOY_AXIS_MIN", L"0").c_str()), hi = _wtof(env(L"FAKE_VJOY_AXIS_MAX", L"32767").c_str());
    return hi > lo ? std::fmin(1.0, std::fmax(0.0, (raw - lo) / (hi - lo))) : 0.0;
}
// MIN=-1/MAX=1: the raw minimum is pedal 0; swapped signs invert the pedal (CM WheelAxleEntry).
double pedal(const uint8_t* position, const Axis& a) {
    if (a.axle < 0) return 0.0;
    const double f = fraction(position, a.axle);
    return a.min <= a.max ? f : 1.0 - f;
}
Input read_input(const fake_vjoy::Record* rec, const Bindings& b) {
    Input in;
    if (rec == nullptr || rec->magic != fake_vjoy::kRecordMagic) return in;
    uint8_t position[fake_vjoy::kPositionV2Size];
    std::memcpy(position, rec->last_position, sizeof(position));
    if (b.steer.axle >= 0) in.steer = (2.0 * fraction(position, b.steer.axle) - 1.0) * (b.steer.scale < 0 ? -1.0 : 1.0);
    in.throttle = pedal(position, b.throttle);
    in.brake = pedal(position, b.brake);
    in.clutch = pedal(position, b.clutch);
    int32_t buttons;
    std::memcpy(&buttons, position + kButtonsOffset, 4);
    in.buttons = uint32_t(buttons);
    return in;
}
bool pressed(uint32_t buttons, int index) { return index >= 0 && index < 32 && (buttons >> index) & 1u; }

std::wstring fault_request(const std::wstring& path) {
    HANDLE h = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) return L"";
    char text[16] = {};
    DWORD got = 0;
    ReadFile(h, text, sizeof(text) - 1, &got, nullptr);
    CloseHandle(h);
    DeleteFileW(path.c_str());
    if (std::strncmp(text, "crash", 5) == 0) return L"crash";
    if (std::strncmp(text, "freeze", 6) == 0) return L"freeze";
    return L"";
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
    const std::wstring docs = documents();
    if (argc > 1 && std::wcscmp(argv[1], L"--print-documents") == 0) {
        std::printf("%ls\n", docs.c_str());
        return 0;
    }
    const std::wstring race = docs + L"\\cfg\\race.ini", controls = docs + L"\\cfg\\controls.ini";
    const std::wstring car = ini_string(race, L"RACE", L"MODEL", L""), skin = ini_string(race, L"CAR_0", L"SKIN", L"");
    const std::wstring track = ini_string(race, L"RACE", L"TRACK", L""), layout = ini_string(race, L"RACE", L"CONFIG_TRACK", L"");
    const std::wstring spawn = ini_string(race, L"SESSION_0", L"SPAWN_SET", L"PIT");
    const int session_type = ini_int(race, L"SESSION_0", L"TYPE", 1);
    if (car.empty() || !is_dir(L"content\\cars\\" + car) || track.empty() || !is_dir(L"content\\tracks\\" + track)) {
        std::fprintf(stderr, "acs stand-in: race.ini %ls names car '%ls' and track '%ls'; one is not installed\n",
                     race.c_str(), car.c_str(), track.c_str());
        return 3;
    }
    const Bindings bindings = read_controls(controls);
    const std::wstring prefix = env(L"ACS_STANDIN_PREFIX", L"acpmf_"), shm_dir = env(L"ACS_STANDIN_SHM_DIR");
    Page physics, graphics, statics;
    if (!create_page(physics, prefix, L"physics", kPhysicsBytes, shm_dir) ||
        !create_page(graphics, prefix, L"graphics", kGraphicsBytes, shm_dir) ||
        !create_page(statics, prefix, L"static", kStaticBytes, shm_dir)) {
        std::fprintf(stderr, "acs stand-in: cannot create the pages (error %lu)\n", GetLastError());
        return 4;
    }
    // The vJoy device record: the feeder's fake DLL writes it; whichever side comes first creates it.
    fake_vjoy::Record* rec = nullptr;
    const std::wstring rec_name = env(L"FAKE_VJOY_RECORD");
    if (!rec_name.empty()) {
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, sizeof(fake_vjoy::Record), rec_name.c_str());
        if (h != nullptr) rec = static_cast<fake_vjoy::Record*>(MapViewOfFile(h, FILE_MAP_READ, 0, 0, sizeof(fake_vjoy::Record)));
    }

    uint8_t* s = statics.view;
    put_text(s, stat::smVersion, L"1.7", 15);
    put_text(s, stat::acVersion, L"1.16.4", 15);
    put<int32_t>(s, stat::numberOfSessions, 1);
    put<int32_t>(s, stat::numCars, 1);
    put_text(s, stat::carModel, car, 33);
    put_text(s, stat::track, track, 33);
    put_text(s, stat::trackConfiguration, layout, 33);
    put_text(s, stat::carSkin, skin, 33);
    put<int32_t>(s, stat::maxRpm, 12000);
    put<float>(s, stat::trackSPlineLength, float(kLapMetres));
    uint8_t* g = graphics.view;
    put<int32_t>(g, graph::session, session_type == 4 ? 3 : 0);  // graphics.session is the race.ini TYPE - 1
    put<int32_t>(g, graph::status, kStatusLive);

    const std::wstring fault_file = L"acs_stand_in_fault.txt";
    timeBeginPeriod(1);
    const double dt = 0.003;  // one physics tick; AC's is 1/333 s
    const double start_s = spawn == L"PIT" ? 0.0 : (spawn == L"HOTLAP_START" ? kLapMetres - 300.0 : 10.0);
    double s_m = start_s, speed = spawn == L"HOTLAP_START" ? 50.0 : 0.0, lap_ms = 0;
    int32_t packet = 1, laps = 0, gear = 2;
    uint32_t last_buttons = 0;
    LARGE_INTEGER freq, t0, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t0);
    for (int64_t tick = 1;; ++tick) {
        if (tick % 100 == 0) {  // a third of a second: how soon a fault request is acted on
            const std::wstring fault = fault_request(fault_file);
            if (fault == L"crash") TerminateProcess(GetCurrentProcess(), 0xC0000005u);
            if (fault == L"freeze") {
                for (;;) Sleep(1000);  // hung: pages stay, status stays LIVE, packetId stands still
            }
        }
        const Input in = read_input(rec, bindings);
        if (pressed(in.buttons, bindings.restart) && !pressed(last_buttons, bindings.restart)) {
            s_m = start_s;
            speed = 0.0;
            lap_ms = 0;
            laps = 0;
        }
        if (pressed(in.buttons, bindings.gear_up) && !pressed(last_buttons, bindings.gear_up) && gear < 7) ++gear;
        if (pressed(in.buttons, bindings.gear_down) && !pressed(last_buttons, bindings.gear_down) && gear > 0) --gear;
        last_buttons = in.buttons;
        speed = std::fmax(0.0, speed + (12.0 * in.throttle - 30.0 * in.brake - 0.01 * speed) * dt);
        s_m += speed * dt;
        lap_ms += dt * 1000.0;
        if (s_m >= kLapMetres) {
            s_m -= kLapMetres;
            ++laps;
            put<int32_t>(g, graph::iLastTime, int32_t(lap_ms));
            lap_ms = 0;
        }
        const double angle = 2.0 * M_PI * s_m / kLapMetres, radius = kLapMetres / (2.0 * M_PI);
        uint8_t* p = physics.view;
        put<float>(p, phys::gas, float(in.throttle));
        put<float>(p, phys::brake, float(in.brake));
        put<float>(p, phys::clutch, float(in.clutch));
        put<float>(p, phys::steerAngle, float(in.steer));
        put<int32_t>(p, phys::gear, gear);
        put<int32_t>(p, phys::rpms, int32_t(2000 + 60 * speed));
        put<float>(p, phys::speedKmh, float(speed * 3.6));
        put<float>(p, phys::heading, float(angle));
        const float local[3] = {0.0f, 0.0f, float(speed)};
        std::memcpy(p + phys::localVelocity, local, sizeof(local));
        const float velocity[3] = {float(speed * std::cos(angle)), 0.0f, float(speed * std::sin(angle))};
        std::memcpy(p + phys::velocity, velocity, sizeof(velocity));
        put<int32_t>(g, graph::iCurrentTime, int32_t(lap_ms));
        put<int32_t>(g, graph::completedLaps, laps);
        put<int32_t>(g, graph::isInPit, 0);
        put<float>(g, graph::normalizedCarPosition, float(s_m / kLapMetres));
        const float coords[3] = {float(radius * std::sin(angle)), 0.0f, float(-radius * std::cos(angle))};
        std::memcpy(g + graph::carCoordinates, coords, sizeof(coords));
        // The packet ids last (AC gives no ordering guarantee; this stand-in at least publishes them with a barrier).
        InterlockedExchange(reinterpret_cast<volatile LONG*>(g + graph::packetId), LONG(packet));
        InterlockedExchange(reinterpret_cast<volatile LONG*>(p + phys::packetId), LONG(packet));
        ++packet;
        // Pace to the tick: sleep until this tick's time has come (Sleep(1) is ~1 ms with timeBeginPeriod).
        for (;;) {
            QueryPerformanceCounter(&now);
            if (double(now.QuadPart - t0.QuadPart) / double(freq.QuadPart) >= double(tick) * dt) break;
            Sleep(1);
        }
    }
}
