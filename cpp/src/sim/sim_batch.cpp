#include "ac_core/sim/sim_batch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ac_core::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;
// A car must go this far back over the start/finish line before its lap stops counting.
constexpr double kLineHysteresisM = 5.0;
// The tread's inner shoulder runs hotter than the middle, the outer cooler (negative camber); the
// model has one surface temperature per tyre, spread by this fixed step (docs/simulator.md).
constexpr double kTreadSpreadC = 3.0;
// Pneumatic trail of the self-aligning torque at zero slip (m); it falls to 0 at the peak slip angle.
constexpr double kPneumaticTrailM = 0.03;

struct WeatherEntry {
    const char* name;
    double grip;
};
// Grip of the whole track surface relative to dry tarmac on slicks. "wet" follows the fastest-lap
// wet fit (mu ~1.25-1.45 against ~1.8-2.2 dry, research §4a); "damp" lies between.
constexpr WeatherEntry kWeathers[] = {{"clear", 1.0}, {"damp", 0.85}, {"wet", 0.68}};

void set_text(char16_t* dst, std::size_t units, const char* text) {
    std::size_t i = 0;
    for (; text[i] != '\0' && i + 1 < units; ++i) dst[i] = char16_t(static_cast<unsigned char>(text[i]));
    for (; i < units; ++i) dst[i] = 0;
}

double wrap_angle(double a) {
    while (a > kPi) a -= 2 * kPi;
    while (a <= -kPi) a += 2 * kPi;
    return a;
}

double dot3(const double* a, const float* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

}  // namespace

CarAxes car_axes(double heading, double pitch, double roll) {
    const double sh = std::sin(heading), ch = std::cos(heading);
    const double sp = std::sin(pitch), cp = std::cos(pitch);
    const double sr = std::sin(roll), cr = std::cos(roll);
    const double left0[3] = {ch, 0.0, -sh};
    const double up0[3] = {-sh * sp, cp, -ch * sp};
    CarAxes a{};
    for (int i = 0; i < 3; ++i) {
        a.left[i] = left0[i] * cr + up0[i] * sr;
        a.up[i] = up0[i] * cr - left0[i] * sr;
    }
    a.forward[0] = sh * cp;
    a.forward[1] = sp;
    a.forward[2] = ch * cp;
    return a;
}

double weather_grip(const std::string& weather) {
    for (const auto& w : kWeathers)
        if (weather == w.name) return w.grip;
    std::string valid;
    for (const auto& w : kWeathers) valid += std::string(valid.empty() ? "" : ", ") + w.name;
    throw std::invalid_argument("unknown weather '" + weather + "'; valid values: " + valid);
}

std::vector<std::string> weather_names() {
    std::vector<std::string> out;
    for (const auto& w : kWeathers) out.emplace_back(w.name);
    return out;
}

LapStart parse_lap_start(const std::string& name) {
    if (name == "pit_out") return LapStart::PitOut;
    if (name == "flying") return LapStart::Flying;
    if (name == "standing") return LapStart::Standing;
    throw std::invalid_argument("unknown lap_start '" + name + "'; valid values: pit_out, flying, standing");
}

void format_lap_time(int ms, char16_t* out, std::size_t units) {
    char buf[24];
    if (ms <= 0) {
        std::snprintf(buf, sizeof buf, "-:--:---");
    } else {
        const int minutes = ms / 60000;
        const int seconds = (ms / 1000) % 60;
        const int millis = ms % 1000;
        std::snprintf(buf, sizeof buf, "%d:%02d:%03d", minutes, seconds, millis);
    }
    set_text(out, units, buf);
}

