// An Assetto Corsa stand-in for wine/Windows, written with raw Win32 calls only (no project code),
// so that it exercises the project's reader the way the real game would:
//  1. starts the reader (win_ac_reader.exe, next to this program) before any page exists, as a
//     user who launches training before the game; the reader must report NotFound and must not
//     create the pages;
//  2. creates Local\acpmf_physics, _graphics and _static exactly as AC does (pagefile-backed
//     CreateFileMappingW, PAGE_READWRITE, the struct size) and requires that they did not exist
//     yet: a reader that had created them would have fixed their size (the trap AC readers fall in);
//  3. fills known values at the spec's byte offsets, then publishes live physics steps until the
//     reader exits, and checks the reader's exit code and that it changed nothing.
#include <windows.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ac_stand_in.hpp"
#include "check.hpp"

using namespace ac_stand_in;

namespace {

struct Mapping {
    HANDLE handle = nullptr;
    uint8_t* view = nullptr;
    DWORD create_error = 0;  // GetLastError() right after CreateFileMappingW
    ~Mapping() {
        if (view != nullptr) UnmapViewOfFile(view);
        if (handle != nullptr) CloseHandle(handle);
    }
};

void create_like_ac(Mapping& m, const wchar_t* name, uint32_t size) {
    m.handle = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, size, name);
    m.create_error = GetLastError();
    if (m.handle != nullptr) m.view = static_cast<uint8_t*>(MapViewOfFile(m.handle, FILE_MAP_ALL_ACCESS, 0, 0, size));
}

template <typename T> void put(uint8_t* page, std::size_t offset, const T& value) {
    std::memcpy(page + offset, &value, sizeof(T));
}
template <typename T, std::size_t N> void put_array(uint8_t* page, std::size_t offset, const T (&values)[N]) {
    std::memcpy(page + offset, values, sizeof(values));
}
void put_text(uint8_t* page, std::size_t offset, const wchar_t* text) {
    std::memcpy(page + offset, text, (std::wcslen(text) + 1) * sizeof(wchar_t));  // UTF-16 on Windows
}
// AC gives no ordering guarantee; this stand-in at least publishes the id with a full barrier.
void publish_packet_id(uint8_t* page, int32_t id) {
    InterlockedExchange(reinterpret_cast<volatile LONG*>(page + kOffPacketId), LONG(id));
}

void fill_physics(uint8_t* p) {
    put(p, kOffGas, kGas);
    put(p, kOffBrake, kBrake);
    put(p, kOffGear, kGear);
    put(p, kOffRpms, kRpms);
    put(p, kOffSteerAngle, kSteerAngle);
    put(p, kOffSpeedKmh, float(kLiveFirstPacketId - 1));
    put_array(p, kOffVelocity, kVelocity);
    put(p, kOffHeading, kHeading);
    put_array(p, kOffLocalVelocity, kLocalVelocity);
    put_array(p, kOffTyreTemp, kTyreTemp);
    publish_packet_id(p, kLiveFirstPacketId - 1);
}
void fill_graphics(uint8_t* g) {
    put(g, kOffStatus, kStatusLive);
    put_text(g, kOffCurrentTime, kCurrentTime);
    put(g, kOffCompletedLaps, kCompletedLaps);
    put(g, kOffNormalizedCarPosition, kNormalizedCarPosition);
    put_array(g, kOffCarCoordinates, kCarCoordinates);
    put(g, kOffWindDirection, kWindDirection);
    publish_packet_id(g, 1);
}
void fill_static(uint8_t* s) {
    put_text(s, kOffSmVersion, kSmVersion);
    put(s, kOffNumCars, kNumCars);
    put_text(s, kOffCarModel, kCarModel);
    put_text(s, kOffTrack, kTrack);
    put(s, kOffMaxRpm, kMaxRpm);
    put(s, kOffTrackSplineLength, kTrackSplineLength);
    put_text(s, kOffTrackConfiguration, kTrackConfiguration);
    put_text(s, kOffCarSkin, kCarSkin);
    put(s, kOffPitWindowEnd, kPitWindowEnd);
}

std::wstring reader_path() {
    wchar_t self[MAX_PATH];
    DWORD n = GetModuleFileNameW(nullptr, self, MAX_PATH);
    std::wstring path(self, n);
    return path.substr(0, path.find_last_of(L"\\/") + 1) + L"win_ac_reader.exe";
}

