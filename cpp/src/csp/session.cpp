#include "ac_core/csp/session.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ac_core/core/clock.hpp"

namespace ac_core {

namespace {

constexpr double kPhysicsHz = 333.0;
constexpr int64_t kMinSettleNs = 200'000;      // never call a page "still" after less than this
constexpr int64_t kMaxSleepSliceNs = 2'000'000;
constexpr uint32_t kReleaseTicks = 1;          // ticks a released button/teleport stays visible

const CspFieldInfo* find_control(const std::string& field) {
    for (const auto& f : kCspControlsFields)
        if (field == f.name && (f.type == CspFieldType::Bool8 || f.type == CspFieldType::UInt8)) return &f;
    return nullptr;
}

bool is_button(const CspFieldInfo& f) {
    const std::string n = f.name;
    return f.type == CspFieldType::Bool8 && n != "headlights" && n.rfind("auto", 0) != 0;
}

std::string one_byte_control_names() {
    std::string out;
    for (const auto& f : kCspControlsFields)
        if ((f.type == CspFieldType::Bool8 || f.type == CspFieldType::UInt8) && std::string(f.name) != "teleport_to")
            out += std::string(out.empty() ? "" : ", ") + f.name;
    return out;
}

float clamp_checked(float v, float lo, float hi, const char* name) {
    if (!std::isfinite(v))
        throw CspError(CspError::Code::BadArgument, std::string("CSP control '") + name + "' is " +
                                                        (std::isnan(v) ? "NaN" : "infinite") +
                                                        ": refusing to send it; check the policy output (nothing was written)");
    return std::clamp(v, lo, hi);
}

}  // namespace

CspSession::CspSession(CspSessionOptions options) : options_(std::move(options)) {
    if (options_.sim_state_version != 0 && options_.sim_state_version != 1)
        throw CspError(CspError::Code::BadArgument, "sim_state_version must be 0 (SimState.v0, CSP < 0.2.8) or 1 "
                                                    "(SimState.v1 with time_scale, CSP >= 0.2.8), got " +
                                                        std::to_string(options_.sim_state_version));
    if (options_.car_index < 0)
        throw CspError(CspError::Code::BadArgument,
                       "car_index must be >= 0 (0 = the player's car), got " + std::to_string(options_.car_index));
    if (!(options_.heartbeat_interval_s > 0) || !(options_.stall_timeout_s > options_.heartbeat_interval_s))
        throw CspError(CspError::Code::BadArgument,
                       "heartbeat_interval_s must be > 0 and stall_timeout_s longer than it");
    if (!(options_.safe_brake >= 0.0f && options_.safe_brake <= 1.0f))
        throw CspError(CspError::Code::BadArgument, "safe_brake must be within 0..1");
    if (!(options_.settle_ticks >= 0.0)) throw CspError(CspError::Code::BadArgument, "settle_ticks must be >= 0");

    // The sim state first (running, time scale 1), so that CSP finds it as soon as it takes the car.
    const CspPageKind state_kind = options_.sim_state_version == 1 ? CspPageKind::SimStateV1 : CspPageKind::SimStateV0;
    sim_state_page_ = SharedPage::create(page_name(state_kind), kCspOwnPageSize, 0600, options_.replace_stale);
    sim_state_writer_ = std::make_unique<CspPageWriter>(sim_state_page_.mutable_data(), sim_state_page_.size(), state_kind);
    sim_state_.time_scale = 1.0f;

    controls_page_ = SharedPage::create(page_name(CspPageKind::CarControls), kCspOwnPageSize, 0600, options_.replace_stale);
    controls_writer_ = std::make_unique<CspPageWriter>(controls_page_.mutable_data(), controls_page_.size(),
                                                       CspPageKind::CarControls);
    page_controls_.autoshift_active = options_.autoshift ? 1 : 0;
    page_controls_.autoclutch_on_start = options_.autoclutch ? 1 : 0;
    page_controls_.autoclutch_on_change = options_.autoclutch ? 1 : 0;
    page_controls_.autoblip_active = options_.autoblip ? 1 : 0;
    staged_.brake = options_.safe_brake;  // until the caller says otherwise, the car brakes
    {
        std::lock_guard<std::mutex> lk(mu_);
        publish_sim_state_locked();
        publish_controls_locked(false);
    }
    touch();
    heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
}

CspSession::~CspSession() { close(); }

std::string CspSession::page_name(CspPageKind kind) const {
    return csp_page_name(kind, options_.car_index, options_.prefix);
}

void CspSession::touch() noexcept { last_activity_ns_.store(steady_now_ns(), std::memory_order_relaxed); }

void CspSession::require_open() const {
    if (closed()) throw CspError(CspError::Code::Closed, "the CSP session is closed; create a new CspSession");
}

void CspSession::require_car() const {
    require_open();
    if (!car_page_.valid())
        throw CspError(CspError::Code::CarNotFound, "no car page yet: call wait_for_car() first");
}

// ---- pages ---------------------------------------------------------------------------------------

void CspSession::publish_controls_locked(bool safe) {
    CspCarControls c = page_controls_;
    if (safe) {
        c.gas = 0.0f;
        c.brake = options_.safe_brake;
        c.steer = 0.0f;
        c.clutch = 1.0f;
        c.handbrake = 0.0f;
    } else {
        c.gas = staged_.gas;
        c.brake = staged_.brake;
        c.steer = staged_.steer;
        c.clutch = staged_.clutch;
        c.handbrake = staged_.handbrake;
    }
    controls_writer_->publish(&c);
    safe_in_page_ = safe;
    stats_.control_writes++;
}

void CspSession::publish_sim_state_locked() {
    if (options_.sim_state_version == 1) {
        sim_state_writer_->publish(&sim_state_);
    } else {
        CspSimStateV0 v0{sim_state_.pause, sim_state_.restart_session, sim_state_.disable_collisions,
                         sim_state_.extra_sleep_ms};
        sim_state_writer_->publish(&v0);
    }
}

bool CspSession::car_present() const { return SharedPage::exists(page_name(CspPageKind::Car)); }

void CspSession::wait_for_car(double timeout_s) {
    require_open();
    touch();
    const std::string name = page_name(CspPageKind::Car);
    const int64_t deadline = steady_now_ns() + s_to_ns(std::max(0.0, timeout_s));
    for (;;) {
        if (SharedPage::exists(name)) {
            SharedPage page;
            try {
                page = SharedPage::open_existing(name);
            } catch (const SharedPageError& e) {
                // Created but not yet sized by its writer (0 bytes for an instant): wait on.
                if (e.code() != SharedPageError::Code::TooSmall || steady_now_ns() >= deadline) throw;
                sleep_ns(1'000'000);
                continue;
            }
            if (page.size() < kCspCarSize)
                throw CspError(CspError::Code::CarNotFound,
                               "'" + SharedPage::os_name(name) + "' has " + std::to_string(page.size()) +
                                   " bytes, fewer than CSP's " + std::to_string(kCspCarSize) +
                                   "-byte car page: it was not created by CSP (or by an older CSP than 0.1.79)");
            car_page_ = std::move(page);
            rt_started_ = false;
            return;
        }
        if (steady_now_ns() >= deadline) break;
        sleep_ns(20'000'000);
        touch();
    }
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", timeout_s);
    throw CspError(
        CspError::Code::CarNotFound,
        "CSP did not create '" + SharedPage::os_name(name) + "' within " + seconds + " s of '" +
            SharedPage::os_name(page_name(CspPageKind::CarControls)) +
            "' appearing. CSP creates it when it takes car " + std::to_string(options_.car_index) +
            " over, and does not when: (1) Custom AI is disabled: set [CUSTOM_AI] ENABLED=1 in "
            "extension/config/new_behaviour.ini (or Documents/Assetto Corsa/cfg/extension/new_behaviour.ini) and "
            "enable the New Behaviour module in Content Manager's CSP settings; (2) the track does not allow it: add "
            "[_EXTRA_PERMISSIONS] ALLOW_CUSTOM_AI_MANIPULATION=1 to the track's data/surfaces.ini (extended physics, "
            "[SURFACE_0] WAV_PITCH=extended-0) and restart the session; (3) the car cannot be controlled (a remote "
            "car online, or no car with this index). Also start only once the session is live and has settled.");
}

CspReadResult CspSession::read_car(CspCarData& out) {
    require_car();
    CspPageReader reader(car_page_.data(), car_page_.size(), CspPageKind::Car);
    CspReadResult r = reader.read(&out);
    // A writer descheduled mid-write (a loaded machine) fails every tight retry: let it finish.
    for (int round = 0; !r.ok && round < 5; ++round) {
        sleep_ns(500'000);
        const uint32_t before = r.retries;
        r = reader.read(&out);
        r.retries += before;
    }
    if (r.retries) {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.read_retries += r.retries;
    }
    return r;
}

int32_t CspSession::packet_id() const {
    require_car();
    return CspPageReader(car_page_.data(), car_page_.size(), CspPageKind::Car).packet_id();
}

// ---- controls ------------------------------------------------------------------------------------

void CspSession::write_drive(const CspDrive& d) {
    require_open();
    CspDrive clean;
    clean.steer = clamp_checked(d.steer, -1.0f, 1.0f, "steer");
    clean.gas = clamp_checked(d.gas, 0.0f, 1.0f, "gas");
    clean.brake = clamp_checked(d.brake, 0.0f, 1.0f, "brake");
    clean.clutch = clamp_checked(d.clutch, 0.0f, 1.0f, "clutch");
    clean.handbrake = clamp_checked(d.handbrake, 0.0f, 1.0f, "handbrake");
    touch();
    std::lock_guard<std::mutex> lk(mu_);
    staged_ = clean;
    // While paused the page keeps the safe controls; resuming writes these.
    if (!sim_state_.pause) publish_controls_locked(false);
}

CspDrive CspSession::staged_drive() const {
    std::lock_guard<std::mutex> lk(mu_);
    return staged_;
}

void CspSession::set_control_byte(const std::string& field, uint8_t value) {
    require_open();
    const CspFieldInfo* f = find_control(field);
    if (f == nullptr || field == "teleport_to")
        throw CspError(CspError::Code::BadArgument,
                       "'" + field + "' is not a one-byte CSP control; valid: " + one_byte_control_names() +
                           " (teleports go through teleport()/teleport_to_pits())");
    if (f->type == CspFieldType::Bool8 && value > 1)
        throw CspError(CspError::Code::BadArgument, "'" + field + "' is a CSP bool: 0 or 1, got " + std::to_string(value));
    touch();
    std::lock_guard<std::mutex> lk(mu_);
    reinterpret_cast<uint8_t*>(&page_controls_)[f->offset] = value;
    publish_controls_locked(safe_in_page_);
}

uint8_t CspSession::control_byte(const std::string& field) const {
    const CspFieldInfo* f = find_control(field);
    if (f == nullptr) throw CspError(CspError::Code::BadArgument, "'" + field + "' is not a one-byte CSP control");
    std::lock_guard<std::mutex> lk(mu_);
    return reinterpret_cast<const uint8_t*>(&page_controls_)[f->offset];
}

std::vector<std::string> CspSession::button_names() {
    std::vector<std::string> out;
    for (const auto& f : kCspControlsFields)
        if (is_button(f)) out.emplace_back(f.name);
    return out;
}

CspStepResult CspSession::press_button(const std::string& field, uint32_t hold_ticks, double timeout_s) {
    const CspFieldInfo* f = find_control(field);
    if (f == nullptr || !is_button(*f)) {
        std::string valid;
        for (const auto& n : button_names()) valid += (valid.empty() ? "" : ", ") + n;
        throw CspError(CspError::Code::BadArgument, "'" + field + "' is not a CSP button; valid: " + valid);
    }
    if (hold_ticks == 0) throw CspError(CspError::Code::BadArgument, "hold_ticks must be >= 1");
    require_car();
    // CSP does not say whether buttons act on the edge or while held: hold for a few physics ticks,
    // then release for at least one more, so the next press is a new edge either way.
    set_control_byte(field, 1);
    CspStepResult held = run_ticks_with_controls(hold_ticks, timeout_s, "holding a CSP button");
    set_control_byte(field, 0);
    CspStepResult released = run_ticks_with_controls(kReleaseTicks, timeout_s, "releasing a CSP button");
    {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.button_presses++;
    }
    released.ticks += held.ticks;
    released.wall_s += held.wall_s;
    return released;
}

// ---- waiting on packet_id ------------------------------------------------------------------------

int64_t CspSession::tick_period_ns() const {
    const double scale = options_.sim_state_version == 1 ? std::max(1e-3, double(time_scale())) : 1.0;
    return int64_t(1e9 / kPhysicsHz / scale);
}

int32_t CspSession::wait_packet_at_least(int32_t target, double timeout_s, const char* what) {
    const int64_t period = tick_period_ns();
    const int64_t timeout_ns = s_to_ns(timeout_s);
    int32_t last = packet_id();
    int64_t last_change = steady_now_ns();
    int64_t spin_start = 0;
    for (;;) {
        const int32_t p = packet_id();
        if (int64_t(p) - int64_t(target) >= 0) return p;
        const int64_t now = steady_now_ns();
        if (p != last) {
            last = p;
            last_change = now;
            spin_start = 0;
            touch();
        } else if (now - last_change > timeout_ns) {
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%.1f", timeout_s);
            throw CspError(CspError::Code::GameStopped,
                           std::string("no new physics tick on '") + SharedPage::os_name(page_name(CspPageKind::Car)) +
                               "' for " + seconds + " s while " + what + " (packet_id stays " + std::to_string(p) +
                               "): the game stopped, crashed, is paused by the user or in a menu; restart the "
                               "session and the environment");
        }
        const int64_t remaining = int64_t(target) - int64_t(p);
        if (remaining > 1) {
            // Sleep through most of the ticks still to come; spin for the last one so that a pause
            // written right after it lands before CSP's next tick.
            sleep_ns(std::min(period * (remaining - 1) / 2, kMaxSleepSliceNs));
        } else if (spin_start == 0) {
            spin_start = now;
        } else if (now - spin_start > 4 * period) {
            sleep_ns(50'000);  // the tick is overdue (a loaded machine, a slow frame): stop burning a core
        } else {
            cpu_relax();
        }
    }
}

int32_t CspSession::wait_still(int64_t still_ns, double timeout_s, const char* what) {
    const int64_t start = steady_now_ns();
    int32_t p = packet_id();
    int64_t since = start;
    for (;;) {
        const int32_t q = packet_id();
        const int64_t now = steady_now_ns();
        if (q != p) {
            p = q;
            since = now;
        } else if (now - since >= still_ns) {
            return p;
        }
        if (now - start > s_to_ns(timeout_s)) {
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%.1f", timeout_s);
            throw CspError(CspError::Code::GameStopped,
                           std::string("physics kept running for ") + seconds + " s after pausing, while " + what +
                               ": CSP does not read '" + SharedPage::os_name(sim_state_page_.name()) +
                               "' (SimState.v1 needs CSP >= 0.2.8: try sim_state_version 0)");
        }
        sleep_ns(std::min<int64_t>(still_ns / 4, 100'000));
    }
}

CspStepResult CspSession::run_ticks_with_controls(uint32_t ticks, double timeout_s, const char* what) {
    const int64_t t0 = steady_now_ns();
    const bool was_paused = paused();
    const int32_t p0 = packet_id();
    if (was_paused) set_paused(false);
    const int32_t reached = wait_packet_at_least(int32_t(int64_t(p0) + ticks), timeout_s, what);
    int32_t end = reached;
    if (was_paused) {
        set_paused(true);
        end = wait_still(std::max(kMinSettleNs, int64_t(options_.settle_ticks * double(tick_period_ns()))), timeout_s, what);
    }
    rt_started_ = false;
    touch();
    return CspStepResult{end, uint32_t(int64_t(end) - int64_t(p0)), ns_to_s(steady_now_ns() - t0)};
}

// ---- teleports -----------------------------------------------------------------------------------

CspStepResult CspSession::do_teleport(CspTeleport mode, const float* position, const float* direction,
                                      double timeout_s, double tolerance_m) {
    require_car();
    const int64_t t0 = steady_now_ns();
    {
        std::lock_guard<std::mutex> lk(mu_);
        // Arrive at rest and braking, whatever the caller was doing.
        staged_ = CspDrive{0.0f, 0.0f, options_.safe_brake, 1.0f, 0.0f};
        page_controls_.teleport_to = uint8_t(mode);
        if (mode == CspTeleport::Position) {
            std::memcpy(page_controls_.teleport_pos, position, sizeof page_controls_.teleport_pos);
            std::memcpy(page_controls_.teleport_dir, direction, sizeof page_controls_.teleport_dir);
        }
        publish_controls_locked(safe_in_page_);
    }
    touch();
    const bool was_paused = paused();
    // CSP applies teleports in its physics update, which does not run while paused [INF].
    if (was_paused) set_paused(false);
    const int32_t p0 = packet_id();
    std::string failure;
    try {
        wait_packet_at_least(int32_t(int64_t(p0) + options_.teleport_hold_ticks), timeout_s, "teleporting the car");
        if (mode == CspTeleport::Position) {
            const int64_t deadline = steady_now_ns() + s_to_ns(timeout_s);
            CspCarData car{};
            for (;;) {
                if (!read_car(car).ok) continue;  // torn under load: copy again
                const double dx = double(car.position[0]) - position[0];
                const double dz = double(car.position[2]) - position[2];
                const double off = std::sqrt(dx * dx + dz * dz);
                if (off <= tolerance_m) break;
                if (steady_now_ns() > deadline) {
                    char buf[256];
                    std::snprintf(buf, sizeof buf,
                                  "CSP did not move car %d to (%.1f, %.1f, %.1f) within %.1f s (it is %.1f m away at "
                                  "(%.1f, %.1f, %.1f))",
                                  options_.car_index, double(position[0]), double(position[1]), double(position[2]),
                                  timeout_s, off, double(car.position[0]), double(car.position[1]),
                                  double(car.position[2]));
                    failure = std::string(buf) +
                              ": teleports need CSP >= 0.1.79 with Custom AI allowed on the track; check that the "
                              "position is on this track (world coordinates of its fast_lane.ai)";
                    break;
                }
                wait_packet_at_least(car.packet_id + 1, timeout_s, "waiting for the teleported car");
            }
        }
    } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        page_controls_.teleport_to = uint8_t(CspTeleport::None);
        publish_controls_locked(safe_in_page_);
        if (was_paused) {
            sim_state_.pause = 1;
            publish_sim_state_locked();
            publish_controls_locked(true);
        }
        throw;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        page_controls_.teleport_to = uint8_t(CspTeleport::None);
        publish_controls_locked(safe_in_page_);
        stats_.teleports++;
    }
    int32_t end = wait_packet_at_least(int32_t(int64_t(packet_id()) + kReleaseTicks), timeout_s, "releasing a teleport");
    if (was_paused) {
        set_paused(true);
        end = wait_still(std::max(kMinSettleNs, int64_t(options_.settle_ticks * double(tick_period_ns()))), timeout_s,
                         "pausing after a teleport");
    }
    rt_started_ = false;
    touch();
    if (!failure.empty()) throw CspError(CspError::Code::NotMoved, failure);
    return CspStepResult{end, uint32_t(int64_t(end) - int64_t(p0)), ns_to_s(steady_now_ns() - t0)};
}

CspStepResult CspSession::teleport_to_pits(double timeout_s) {
    return do_teleport(CspTeleport::Pits, nullptr, nullptr, timeout_s, 0.0);
}

CspStepResult CspSession::teleport(const float position[3], const float direction[3], double timeout_s,
                                   double tolerance_m) {
    for (int i = 0; i < 3; ++i)
        if (!std::isfinite(position[i]) || !std::isfinite(direction[i]))
            throw CspError(CspError::Code::BadArgument, "teleport position and direction must be finite");
    const double norm = std::sqrt(double(direction[0]) * direction[0] + double(direction[1]) * direction[1] +
                                  double(direction[2]) * direction[2]);
    if (norm < 1e-6)
        throw CspError(CspError::Code::BadArgument,
                       "teleport direction is the zero vector: give the way the car should face, e.g. (sin h, 0, cos h)");
    if (!(tolerance_m > 0)) throw CspError(CspError::Code::BadArgument, "teleport tolerance_m must be > 0");
    const float unit[3] = {float(direction[0] / norm), float(direction[1] / norm), float(direction[2] / norm)};
    return do_teleport(CspTeleport::Position, position, unit, timeout_s, tolerance_m);
}

// ---- the simulation ------------------------------------------------------------------------------

void CspSession::set_paused(bool pause) {
    require_open();
    touch();
    std::lock_guard<std::mutex> lk(mu_);
    if (pause) {
        sim_state_.pause = 1;
        publish_sim_state_locked();
        publish_controls_locked(true);  // a process that dies while paused leaves the car braking
    } else {
        publish_controls_locked(false);  // the caller's controls are in place before physics runs
        sim_state_.pause = 0;
        publish_sim_state_locked();
    }
    rt_started_ = false;
}

bool CspSession::paused() const {
    std::lock_guard<std::mutex> lk(mu_);
    return sim_state_.pause != 0;
}

void CspSession::set_time_scale(float scale) {
    require_open();
    if (options_.sim_state_version != 1)
        throw CspError(CspError::Code::BadArgument,
                       "time_scale needs SimState.v1 (CSP >= 0.2.8): create the session with sim_state_version 1");
    if (!std::isfinite(scale) || !(scale > 0.0f))
        throw CspError(CspError::Code::BadArgument, "time_scale must be a positive number (1 = real time), got " +
                                                        std::to_string(scale));
    std::lock_guard<std::mutex> lk(mu_);
    sim_state_.time_scale = scale;
    publish_sim_state_locked();
    rt_started_ = false;
}

float CspSession::time_scale() const {
    std::lock_guard<std::mutex> lk(mu_);
    return sim_state_.time_scale;
}

void CspSession::set_extra_sleep_ms(int ms) {
    require_open();
    if (ms < 0 || ms > 255)
        throw CspError(CspError::Code::BadArgument, "extra_sleep_ms must be 0..255 (one byte), got " + std::to_string(ms));
    std::lock_guard<std::mutex> lk(mu_);
    sim_state_.extra_sleep_ms = uint8_t(ms);
    publish_sim_state_locked();
}

void CspSession::set_disable_collisions(bool disable) {
    require_open();
    std::lock_guard<std::mutex> lk(mu_);
    sim_state_.disable_collisions = disable ? 1 : 0;
    publish_sim_state_locked();
}

void CspSession::set_restart_session(bool restart) {
    require_open();
    std::lock_guard<std::mutex> lk(mu_);
    sim_state_.restart_session = restart ? 1 : 0;
    publish_sim_state_locked();
}

// ---- stepping ------------------------------------------------------------------------------------

CspStepResult CspSession::step_paused(uint32_t ticks, double timeout_s) {
    require_car();
    if (ticks == 0) throw CspError(CspError::Code::BadArgument, "step_paused needs ticks >= 1");
    const int64_t t0 = steady_now_ns();
    const int64_t settle = std::max(kMinSettleNs, int64_t(options_.settle_ticks * double(tick_period_ns())));
    if (!paused()) {
        set_paused(true);
        wait_still(settle, timeout_s, "pausing before a step");
    }
    const int32_t p0 = packet_id();
    set_paused(false);
    const int32_t target = int32_t(int64_t(p0) + ticks);
    wait_packet_at_least(target, timeout_s, "stepping");
    set_paused(true);
    const int32_t end = wait_still(settle, timeout_s, "pausing after a step");
    const uint32_t ran = uint32_t(int64_t(end) - int64_t(p0));
    {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.steps++;
        stats_.ticks += ran;
        stats_.overshoot_ticks += ran > ticks ? ran - ticks : 0;
    }
    touch();
    return CspStepResult{end, ran, ns_to_s(steady_now_ns() - t0)};
}

CspStepResult CspSession::wait_ticks(uint32_t ticks, double timeout_s) {
    require_car();
    if (ticks == 0) throw CspError(CspError::Code::BadArgument, "wait_ticks needs ticks >= 1");
    if (paused())
        throw CspError(CspError::Code::BadArgument,
                       "wait_ticks runs in real time but the simulation is paused: use step_paused, or set_paused(false)");
    touch();
    const int64_t t0 = steady_now_ns();
    const int32_t now_packet = packet_id();
    if (!rt_started_) {
        rt_target_ = rt_last_ = now_packet;
        rt_started_ = true;
    }
    rt_target_ = int32_t(int64_t(rt_target_) + ticks);
    int32_t end;
    bool late = false;
    if (int64_t(now_packet) - int64_t(rt_target_) >= 0) {
        // The caller took longer than the step: start the chain again from here, no catch-up burst.
        end = now_packet;
        rt_target_ = now_packet;
        late = true;
    } else {
        end = wait_packet_at_least(rt_target_, timeout_s, "waiting for the step's physics ticks");
    }
    const uint32_t ran = uint32_t(int64_t(end) - int64_t(rt_last_));
    rt_last_ = end;
    {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.steps++;
        stats_.ticks += ran;
        stats_.late_steps += late ? 1 : 0;
    }
    touch();
    return CspStepResult{end, ran, ns_to_s(steady_now_ns() - t0)};
}

// ---- heartbeat and closing -----------------------------------------------------------------------

void CspSession::heartbeat_loop() {
    const auto interval = std::chrono::nanoseconds(s_to_ns(options_.heartbeat_interval_s));
    const int64_t stall_ns = s_to_ns(options_.stall_timeout_s);
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
        heartbeat_cv_.wait_for(lk, interval, [this] { return stopping_; });
        if (stopping_) break;
        controls_writer_->beat();
        const int64_t idle = steady_now_ns() - last_activity_ns_.load(std::memory_order_relaxed);
        if (!sim_state_.pause && !safe_in_page_ && idle > stall_ns) {
            // The caller stopped (hung, stopped in a debugger, stuck in a long update) while the car
            // runs: brake instead of holding the last throttle. Its next write takes over again.
            publish_controls_locked(true);
            stats_.stall_brakes++;
        }
    }
}

uint32_t CspSession::heartbeat() const {
    std::lock_guard<std::mutex> lk(mu_);
    return controls_writer_ ? controls_writer_->heartbeat() : 0;
}

CspSessionStats CspSession::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
}

void CspSession::close() noexcept {
    if (heartbeat_thread_.joinable()) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stopping_ = true;
        }
        heartbeat_cv_.notify_all();
        heartbeat_thread_.join();
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (controls_writer_) {
        // CSP keeps the last values it read and has no watchdog: leave the car braking, the
        // simulation running at normal speed.
        staged_ = CspDrive{0.0f, 0.0f, options_.safe_brake, 1.0f, 0.0f};
        page_controls_.teleport_to = 0;
        publish_controls_locked(true);
        controls_writer_->detach();
        controls_writer_.reset();
    }
    if (sim_state_writer_) {
        sim_state_ = CspSimStateV1{0, 0, 0, 0, 1.0f};
        publish_sim_state_locked();
        sim_state_writer_->detach();
        sim_state_writer_.reset();
    }
    car_page_.close();
    controls_page_.close();
    sim_state_page_.close();
}

}  // namespace ac_core
