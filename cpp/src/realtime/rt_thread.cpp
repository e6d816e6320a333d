#include "ac_core/realtime/rt_thread.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#endif

namespace ac_core {

namespace {
void check_priority(int priority) {
    if (priority < 1 || priority > 99)
        throw std::invalid_argument("real-time priority must be in [1, 99], got " + std::to_string(priority));
}
}  // namespace

#ifdef _WIN32

RealtimeResult make_thread_realtime(int priority) {
    check_priority(priority);
    // timeBeginPeriod lives in winmm; looked up at run time so the library needs no extra link input.
    static const bool period_set = [] {
        HMODULE winmm = LoadLibraryW(L"winmm.dll");
        if (winmm == nullptr) return false;
        using TimeBeginPeriod = unsigned(__stdcall*)(unsigned);
        auto begin = reinterpret_cast<TimeBeginPeriod>(reinterpret_cast<void*>(GetProcAddress(winmm, "timeBeginPeriod")));
        return begin != nullptr && begin(1) == 0;
    }();
    if (!SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_TIME_CRITICAL))
        return {false, "SetThreadPriority(THREAD_PRIORITY_TIME_CRITICAL) failed, error " + std::to_string(GetLastError())};
    return {true, std::string("THREAD_PRIORITY_TIME_CRITICAL") + (period_set ? ", timeBeginPeriod(1)" : ", timeBeginPeriod failed")};
}

void make_thread_normal() noexcept { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_NORMAL); }

void fine_timer_slack() noexcept {}

RealtimeResult lock_process_memory() {
    return {false, "memory locking is not offered on Windows (VirtualLock needs a working-set size); skipped"};
}

void unlock_process_memory() noexcept {}

std::string thread_schedule() {
    const int p = GetThreadPriority(GetCurrentThread());
    return p == THREAD_PRIORITY_TIME_CRITICAL ? "TIME_CRITICAL" : "priority " + std::to_string(p);
}

#else

RealtimeResult make_thread_realtime(int priority) {
    check_priority(priority);
    sched_param param{};
    param.sched_priority = priority;
    const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
    if (err != 0)
        return {false, "SCHED_FIFO " + std::to_string(priority) + " not permitted (" + std::strerror(err) +
                           "): run as root, grant CAP_SYS_NICE (setcap cap_sys_nice+ep on the python binary) or raise "
                           "the rtprio limit (ulimit -r " + std::to_string(priority) + ", /etc/security/limits.conf)"};
    fine_timer_slack();
    return {true, "SCHED_FIFO " + std::to_string(priority)};
}

void make_thread_normal() noexcept {
    sched_param param{};
    param.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
}

void fine_timer_slack() noexcept {
#ifdef __linux__
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
}

RealtimeResult lock_process_memory() {
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        return {false, std::string("mlockall not permitted (") + std::strerror(errno) +
                           "): grant CAP_IPC_LOCK or raise the memlock limit (ulimit -l unlimited, "
                           "/etc/security/limits.conf)"};
    return {true, "mlockall(MCL_CURRENT | MCL_FUTURE)"};
}

void unlock_process_memory() noexcept { munlockall(); }

std::string thread_schedule() {
    int policy = 0;
    sched_param param{};
    if (pthread_getschedparam(pthread_self(), &policy, &param) != 0) return "unknown";
    if (policy == SCHED_FIFO) return "SCHED_FIFO " + std::to_string(param.sched_priority);
    if (policy == SCHED_RR) return "SCHED_RR " + std::to_string(param.sched_priority);
    return "SCHED_OTHER";
}

#endif

}  // namespace ac_core