SimBatch::SimBatch(std::size_t n_cars, std::shared_ptr<const Track> track, const VehicleParams& params, SimOptions options)
    : track_(std::move(track)), model_(params), options_(std::move(options)) {
    if (n_cars == 0) throw std::invalid_argument("SimBatch needs at least one car (n_cars >= 1)");
    if (!track_) throw std::invalid_argument("SimBatch needs a track (got none)");
    lap_start_ = parse_lap_start(options_.lap_start);
    weather_grip_ = weather_grip(options_.weather);
    if (!(options_.pit_out_speed_kmh >= 0) || !(options_.flying_speed_kmh >= 0) || !(options_.flying_distance_m >= 0))
        throw std::invalid_argument("SimOptions speeds and distances must be >= 0");
    cars_.resize(n_cars);
    progress_.resize(n_cars);
    road_.resize(n_cars);
    inputs_.resize(n_cars);
    physics_.assign(n_cars, PhysicsPage{});
    graphics_.assign(n_cars, GraphicsPage{});
    fill_static_page();
    reset_all();
}

void SimBatch::fill_static_page() {
    const VehicleParams& p = model_.params();
    std::memset(&static_, 0, sizeof static_);
    set_text(static_.smVersion, 15, "1.7");
    set_text(static_.acVersion, 15, "1.16.4");
    static_.numberOfSessions = 1;
    static_.numCars = int32_t(cars_.size());
    set_text(static_.carModel, 33, p.car_model.c_str());
    set_text(static_.track, 33, track_->name().c_str());
    set_text(static_.playerName, 33, "Reference");
    set_text(static_.playerSurname, 33, "Driver");
    set_text(static_.playerNick, 33, "REF");
    static_.sectorCount = 3;
    static_.maxTorque = float(model_.max_torque_nm());
    static_.maxPower = float(model_.max_power_w() + p.mguk_kw * 1000.0);  // W, ICE + MGU-K
    static_.maxRpm = int32_t(p.rev_limit_rpm);
    static_.maxFuel = float(p.max_fuel_l);
    for (int i = 0; i < 4; ++i) {
        static_.suspensionMaxTravel[i] = float(p.suspension_max_travel_m);
        static_.tyreRadius[i] = float(p.tyre_radius_m);
    }
    static_.deprecated_1 = -273.f;
    static_.aidFuelRate = 1.f;
    static_.aidMechanicalDamage = 1.f;
    static_.aidAutoClutch = 1;
    static_.aidAutoBlip = 1;
    static_.hasDRS = p.has_drs ? 1 : 0;
    static_.hasERS = p.mguk_kw > 0.0 ? 1 : 0;
    static_.hasKERS = p.mguk_kw > 0.0 ? 1 : 0;
    static_.kersMaxJ = float(p.ers_energy_per_lap_j);
    static_.ersMaxJ = float(p.ers_energy_per_lap_j);
    static_.trackSPlineLength = float(track_->length());
    set_text(static_.carSkin, 33, "default");
}

void SimBatch::reset_all() {
    for (std::size_t i = 0; i < cars_.size(); ++i) reset(i);
}

void SimBatch::reset(std::size_t car) {
    if (car >= cars_.size()) throw std::out_of_range("car index out of range");
    const double L = track_->length();
    switch (lap_start_) {
        case LapStart::Standing:
            teleport(car, 0.0, 0.0, 0.0, 0.0, true);
            progress_[car].timing = true;
            progress_[car].next_line = L;
            break;
        case LapStart::Flying:
            teleport(car, -std::min(options_.flying_distance_m, 0.9 * L), 0.0, 0.0, options_.flying_speed_kmh / 3.6, true);
            break;
        case LapStart::PitOut:
            teleport(car, track_->meta().pit_exit_s, track_->meta().pit_exit_lateral, 0.0, options_.pit_out_speed_kmh / 3.6,
                     true);
            break;
    }
    write_car_pages(car);
}

