#include "ac_core/sim/csp_server.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ac_core/core/clock.hpp"
#include "ac_core/csp/watchdog.hpp"
#include "ac_core/core/word_copy.hpp"

namespace ac_core::sim {

namespace {

constexpr double kRadToDeg = 57.29577951308232;

float finite_or(float v, float fallback) { return std::isfinite(v) ? v : fallback; }

bool one_byte(const CspFieldInfo& f) { return f.type == CspFieldType::Bool8 || f.type == CspFieldType::UInt8; }


}  // namespace

CspServer::CspServer(std::string prefix, int car_index, double retry_interval_s, bool replace_stale)
    : prefix_(std::move(prefix)), car_index_(car_index), retry_interval_ns_(s_to_ns(retry_interval_s)),
      replace_stale_(replace_stale) {
    if (car_index_ < 0) throw std::invalid_argument("CSP car index must be >= 0");
    (void)csp_page_name(CspPageKind::Car, car_index_, prefix_);  // validates the name early
}

CspServer::~CspServer() { close(); }

void CspServer::close() noexcept {
    car_writer_.reset();
    car_public_writer_.reset();
    car_page_.close();
    car_public_page_.close();
    controls_page_.close();
    sim_state_page_.close();
}

std::vector<std::string> CspServer::page_names() const {
    return {csp_page_name(CspPageKind::Car, car_index_, prefix_), csp_page_name(CspPageKind::CarPublic, car_index_, prefix_)};
}

bool CspServer::writer_left(const SharedPage& page) noexcept {
    if (page.size() < kCspOwnPageSize) return false;  // a foreign writer without our trailer: never known
    const auto* t = reinterpret_cast<const CspTrailer*>(page.data() + kCspTrailerOffset);
    if (load_word_acquire(&t->magic) != kCspTrailerMagic) return true;  // detached (or never ours)
    return !process_alive(load_word_relaxed(&t->writer_pid));
}

void CspServer::try_attach_controls() noexcept {
    const int64_t now = steady_now_ns();
    if (now < next_controls_attempt_ns_) return;
    next_controls_attempt_ns_ = now + retry_interval_ns_;
    try {
        const std::string name = csp_page_name(CspPageKind::CarControls, car_index_, prefix_);
        SharedPage page = SharedPage::open_existing(name);
        if (page.size() < CspPageReader::min_mapping(CspPageKind::CarControls)) {
            refuse_controls(name, page.size());
            return;
        }
        if (writer_left(page)) return;
        refused_size_ = 0;
        controls_page_ = std::move(page);
        // A 68-byte page is CSP 0.1.78's struct: it has no autoshift_active (see poll_controls).
        controls_have_autoshift_ = controls_page_.size() >= kCspControlsSize;
        stats_.attaches++;
        if (!car_page_.valid()) {
            // As CSP: the car page appears once the controls page was seen.
            car_page_ = SharedPage::create(csp_page_name(CspPageKind::Car, car_index_, prefix_), kCspOwnPageSize, 0600,
                                           replace_stale_);
            car_writer_ = std::make_unique<CspPageWriter>(car_page_.mutable_data(), car_page_.size(), CspPageKind::Car);
            car_public_page_ = SharedPage::create(csp_page_name(CspPageKind::CarPublic, car_index_, prefix_),
                                                  kCspOwnPageSize, 0600, replace_stale_);
            car_public_writer_ = std::make_unique<CspPageWriter>(car_public_page_.mutable_data(),
                                                                 car_public_page_.size(), CspPageKind::CarPublic);
        }
    } catch (const std::exception&) {
        // Nobody asked for the car yet (or the page is not ours to read): try again later.
    }
}

void CspServer::refuse_controls(const std::string& name, std::size_t size) {
    stats_.refused_controls++;
    if (size == refused_size_) return;  // said once per page (re-checked every retry interval)
    refused_size_ = size;
    stats_.last_refusal = "CSP controls page " + name + " has " + std::to_string(size) + " bytes, fewer than the " +
                          std::to_string(kCspControlsSizeV078) + " of CSP 0.1.78's CarControls struct (" +
                          std::to_string(kCspControlsSize) + " since 0.1.79): not driving the car from it; create it with " +
                          std::to_string(kCspControlsSize) + " bytes or more";
    if (notes_.size() < kMaxNotes) notes_.push_back(stats_.last_refusal);
}

std::vector<std::string> CspServer::take_notes() {
    std::vector<std::string> out;
    out.swap(notes_);
    return out;
}

void CspServer::try_attach_sim_state() noexcept {
    const int64_t now = steady_now_ns();
    if (now < next_state_attempt_ns_) return;
    next_state_attempt_ns_ = now + retry_interval_ns_;
    // v1 is CSP 0.2.8's name "to keep things compatible"; a v1 page wins over a v0 one.
    for (CspPageKind kind : {CspPageKind::SimStateV1, CspPageKind::SimStateV0}) {
        try {
            SharedPage page = SharedPage::open_existing(csp_page_name(kind, car_index_, prefix_));
            if (page.size() < csp_page_spec(kind).size || writer_left(page)) continue;
            sim_state_page_ = std::move(page);
            sim_state_kind_ = kind;
            directives_.present = true;
            return;
        } catch (const std::exception&) {
        }
    }
}

const CspSimDirectives& CspServer::poll_sim_state() noexcept {
    const int64_t now = steady_now_ns();
    const bool check_liveness = now >= next_liveness_check_ns_;
    if (check_liveness) next_liveness_check_ns_ = now + retry_interval_ns_;
    // A writer that left is read one last time (its final values, e.g. "running at time scale 1"),
    // then let go; the last values stay in force (CSP would keep them) until a new writer appears.
    const bool left = sim_state_page_.valid() && check_liveness && writer_left(sim_state_page_);
    if (!sim_state_page_.valid()) try_attach_sim_state();
    if (!sim_state_page_.valid()) return directives_;
    CspSimStateV1 s{0, 0, 0, 0, 1.0f};
    CspPageReader reader(sim_state_page_.data(), sim_state_page_.size(), sim_state_kind_);
    if (!reader.read(&s).ok) return directives_;
    if (sim_state_kind_ == CspPageKind::SimStateV0) s.time_scale = 1.0f;
    if (s.restart_session && !last_restart_) {
        pending_restart_ = true;
        stats_.restarts++;
    }
    last_restart_ = s.restart_session;
    directives_.pause = s.pause != 0;
    directives_.extra_sleep_ms = s.extra_sleep_ms;
    directives_.disable_collisions = s.disable_collisions != 0;
    if (std::isfinite(s.time_scale) && s.time_scale > 0.0f) {
        directives_.time_scale = s.time_scale;
    } else {
        if (directives_.time_scale != 1.0f || stats_.last_sim_state.time_scale != s.time_scale) stats_.invalid_time_scales++;
        directives_.time_scale = 1.0f;
    }
    stats_.last_sim_state = s;
    if (left) sim_state_page_.close();
    return directives_;
}

bool CspServer::poll_controls(SimBatch& sim, CarInput& in, int8_t& pending_shift, bool& drs_on) noexcept {
    const int64_t now = steady_now_ns();
    // As for the sim state: a writer that left is read one last time (its safe controls), then the
    // car keeps those values while a new writer is looked for.
    const bool left = controls_page_.valid() && now >= next_controls_attempt_ns_ && writer_left(controls_page_);
    if (left) next_controls_attempt_ns_ = now + retry_interval_ns_;
    if (!controls_page_.valid()) try_attach_controls();
    if (controls_page_.valid()) {
        CspCarControls c{};
        CspPageReader reader(controls_page_.data(), controls_page_.size(), CspPageKind::CarControls);
        if (reader.read(&c).ok) {
            const auto* prev = reinterpret_cast<const uint8_t*>(&controls_);
            const auto* next = reinterpret_cast<const uint8_t*>(&c);
            for (std::size_t i = 0; i < std::size(kCspControlsFields); ++i) {
                const CspFieldInfo& f = kCspControlsFields[i];
                if (one_byte(f) && prev[f.offset] == 0 && next[f.offset] != 0) stats_.edges[i]++;
            }
            if (c.gear_up && !controls_.gear_up) pending_shift = 1;
            if (c.gear_dn && !controls_.gear_dn) pending_shift = -1;
            if (c.drs && !controls_.drs) drs_on = !drs_on;
            // A new request: teleport_to set, or changed to another mode without a 0 read between
            // (a client that teleports twice while this loop was paused or slow is not missed).
            if (c.teleport_to != 0 && c.teleport_to != controls_.teleport_to && c.teleport_to <= 2) {
                pending_teleport_ = c.teleport_to;
                std::memcpy(pending_pos_, c.teleport_pos, sizeof pending_pos_);
                std::memcpy(pending_dir_, c.teleport_dir, sizeof pending_dir_);
            }
            controls_ = c;
            stats_.last_controls = c;
            stats_.control_reads++;
            driving_ = true;
        }
        if (left) controls_page_.close();
    }
    if (!driving_) return false;
    const CspCarControls& c = controls_;
    in.steer = std::clamp(finite_or(c.steer, 0.0f), -1.0f, 1.0f);  // + = right in both conventions
    in.throttle = std::clamp(finite_or(c.gas, 0.0f), 0.0f, 1.0f);
    handbrake_ = std::clamp(finite_or(c.handbrake, 0.0f), 0.0f, 1.0f);
    in.brake = std::max(std::clamp(finite_or(c.brake, 0.0f), 0.0f, 1.0f), handbrake_);
    const bool autoclutch = c.autoclutch_on_start || c.autoclutch_on_change;
    // The simulator's clutch input is the pedal (1 = disengaged); CSP's is the engagement.
    in.clutch = autoclutch ? 0.0f : 1.0f - std::clamp(finite_or(c.clutch, 1.0f), 0.0f, 1.0f);
    in.drs = drs_on ? 1 : 0;
    // autoshift_active as the page says; a 0.1.78 page without the field leaves the simulator's own
    // gearbox setting (AC's assist), which is what such a client was written against.
    sim.mutable_state(0).auto_shift = controls_have_autoshift_ ? c.autoshift_active != 0 : sim.options().auto_shift;
    return true;
}

void CspServer::apply_pending(SimBatch& sim) {
    if (pending_restart_) {
        pending_restart_ = false;
        sim.reset(0);
    }
    if (pending_teleport_ == 0) return;
    const Track& track = sim.track();
    if (pending_teleport_ == uint8_t(CspTeleport::Pits)) {
        sim.teleport(0, track.meta().pit_exit_s, track.meta().pit_exit_lateral, 0.0, 0.0);
        stats_.teleports_pits++;
    } else if (std::isfinite(pending_pos_[0]) && std::isfinite(pending_pos_[2]) && std::isfinite(pending_dir_[0]) &&
               std::isfinite(pending_dir_[2]) && (pending_dir_[0] != 0.0f || pending_dir_[2] != 0.0f)) {
        const Projection pj = track.project(pending_pos_[0], pending_pos_[2]);
        const double heading = std::atan2(double(pending_dir_[0]), double(pending_dir_[2]));
        sim.teleport(0, pj.s, pj.lateral, heading - pj.heading, 0.0);
        stats_.teleports_position++;
    }
    // A bad position (NaN, zero direction) is ignored, as a reader cannot refuse a write.
    pending_teleport_ = 0;
}

void CspServer::publish(SimBatch& sim) noexcept {
    if (!car_writer_) return;
    const PhysicsPage& ph = sim.physics_pages()[0];
    const GraphicsPage& g = sim.graphics_pages()[0];
    // Nothing changes while paused: republishing would only make readers retry.
    if (published_once_ && ph.packetId == last_packet_id_ && g.packetId == last_graphics_id_) return;
    published_once_ = true;
    last_packet_id_ = ph.packetId;
    last_graphics_id_ = g.packetId;
    const CarState& st = sim.state(0);
    const CarProgress& pr = sim.progress(0);
    const VehicleParams& p = sim.model().params();
    // The body's axes as the AC page's heading, pitch and roll give them (so look/up agree with it).
    const CarAxes axes = car_axes(ph.heading, ph.pitch, ph.roll);
    float look[3], up[3], side[3];  // side: to the car's left
    for (int i = 0; i < 3; ++i) {
        look[i] = float(axes.forward[i]);
        up[i] = float(axes.up[i]);
        side[i] = float(axes.left[i]);
    }
    const float steer_deg = float(double(ph.steerAngle) * p.max_steer_rad * kRadToDeg);

    CspCarData d{};
    d.packet_id = ph.packetId;
    d.gas = ph.gas;
    d.brake = ph.brake;
    d.clutch = 1.0f - ph.clutch;  // engagement, as CSP reports it
    d.steer = steer_deg;
    d.handbrake = handbrake_;
    d.fuel = ph.fuel;
    d.gear = ph.gear;
    d.rpm = float(ph.rpms);
    d.speed_kmh = ph.speedKmh;
    for (int i = 0; i < 3; ++i) {
        d.velocity[i] = ph.velocity[i];
        d.acc_g[i] = ph.accG[i];
        d.look[i] = look[i];
        d.up[i] = up[i];
        d.position[i] = g.carCoordinates[i];
        d.local_velocity[i] = ph.localVelocity[i];
        d.local_angular_velocity[i] = ph.localAngularVel[i];
    }
    d.cg_height = ph.cgHeight;
    for (int i = 0; i < 5; ++i) d.car_damage[i] = ph.carDamage[i];
    for (int w = 0; w < 4; ++w) {
        CspWheelData& wd = d.wheels[w];
        for (int i = 0; i < 3; ++i) {
            wd.contact_point[i] = ph.tyreContactPoint[w][i];
            wd.contact_normal[i] = ph.tyreContactNormal[w][i];
            wd.look[i] = ph.tyreContactHeading[w][i];
            wd.side[i] = side[i];
            wd.velocity[i] = ph.velocity[i];
            wd.position[i] = ph.tyreContactPoint[w][i] + float(p.tyre_radius_m) * ph.tyreContactNormal[w][i];
        }
        wd.slip_ratio = ph.slipRatio[w];
        wd.load = ph.wheelLoad[w];
        wd.pressure = ph.wheelsPressure[w];
        wd.angular_velocity = ph.wheelAngularSpeed[w];
        wd.wear = ph.tyreWear[w];
        wd.dirty_level = ph.tyreDirtyLevel[w];
        wd.core_temperature = ph.tyreCoreTemperature[w];
        wd.camber_rad = ph.camberRAD[w];
        wd.disc_temperature = ph.brakeTemp[w];
        wd.slip = ph.wheelSlip[w];
        wd.slip_angle_deg = float(double(ph.slipAngle[w]) * kRadToDeg);
        wd.nd_slip = ph.wheelSlip[w];
    }
    d.turbo_boost = ph.turboBoost;
    d.final_ff = ph.finalFF;
    d.final_pure_ff = ph.finalFF;
    d.pit_limiter = ph.pitLimiterOn ? 1 : 0;
    d.abs_in_action = 0;
    d.traction_control_in_action = 0;
    d.lap_time_ms = uint32_t(std::max(0, g.iCurrentTime));
    d.best_lap_time_ms = uint32_t(std::max(0, g.iBestTime));
    d.drivetrain_torque = float((st.fx[kRL] + st.fx[kRR]) * p.tyre_radius_m);
    d.spline_position = g.normalizedCarPosition;
    d.collision_depth = 0.0f;
    d.collision_counter = uint32_t(std::max(0, pr.collisions));
    d.wheels_valid_surface = ~pr.tyres_out_mask & 0xFu;
    car_writer_->publish(&d);

    CspCarPublicData pub{};
    pub.packet_id = g.packetId;
    pub.steer = steer_deg;
    pub.rpm = d.rpm;
    pub.spline_position = d.spline_position;
    pub.speed_kmh = d.speed_kmh;
    for (int i = 0; i < 3; ++i) {
        pub.velocity[i] = d.velocity[i];
        pub.acc_g[i] = d.acc_g[i];
        pub.look[i] = d.look[i];
        pub.up[i] = d.up[i];
        pub.position[i] = d.position[i];
    }
    for (int i = 0; i < 5; ++i) pub.car_damage[i] = d.car_damage[i];
    pub.is_braking = ph.brake > 0.05f ? 1 : 0;
    car_public_writer_->publish(&pub);
}

}  // namespace ac_core::sim