HANDLE make_event(const std::wstring& name) { return CreateEventW(nullptr, TRUE, FALSE, name.c_str()); }

}  // namespace

AC_TEST(reader_started_before_the_game_then_reads_live_pages) {
    const std::wstring base = L"Local\\acct_wine_" + std::to_wstring(GetCurrentProcessId());
    HANDLE missing_checked = make_event(base + kMissingCheckedSuffix);
    HANDLE pages_ready = make_event(base + kPagesReadySuffix);
    CHECK(missing_checked != nullptr && pages_ready != nullptr);

    // The reader inherits our stdout so its own test report appears in this program's output.
    std::fflush(stdout);
    STARTUPINFOW si{};
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi{};
    const std::wstring exe = reader_path();
    std::wstring cmdline = L"\"" + exe + L"\" --events " + base;
    const BOOL started = CreateProcessW(exe.c_str(), cmdline.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi);
    CHECK(started);
    if (!started) {
        std::printf("  CreateProcessW(%ls) failed: error %lu\n", exe.c_str(), GetLastError());
        return;
    }

    // Step 1: the reader looks for the pages before they exist.
    HANDLE wait_first[2] = {missing_checked, pi.hProcess};
    const DWORD first = WaitForMultipleObjects(2, wait_first, FALSE, 60000);
    CHECK_EQ(first, DWORD(WAIT_OBJECT_0));  // not the reader exiting early, not a timeout

    // Step 2: create the pages as AC does; none may exist yet (the reader is still running).
    Mapping physics, graphics, statics;
    create_like_ac(physics, L"Local\\acpmf_physics", kPhysicsBytes);
    create_like_ac(graphics, L"Local\\acpmf_graphics", kGraphicsBytes);
    create_like_ac(statics, L"Local\\acpmf_static", kStaticBytes);
    CHECK(physics.view != nullptr && graphics.view != nullptr && statics.view != nullptr);
    CHECK_EQ(physics.create_error, DWORD(ERROR_SUCCESS));
    CHECK_EQ(graphics.create_error, DWORD(ERROR_SUCCESS));
    CHECK_EQ(statics.create_error, DWORD(ERROR_SUCCESS));
    if (physics.view == nullptr || graphics.view == nullptr || statics.view == nullptr) {
        TerminateProcess(pi.hProcess, 99);
        return;
    }

    // Step 3: known values, then live physics steps until the reader is done.
    fill_physics(physics.view);
    fill_graphics(graphics.view);
    fill_static(statics.view);
    const std::vector<uint8_t> static_before(statics.view, statics.view + kStaticBytes);
    const std::vector<uint8_t> graphics_before(graphics.view, graphics.view + kGraphicsBytes);
    SetEvent(pages_ready);

    int32_t step = kLiveFirstPacketId;
    const DWORD give_up = GetTickCount() + 60000;
    while (WaitForSingleObject(pi.hProcess, 0) == WAIT_TIMEOUT && GetTickCount() < give_up) {
        put(physics.view, kOffSpeedKmh, float(step));
        publish_packet_id(physics.view, step);
        ++step;
        Sleep(1);  // ~AC's 333 Hz physics tick, as close as Sleep gets
    }
    const bool reader_exited = WaitForSingleObject(pi.hProcess, 5000) == WAIT_OBJECT_0;
    CHECK(reader_exited);
    if (!reader_exited) TerminateProcess(pi.hProcess, 98);
    DWORD reader_code = 12345;
    GetExitCodeProcess(pi.hProcess, &reader_code);
    CHECK_EQ(reader_code, DWORD(0));  // the reader's own checks all passed
    std::printf("  writer published %d live physics steps\n", step - kLiveFirstPacketId);

    // A reader opens the pages read-only: nothing it did may have changed them.
    CHECK(std::memcmp(static_before.data(), statics.view, kStaticBytes) == 0);
    CHECK(std::memcmp(graphics_before.data(), graphics.view, kGraphicsBytes) == 0);

    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    CloseHandle(missing_checked);
    CloseHandle(pages_ready);
}

AC_TEST_MAIN("wine_ac_writer")