void SimBatch::teleport(std::size_t car, double s, double lateral, double heading_offset, double speed_mps,
                        bool clear_history) {
    if (car >= cars_.size()) throw std::out_of_range("car index out of range");
    if (!std::isfinite(s) || !std::isfinite(lateral) || !std::isfinite(heading_offset) || !std::isfinite(speed_mps))
        throw std::invalid_argument("teleport: s, lateral, heading_offset and speed must be finite");
    const double L = track_->length();
    double x, z, y;
    track_->position(s, lateral, x, z, y);
    const double heading = wrap_angle(track_->heading(s) + heading_offset);
    CarState st = model_.make_state(x, z, heading, speed_mps);
    st.auto_shift = options_.auto_shift;
    if (!options_.auto_shift && speed_mps < 1.0) st.gear = 0;  // manual box: start in neutral at rest
    cars_[car] = st;

    CarProgress& pr = progress_[car];
    CarProgress fresh;
    if (!clear_history) {
        fresh.completed_laps = pr.completed_laps;
        fresh.last_lap_ms = pr.last_lap_ms;
        fresh.best_lap_ms = pr.best_lap_ms;
        fresh.collisions = pr.collisions;
        std::copy(std::begin(pr.damage), std::end(pr.damage), std::begin(fresh.damage));
        fresh.distance_traveled = pr.distance_traveled;
        fresh.time_s = pr.time_s;
    }
    fresh.packet_id = pr.packet_id;
    fresh.graphics_packet_id = pr.graphics_packet_id;
    fresh.s = track_->wrap(s);
    fresh.distance = s;
    fresh.next_line = (std::floor(s / L) + 1.0) * L;
    fresh.timing = false;
    fresh.lap_start_time_s = fresh.time_s;
    fresh.sector_start_time_s = fresh.time_s;
    pr = fresh;
    update_track_state(car, 0.0);
}

void SimBatch::set_paused(bool paused) {
    paused_ = paused;
    for (std::size_t i = 0; i < cars_.size(); ++i) {
        graphics_[i].status = int32_t(paused_ ? AcStatus::Pause : AcStatus::Live);
    }
}

void SimBatch::step(int k) {
    if (k < 1) throw std::invalid_argument("step(k): k must be >= 1 physics ticks");
    if (paused_) return;
    for (std::size_t i = 0; i < cars_.size(); ++i) {
        const CarInput& in = inputs_[i];
        CarControls c;
        c.steer = std::isfinite(in.steer) ? in.steer : 0.f;
        c.throttle = std::isfinite(in.throttle) ? in.throttle : 0.f;
        c.brake = std::isfinite(in.brake) ? in.brake : 0.f;
        c.clutch = std::isfinite(in.clutch) ? in.clutch : 0.f;
        c.drs = in.drs != 0;
        for (int t = 0; t < k; ++t) {
            c.shift = t == 0 ? in.shift : int8_t(0);
            tick(i, c);
        }
        progress_[i].packet_id += k;
        progress_[i].graphics_packet_id += 1;
        write_car_pages(i);
    }
}

void SimBatch::write_pages() {
    for (std::size_t i = 0; i < cars_.size(); ++i) write_car_pages(i);
}

void SimBatch::tick(std::size_t car, const CarControls& c) {
    model_.step(cars_[car], c, road_[car], kPhysicsDt);
    update_track_state(car, kPhysicsDt);
}

