// What the OS offers a real-time thread, asked for explicitly (never by default: each needs the
// user's permission, and a real-time thread that spins can starve the rest of the machine).
//
// Linux: SCHED_FIFO at `priority` (1..99) for the calling thread — a runnable FIFO thread preempts
// every normal (CFS) thread at once, so a busy machine no longer delays its wake-ups by a time slice;
// it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO >= priority (`ulimit -r`, /etc/security/limits.conf).
// mlockall(MCL_CURRENT | MCL_FUTURE) keeps the process's pages in RAM (no page fault in a hot loop);
// it needs CAP_IPC_LOCK or RLIMIT_MEMLOCK (`ulimit -l`) above the process size.
// Every thread also gets a 1 ns timer slack (PR_SET_TIMERSLACK): the default 50 µs is added to each
// sleep of a normal thread, a sixth of a physics period at time scale 10. No permission needed.
//
// Windows: THREAD_PRIORITY_TIME_CRITICAL for the calling thread (priority 15 within a normal process:
// above every normal thread; no privilege needed), timeBeginPeriod(1) for the process (1 ms scheduler
// tick instead of 15.6 ms: wake-ups from every wait are finer) and, already in sleep_ns, a
// high-resolution waitable timer. Memory locking is not offered there (VirtualLock needs a working-set
// size the caller would have to guess); lock_process_memory says so.
#pragma once

#include <string>

namespace ac_core {

struct RealtimeResult {
    bool ok = false;
    std::string detail;  // what was done, or why not and how to allow it
};

// The calling thread: SCHED_FIFO `priority` (Linux) / TIME_CRITICAL + 1 ms timer period (Windows).
// priority must be in [1, 99].
RealtimeResult make_thread_realtime(int priority);

// The calling thread back to the normal scheduler (SCHED_OTHER / THREAD_PRIORITY_NORMAL).
void make_thread_normal() noexcept;

// The calling thread's timer slack to 1 ns (Linux; no-op elsewhere). Always allowed.
void fine_timer_slack() noexcept;

// mlockall(MCL_CURRENT | MCL_FUTURE) (Linux); not offered on Windows.
RealtimeResult lock_process_memory();

// Undo lock_process_memory (munlockall); no-op elsewhere.
void unlock_process_memory() noexcept;

// The calling thread's scheduling policy in words ("SCHED_FIFO 20", "SCHED_OTHER", "TIME_CRITICAL").
std::string thread_schedule();

}  // namespace ac_core
