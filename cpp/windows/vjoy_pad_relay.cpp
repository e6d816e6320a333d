// vjoy_pad_relay.exe: the vJoy feeder of the wine launch tests. ac_core's Python runs on Linux there, so
// its controls cannot call a Windows DLL; it writes the pad page (feeder "pad", /dev/shm/<prefix>pad)
// and this program, under wine, forwards every new pad write to vJoy through the project's VJoyFeeder and
// the fake vJoyInterface.dll beside it, whose device state the stand-in acs.exe reads through
// controls.ini. The controls thus take the game's own path from the vJoy API on.
//
//   vjoy_pad_relay.exe <pad page file, e.g. Z:\dev\shm\run1_pad> [seconds to run, default: until killed]
//
// The pad page is re-opened every quarter second (each environment creates it anew); without one the
// device is held at rest (wheel centred, pedals up).
#include <windows.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "ac_core/controls/pad.hpp"
#include "ac_core/controls/vjoy.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"

namespace {

std::string dll_beside_me() {
    char self[MAX_PATH];
    DWORD n = GetModuleFileNameA(nullptr, self, MAX_PATH);
    std::string path(self, n);
    return path.substr(0, path.find_last_of("\\/") + 1) + "vJoyInterface.dll";
}

struct PadFile {
    HANDLE file = INVALID_HANDLE_VALUE, mapping = nullptr;
    uint8_t* view = nullptr;
    std::unique_ptr<ac_core::PadReader> reader;

    void close() {
        reader.reset();
        if (view != nullptr) UnmapViewOfFile(view);
        if (mapping != nullptr) CloseHandle(mapping);
        if (file != INVALID_HANDLE_VALUE) CloseHandle(file);
        view = nullptr;
        mapping = nullptr;
        file = INVALID_HANDLE_VALUE;
    }
    bool open(const std::wstring& path) {
        close();
        file = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (file == INVALID_HANDLE_VALUE) return false;
        LARGE_INTEGER size;
        if (!GetFileSizeEx(file, &size) || size.QuadPart < LONGLONG(sizeof(ac_core::PadPage))) {
            close();
            return false;
        }
        mapping = CreateFileMappingW(file, nullptr, PAGE_READWRITE, 0, 0, nullptr);
        if (mapping != nullptr) view = static_cast<uint8_t*>(MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0));
        if (view == nullptr) {
            close();
            return false;
        }
        reader = std::make_unique<ac_core::PadReader>(view, std::size_t(size.QuadPart));
        return true;
    }
    ~PadFile() { close(); }
};

}  // namespace

int wmain(int argc, wchar_t** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: vjoy_pad_relay.exe <pad page file> [seconds]\n");
        return 2;
    }
    const std::wstring pad_path = argv[1];
    const double run_s = argc > 2 ? _wtof(argv[2]) : 0.0;
    std::shared_ptr<ac_core::VJoyLibrary> lib;
    std::unique_ptr<ac_core::VJoyFeeder> feeder;
    try {
        lib = ac_core::VJoyLibrary::load(dll_beside_me());
        feeder = std::make_unique<ac_core::VJoyFeeder>(lib->api(), 1, ac_core::VJoyAxisMap{}, lib);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vjoy_pad_relay: %s\n", e.what());
        return 1;
    }
    std::printf("vjoy_pad_relay: relaying %ls to vJoy device 1\n", pad_path.c_str());
    std::fflush(stdout);
    PadFile pad;
    uint32_t last_sequence = 0;
    uint64_t relayed = 0;
    const auto start = std::chrono::steady_clock::now();
    auto next_open = start;
    feeder->write(ac_core::ControlInput{});
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (run_s > 0 && std::chrono::duration<double>(now - start).count() > run_s) break;
        if (now >= next_open) {
            next_open = now + std::chrono::milliseconds(250);
            if (!pad.open(pad_path)) {
                if (last_sequence != 0) feeder->write(ac_core::ControlInput{});  // no pad: at rest
                last_sequence = 0;
            }
        }
        ac_core::PadSnapshot snap;
        if (pad.reader && pad.reader->read(snap) == ac_core::PadReadStatus::Ok && snap.sequence != last_sequence) {
            last_sequence = snap.sequence;
            ac_core::ControlInput c;
            c.steer = snap.controls.steer;
            c.throttle = snap.controls.throttle;
            c.brake = snap.controls.brake;
            c.clutch = snap.controls.clutch;
            c.buttons = snap.controls.buttons;
            try {
                feeder->write(c);
                ++relayed;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "vjoy_pad_relay: %s\n", e.what());
            }
        }
        Sleep(1);
    }
    std::printf("vjoy_pad_relay: relayed %llu pad writes\n", static_cast<unsigned long long>(relayed));
    return 0;
}