void SimBatch::update_track_state(std::size_t car, double dt) {
    CarState& st = cars_[car];
    CarProgress& pr = progress_[car];
    const Track& tr = *track_;
    const double L = tr.length();

    const Projection pj = tr.project(st.x, st.z, pr.s);
    const double ds = tr.delta_s(pr.s, pj.s);
    pr.s = pj.s;
    pr.distance += ds;
    pr.lateral = pj.lateral;
    pr.heading_error = wrap_angle(st.yaw - pj.heading);
    pr.time_s += dt;
    pr.distance_traveled += std::hypot(st.vx, st.vy) * dt;

    // ---- start/finish line and sectors ----
    if (pr.distance >= pr.next_line) {
        const double over = pr.distance - pr.next_line;
        const double frac = ds > 1e-9 ? std::min(1.0, over / ds) : 0.0;
        const double t_cross = pr.time_s - frac * dt;
        if (pr.timing) {
            const int lap_ms = int(std::lround((t_cross - pr.lap_start_time_s) * 1000.0));
            pr.completed_laps += 1;
            pr.last_lap_ms = lap_ms;
            pr.best_lap_ms = pr.best_lap_ms > 0 ? std::min(pr.best_lap_ms, lap_ms) : lap_ms;
            pr.last_sector_ms = int(std::lround((t_cross - pr.sector_start_time_s) * 1000.0));
        }
        pr.timing = true;
        pr.lap_start_time_s = t_cross;
        pr.sector_start_time_s = t_cross;
        pr.sector = 0;
        pr.next_line += L;
        st.ers_energy_j = model_.params().ers_energy_per_lap_j;  // the ERS deployment allowance is per lap
    } else if (pr.distance < pr.next_line - L - kLineHysteresisM) {
        // Reversed over the line: the lap in progress no longer counts.
        pr.next_line -= L;
        pr.timing = false;
    }
    const int sector = tr.sector_at(pr.s);
    if (pr.timing && sector == pr.sector + 1) {
        pr.last_sector_ms = int(std::lround((pr.time_s - pr.sector_start_time_s) * 1000.0));
        pr.sector_start_time_s = pr.time_s;
    }
    pr.sector = sector;

    // ---- the road under the car: grade, vertical curvature, surfaces under each wheel ----
    const TrackSample smp = tr.at(pr.s);
    RoadContact& road = road_[car];
    const double ch = std::cos(pr.heading_error), sh = std::sin(pr.heading_error);
    road.grade = smp.grade / std::sqrt(1.0 + smp.grade * smp.grade) * ch;
    road.vertical_curvature = smp.vertical_curvature * ch * ch;
    const VehicleParams& p = model_.params();
    const double wx[4] = {p.cog_to_front_m, p.cog_to_front_m, -p.cog_to_rear_m, -p.cog_to_rear_m};
    const double wy[4] = {p.track_front_m / 2, -p.track_front_m / 2, p.track_rear_m / 2, -p.track_rear_m / 2};
    int out = 0;
    uint32_t out_mask = 0;
    bool barrier = false;
    for (int i = 0; i < 4; ++i) {
        const double lat = pr.lateral + wx[i] * sh + wy[i] * ch;
        const double s_w = pr.s + wx[i] * ch - wy[i] * sh;
        const Surface surf = tr.surface_at(s_w, lat);
        road.grip[i] = tr.grip(surf) * weather_grip_;
        if (surf == Surface::Runoff || surf == Surface::Barrier) {
            ++out;
            out_mask |= 1u << i;
        }
        if (surf == Surface::Barrier) barrier = true;
    }
    pr.tyres_out = out;
    pr.tyres_out_mask = out_mask;

    // ---- barrier contact: bounce off the wall, lose speed, register damage ----
    if (barrier && dt > 0.0) {
        const bool left = pr.lateral > 0.0;
        const double wall = left ? smp.width_left + smp.runoff_left : -(smp.width_right + smp.runoff_right);
        const double half_width = 0.5 * std::max(p.track_front_m, p.track_rear_m) + 0.4;
        const double target = left ? wall - half_width - 0.3 : wall + half_width + 0.3;
        // track-left unit normal in world (x, z) and the car's world velocity
        const double nx = std::cos(pj.heading), nz = -std::sin(pj.heading);
        const double tx = std::sin(pj.heading), tz = std::cos(pj.heading);
        const double cy = std::cos(st.yaw), sy = std::sin(st.yaw);
        double vwx = st.vx * sy + st.vy * cy;
        double vwz = st.vx * cy - st.vy * sy;
        double vn = vwx * nx + vwz * nz;
        double vt = vwx * tx + vwz * tz;
        const double into = left ? vn : -vn;  // > 0: moving into the wall
        if (into > 0.0) {
            const double impact_kmh = into * 3.6;
            vn = -options_.barrier_restitution * vn;
            vt *= options_.barrier_tangential_keep;
            const double front_share = std::fabs(ch);
            pr.damage[0] += float(options_.damage_per_kmh * impact_kmh * front_share * (st.vx >= 0 ? 1.0 : 0.0));
            pr.damage[1] += float(options_.damage_per_kmh * impact_kmh * front_share * (st.vx < 0 ? 1.0 : 0.0));
            pr.damage[left ? 2 : 3] += float(options_.damage_per_kmh * impact_kmh * std::fabs(sh));
            pr.damage[4] += float(options_.damage_per_kmh * impact_kmh * 0.1);
            pr.collisions += 1;
        }
        vwx = vn * nx + vt * tx;
        vwz = vn * nz + vt * tz;
        st.vx = vwx * sy + vwz * cy;
        st.vy = vwx * cy - vwz * sy;
        st.r *= 0.3;
        for (double& w : st.omega) w = st.vx / p.tyre_radius_m;
        const double shift = target - pr.lateral;
        st.x += shift * nx;
        st.z += shift * nz;
        pr.lateral = target;
    }
}

