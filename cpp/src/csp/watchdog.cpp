#include "ac_core/csp/watchdog.hpp"

#include <memory>
#include <stdexcept>

#include "ac_core/core/clock.hpp"
#include "ac_core/csp/page_io.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/core/word_copy.hpp"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <signal.h>

#include <cerrno>
#endif

namespace ac_core {

const char* csp_watchdog_outcome_name(CspWatchdogOutcome outcome) noexcept {
    switch (outcome) {
        case CspWatchdogOutcome::OwnerDetached: return "owner_detached";
        case CspWatchdogOutcome::OwnerStopped: return "owner_stopped";
        case CspWatchdogOutcome::PageMissing: return "page_missing";
        case CspWatchdogOutcome::Stopped: return "stopped";
    }
    return "?";
}

bool process_alive(uint32_t pid) noexcept {
    if (pid == 0) return false;
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, DWORD(pid));
    if (h == nullptr) return GetLastError() == ERROR_ACCESS_DENIED;  // exists, not ours to open
    const bool alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
#else
    return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
#endif
}

namespace {

bool stop_requested(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(std::memory_order_relaxed); }

void take_over(const CspWatchdogOptions& o, SharedPage& controls, const std::atomic<bool>* stop) {
    // Keep the session's buttons and assists; override what moves the car.
    CspCarControls c{};
    CspPageReader(controls.data(), controls.size(), CspPageKind::CarControls).read(&c);
    c.gas = 0.0f;
    c.brake = o.safe_brake;
    c.steer = 0.0f;
    c.clutch = 1.0f;
    c.handbrake = 0.0f;
    c.teleport_to = 0;
    CspPageWriter writer(controls.mutable_data(), controls.size(), CspPageKind::CarControls);
    const CspPageKind state_kind = o.sim_state_version == 1 ? CspPageKind::SimStateV1 : CspPageKind::SimStateV0;
    SharedPage state;
    try {
        state = SharedPage::open_existing(csp_page_name(state_kind, o.car_index, o.prefix), SharedPage::Access::ReadWrite);
    } catch (const std::exception&) {
        // No sim-state page (already gone): controls alone.
    }
    std::unique_ptr<CspPageWriter> state_writer;
    if (state.valid() && state.size() >= kCspOwnPageSize)
        state_writer = std::make_unique<CspPageWriter>(state.mutable_data(), state.size(), state_kind);
    const CspSimStateV1 normal{0, 0, 0, 0, 1.0f};
    const int64_t until = steady_now_ns() + s_to_ns(o.linger_s);
    do {
        writer.publish(&c);
        if (state_writer) state_writer->publish(&normal);  // v0 publishes its first 4 bytes
        sleep_ns(s_to_ns(o.poll_s));
    } while (steady_now_ns() < until && !stop_requested(stop));
    writer.detach();
    if (state_writer) state_writer->detach();
}

}  // namespace

CspWatchdogOutcome run_csp_watchdog(const CspWatchdogOptions& o, const std::atomic<bool>* stop) {
    if (!(o.timeout_s > 0) || !(o.poll_s > 0) || !(o.linger_s >= 0) || !(o.attach_timeout_s >= 0))
        throw std::invalid_argument("watchdog: timeout_s and poll_s must be > 0, linger_s and attach_timeout_s >= 0");
    if (o.sim_state_version != 0 && o.sim_state_version != 1)
        throw std::invalid_argument("watchdog: sim_state_version must be 0 or 1");
    const std::string name = csp_page_name(CspPageKind::CarControls, o.car_index, o.prefix);
    SharedPage controls;
    const int64_t attach_deadline = steady_now_ns() + s_to_ns(o.attach_timeout_s);
    while (!controls.valid()) {
        try {
            controls = SharedPage::open_existing(name, SharedPage::Access::ReadWrite);
        } catch (const SharedPageError&) {
            if (steady_now_ns() > attach_deadline) return CspWatchdogOutcome::PageMissing;
            if (stop_requested(stop)) return CspWatchdogOutcome::Stopped;
            sleep_ns(s_to_ns(o.poll_s));
        }
    }
    if (controls.size() < kCspOwnPageSize) return CspWatchdogOutcome::PageMissing;  // not a session's page
    const auto* trailer = reinterpret_cast<const CspTrailer*>(controls.data() + kCspTrailerOffset);
    uint32_t last_beat = load_word_acquire(&trailer->heartbeat);
    int64_t last_change = steady_now_ns();
    const int64_t timeout_ns = s_to_ns(o.timeout_s);
    for (;;) {
        if (stop_requested(stop)) return CspWatchdogOutcome::Stopped;
        if (load_word_acquire(&trailer->magic) != kCspTrailerMagic) return CspWatchdogOutcome::OwnerDetached;
        const uint32_t beat = load_word_acquire(&trailer->heartbeat);
        const int64_t now = steady_now_ns();
        if (beat != last_beat) {
            last_beat = beat;
            last_change = now;
        }
        const bool owner_gone = o.owner_pid != 0 && !process_alive(o.owner_pid);
        if (owner_gone || now - last_change > timeout_ns) {
            take_over(o, controls, stop);
            return CspWatchdogOutcome::OwnerStopped;
        }
        sleep_ns(s_to_ns(o.poll_s));
    }
}

}  // namespace ac_core
