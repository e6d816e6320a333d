#include "ac_core/core/clock.hpp"

#include <thread>

#if defined(_MSC_VER)
#include <intrin.h>
#endif

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002  // Windows 10 1803+; older mingw headers lack it
#endif
#endif

namespace ac_core {

namespace {
#ifdef _WIN32
// std::this_thread::sleep_for is Sleep() on Windows: whole milliseconds, rounded up to the system
// timer resolution (15.6 ms by default). A high-resolution waitable timer (Windows 10 1803+) wakes
// within about 0.5 ms; older systems fall back to an ordinary waitable timer. One per thread.
struct ThreadTimer {
    HANDLE handle = CreateWaitableTimerExW(nullptr, nullptr, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
    ThreadTimer() {
        if (handle == nullptr) handle = CreateWaitableTimerExW(nullptr, nullptr, 0, TIMER_ALL_ACCESS);
    }
    ~ThreadTimer() {
        if (handle != nullptr) CloseHandle(handle);
    }
};
void os_sleep_ns(int64_t ns) noexcept {
    thread_local ThreadTimer timer;
    LARGE_INTEGER due;
    due.QuadPart = -(ns / 100);  // negative: relative, in 100 ns units
    if (due.QuadPart == 0) return;
    if (timer.handle != nullptr && SetWaitableTimer(timer.handle, &due, 0, nullptr, nullptr, FALSE)) {
        WaitForSingleObject(timer.handle, INFINITE);
    } else {
        Sleep(DWORD(ns / 1000000));
    }
}
#else
void os_sleep_ns(int64_t ns) noexcept { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }
#endif
}  // namespace

void sleep_ns(int64_t ns) noexcept {
    if (ns > 0) os_sleep_ns(ns);
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

int64_t sleep_then_spin_until(int64_t deadline_ns, int64_t spin_ns) noexcept {
    int64_t now = steady_now_ns();
    const int64_t sleep_until_ns = deadline_ns - (spin_ns > 0 ? spin_ns : 0);
    if (now < sleep_until_ns) {
        os_sleep_ns(sleep_until_ns - now);
        now = steady_now_ns();
    }
    while (now < deadline_ns) {
        cpu_relax();
        now = steady_now_ns();
    }
    return now;
}

}  // namespace ac_core