void SimBatch::write_car_pages(std::size_t car) {
    const CarState& st = cars_[car];
    CarProgress& pr = progress_[car];
    const CarInput& in = inputs_[car];
    const VehicleParams& p = model_.params();
    const double sy = std::sin(st.yaw), cy = std::cos(st.yaw);
    const double grade = road_[car].grade;  // along the car
    const double vvert = st.vx * grade;

    PhysicsPage& ph = physics_[car];
    ph.packetId = pr.packet_id;
    ph.gas = float(st.throttle_applied);
    ph.brake = float(st.brake_applied);
    ph.clutch = float(st.clutch_applied);
    ph.steerAngle = std::isfinite(in.steer) ? std::clamp(in.steer, -1.f, 1.f) : 0.f;
    ph.fuel = float(st.fuel_l);
    ph.gear = int32_t(st.gear + 1);  // AC: 0 = R, 1 = N, 2 = 1st
    ph.rpms = int32_t(std::lround(st.engine_rpm));
    ph.velocity[0] = float(st.vx * sy + st.vy * cy);
    ph.velocity[1] = float(vvert);
    ph.velocity[2] = float(st.vx * cy - st.vy * sy);
    const double speed = std::sqrt(double(ph.velocity[0]) * ph.velocity[0] + double(ph.velocity[1]) * ph.velocity[1] +
                                   double(ph.velocity[2]) * ph.velocity[2]);
    ph.speedKmh = float(speed * 3.6);
    ph.accG[0] = float(st.ay / kGravity);
    ph.accG[1] = float(st.az / kGravity);
    ph.accG[2] = float(st.ax / kGravity);
    // Body attitude: the road's slope plus the chassis on its springs (the rigid model's wheel loads
    // through the page's wheel rates): pitch + = nose up, roll + = leaning right (left side up).
    const double kf = p.wheel_rate_front_n_m, kr = p.wheel_rate_rear_n_m;
    const double comp[4] = {st.fz[0] / kf, st.fz[1] / kf, st.fz[2] / kr, st.fz[3] / kr};  // spring compression, m
    const double body_pitch = ((comp[2] + comp[3]) - (comp[0] + comp[1])) / 2.0 / p.wheelbase();
    const double body_roll = ((comp[1] - comp[0]) / p.track_front_m + (comp[3] - comp[2]) / p.track_rear_m) / 2.0;
    const double pitch = std::atan(grade) + body_pitch;
    const double roll = body_roll;
    const CarAxes axes = car_axes(st.yaw, pitch, roll);
    ph.localVelocity[0] = float(dot3(axes.left, ph.velocity));
    ph.localVelocity[1] = float(dot3(axes.up, ph.velocity));
    ph.localVelocity[2] = float(dot3(axes.forward, ph.velocity));
    // Pitch and roll rates over the step that led to these pages (0 on the first pages after a reset).
    const double since = pr.time_s - pr.page_time_s;
    const bool rates = pr.page_time_s >= 0.0 && since > 0.0;
    ph.localAngularVel[0] = rates ? float(-(pitch - pr.page_pitch) / since) : 0.f;  // about left: + = nose down
    ph.localAngularVel[1] = float(st.r);
    ph.localAngularVel[2] = rates ? float((roll - pr.page_roll) / since) : 0.f;
    pr.page_pitch = pitch;
    pr.page_roll = roll;
    pr.page_time_s = pr.time_s;
    ph.heading = float(st.yaw);
    ph.pitch = float(pitch);
    ph.roll = float(roll);
    ph.cgHeight = float(p.cog_height_m);
    const double wx[4] = {p.cog_to_front_m, p.cog_to_front_m, -p.cog_to_rear_m, -p.cog_to_rear_m};
    const double wy[4] = {p.track_front_m / 2, -p.track_front_m / 2, p.track_rear_m / 2, -p.track_rear_m / 2};
    double x, z, y;
    track_->position(pr.s, pr.lateral, x, z, y);
    const double m = p.mass_kg, L = p.wheelbase();
    for (int i = 0; i < 4; ++i) {
        const bool front = i < 2;
        const double alpha = st.slip_angle[i];
        ph.wheelSlip[i] = float(std::sqrt(st.slip_ratio[i] * st.slip_ratio[i] + alpha * alpha));
        ph.wheelLoad[i] = float(st.fz[i]);
        ph.wheelsPressure[i] = float(model_.tyre_pressure_psi(st.tyre_core_c[i]));
        ph.wheelAngularSpeed[i] = float(st.omega[i]);
        ph.tyreWear[i] = float(100.0 * (1.0 - st.tyre_wear[i]));
        ph.tyreDirtyLevel[i] = 0.f;
        ph.tyreCoreTemperature[i] = float(st.tyre_core_c[i]);
        ph.camberRAD[i] = front ? -0.060f : -0.035f;
        ph.suspensionTravel[i] = float(std::clamp(comp[i], 0.0, p.suspension_max_travel_m));
        ph.brakeTemp[i] = float(st.brake_c[i]);
        ph.tyreTempI[i] = float(st.tyre_surface_c[i] + kTreadSpreadC);
        ph.tyreTempM[i] = float(st.tyre_surface_c[i]);
        ph.tyreTempO[i] = float(st.tyre_surface_c[i] - kTreadSpreadC);
        ph.tyreTemp[i] = float(st.tyre_surface_c[i]);
        // contact point: wheel position in the world (heading frame), on the road
        const double px = st.x + wx[i] * sy + wy[i] * cy;
        const double pz = st.z + wx[i] * cy - wy[i] * sy;
        ph.tyreContactPoint[i][0] = float(px);
        ph.tyreContactPoint[i][1] = float(y + wx[i] * grade);
        ph.tyreContactPoint[i][2] = float(pz);
        ph.tyreContactNormal[i][0] = 0.f;
        ph.tyreContactNormal[i][1] = 1.f;
        ph.tyreContactNormal[i][2] = 0.f;
        const double wheel_heading = st.yaw + (front ? st.steer_angle : 0.0);
        ph.tyreContactHeading[i][0] = float(std::sin(wheel_heading));
        ph.tyreContactHeading[i][1] = 0.f;
        ph.tyreContactHeading[i][2] = float(std::cos(wheel_heading));
        // Self-aligning torque: the lateral force through a pneumatic trail that vanishes at the peak.
        const double peak = front ? p.tyre_peak_slip_angle_front_rad : p.tyre_peak_slip_angle_rear_rad;
        ph.mz[i] = float(-st.fy[i] * kPneumaticTrailM * std::max(0.0, 1.0 - std::fabs(alpha) / peak));
        ph.fx[i] = float(st.fx[i]);
        ph.fy[i] = float(st.fy[i]);
        ph.slipRatio[i] = float(st.slip_ratio[i]);
        ph.slipAngle[i] = float(alpha);
        ph.suspensionDamage[i] = 0.f;
    }
    const double fz_front = st.fz[0] + st.fz[1], fz_rear = st.fz[2] + st.fz[3];
    ph.rideHeight[0] = float(std::max(0.0, p.ride_height_front_m - (fz_front / 2 / p.wheel_rate_front_n_m -
                                                                     m * kGravity * p.cog_to_rear_m / L / 2 / p.wheel_rate_front_n_m)));
    ph.rideHeight[1] = float(std::max(0.0, p.ride_height_rear_m - (fz_rear / 2 / p.wheel_rate_rear_n_m -
                                                                    m * kGravity * p.cog_to_front_m / L / 2 / p.wheel_rate_rear_n_m)));
    ph.drs = st.drs_open ? 1.f : 0.f;
    ph.tc = 0.f;
    for (int i = 0; i < 5; ++i) ph.carDamage[i] = pr.damage[i];
    ph.numberOfTyresOut = pr.tyres_out;
    ph.pitLimiterOn = 0;
    ph.abs = 0.f;
    ph.kersCharge = float(p.ers_energy_per_lap_j > 0.0 ? st.ers_energy_j / p.ers_energy_per_lap_j : 0.0);
    ph.kersInput = float(st.vx > p.mguk_min_speed_mps && st.ers_energy_j > 0 ? st.throttle_applied : 0.0);
    ph.autoShifterOn = st.auto_shift ? 1 : 0;
    ph.turboBoost = 0.f;
    ph.ballast = 0.f;
    ph.airDensity = float(p.air_density);
    ph.airTemp = 24.f;
    ph.roadTemp = 32.f;
    ph.finalFF = 0.f;
    ph.kersCurrentKJ = float((p.ers_energy_per_lap_j - st.ers_energy_j) / 1000.0);
    ph.drsAvailable = 1;
    ph.drsEnabled = st.drs_open ? 1 : 0;
    ph.isAIControlled = 0;
    ph.brakeBias = float(p.brake_bias_front);
    ph.currentMaxRpm = float(p.rev_limit_rpm);

    GraphicsPage& g = graphics_[car];
    g.packetId = pr.graphics_packet_id;
    g.status = int32_t(paused_ ? AcStatus::Pause : AcStatus::Live);
    g.session = options_.session;
    const int current_ms = int(std::lround((pr.time_s - pr.lap_start_time_s) * 1000.0));
    g.iCurrentTime = current_ms;
    g.iLastTime = pr.last_lap_ms;
    g.iBestTime = pr.best_lap_ms;
    format_lap_time(current_ms, g.currentTime, 15);
    format_lap_time(pr.last_lap_ms, g.lastTime, 15);
    format_lap_time(pr.best_lap_ms, g.bestTime, 15);
    format_lap_time(pr.last_sector_ms, g.split, 15);
    g.completedLaps = pr.completed_laps;
    g.position = 1;
    g.sessionTimeLeft = -1.f;
    g.distanceTraveled = float(pr.distance_traveled);
    g.isInPit = 0;
    g.currentSectorIndex = pr.sector;
    g.lastSectorTime = pr.last_sector_ms;
    g.numberOfLaps = options_.number_of_laps;
    set_text(g.tyreCompound, 33, "Soft");
    g.replayTimeMultiplier = 1.f;
    g.normalizedCarPosition = float(pr.s / track_->length());
    g.carCoordinates[0] = float(st.x);
    g.carCoordinates[1] = float(y);
    g.carCoordinates[2] = float(st.z);
    g.penaltyTime = 0.f;
    g.flag = 0;
    g.idealLineOn = 0;
    g.isInPitLane = 0;
    g.surfaceGrip = float(weather_grip_);
    g.mandatoryPitDone = 0;
    g.windSpeed = 0.f;
    g.windDirection = 0.f;
}

}  // namespace ac_core::sim
