// The out-of-process half of the CSP heartbeat. CSP has no watchdog of its own: it keeps applying
// the last controls it read, so a trainer killed mid-lap (SIGKILL, a crash, the OOM killer) would
// leave the car at full throttle. A small watchdog process watches the session's heartbeat counter
// (in our controls page's trailer) and the session's pid; when the counter stops for `timeout_s` or
// the process is gone, it writes safe controls (throttle 0, brake, wheel centred) and returns the
// simulation to normal (unpaused, time scale 1), keeps them in place for `linger_s`, then detaches.
// A session that closes normally detaches its page first; the watchdog then just exits.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ac_core {

struct CspWatchdogOptions {
    std::string prefix;         // as the session's
    int car_index = 0;
    int sim_state_version = 1;
    uint32_t owner_pid = 0;     // 0: judge by the heartbeat alone
    double timeout_s = 0.5;     // heartbeat silent this long -> take over
    double poll_s = 0.02;
    double linger_s = 3.0;      // keep writing safe controls this long after taking over
    double attach_timeout_s = 10.0;  // wait this long for the session's controls page to appear
    float safe_brake = 1.0f;
};

enum class CspWatchdogOutcome { OwnerDetached, OwnerStopped, PageMissing, Stopped };
const char* csp_watchdog_outcome_name(CspWatchdogOutcome outcome) noexcept;

// Runs until one of the outcomes (or until *stop becomes true). Throws std::invalid_argument for bad
// options.
CspWatchdogOutcome run_csp_watchdog(const CspWatchdogOptions& options, const std::atomic<bool>* stop = nullptr);

// True if a process with this pid exists (POSIX kill(pid, 0); Windows OpenProcess + wait).
bool process_alive(uint32_t pid) noexcept;

}  // namespace ac_core
