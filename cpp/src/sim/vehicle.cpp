#include "ac_core/sim/vehicle.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ac_core::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Below this speed the slip definitions use it as the denominator (blended slip), so that slip stays
// finite at standstill; the force caps below keep the blend stable.
constexpr double kSlipSpeedFloor = 1.0;
// Lateral slip relaxation never slower than at this speed, so a parked car's slip state decays.
constexpr double kRelaxSpeedFloor = 2.0;
// Share of the contact-patch sliding velocity that one wheel may remove in one tick (4 wheels act at
// once, so together they stay below a full reversal).
constexpr double kStopImpulseShare = 0.35;
// Load transfer follows accelerations through a first-order filter (chassis pitch/roll response).
constexpr double kLoadTransferTau = 0.03;

inline double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Linear interpolation in a table (xs ascending), clamped at the ends (AC's Curve::getValue).
double table_at(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
    if (x <= xs.front()) return ys.front();
    if (x >= xs.back()) return ys.back();
    const std::size_t i = std::size_t(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin());
    const double t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
    return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

void check_table(const std::vector<double>& xs, const std::vector<double>& ys, const char* what) {
    if (xs.size() != ys.size() || xs.size() == 1)
        throw std::invalid_argument(std::string(what) + ": needs as many x as y values and at least 2 points");
    for (std::size_t i = 1; i < xs.size(); ++i)
        if (!(xs[i] > xs[i - 1])) throw std::invalid_argument(std::string(what) + ": x values must increase");
}

// The parameter combinations the model cannot run with (a loader bug or a hand-edited set).
void check_params(const VehicleParams& p) {
    if (p.gear_count < 1 || p.gear_count > kMaxGears)
        throw std::invalid_argument("gear_count must be 1.." + std::to_string(kMaxGears));
    for (int g = 0; g < p.gear_count; ++g)
        if (!(p.gear_ratio[std::size_t(g)] > 0.0)) throw std::invalid_argument("gear_ratio must be > 0 for every gear");
    if (p.turbos.size() > std::size_t(kMaxTurbos))
        throw std::invalid_argument("at most " + std::to_string(kMaxTurbos) + " turbos");
    check_table(p.torque_curve_rpm, p.torque_curve_nm, "torque curve");
    for (const TurboParams& t : p.turbos) {
        check_table(t.boost_rpm, t.boost_max, "turbo boost table");
        if (!(t.reference_rpm > 0.0)) throw std::invalid_argument("turbo reference_rpm must be > 0");
    }
    const bool tables = !p.tyre_mu_front_table.empty() || !p.tyre_mu_rear_table.empty();
    if (tables && (p.tyre_mu_front_table.size() < 2 || p.tyre_mu_rear_table.size() < 2 || !(p.tyre_mu_table_step_n > 0.0)))
        throw std::invalid_argument("tyre mu tables need 2+ points per axle and tyre_mu_table_step_n > 0");
    if (!(p.mass_kg > 0.0) || !(p.tyre_radius_m > 0.0) || !(p.wheelbase() > 0.0) || !(p.yaw_inertia_kgm2 > 0.0))
        throw std::invalid_argument("mass, tyre radius, wheelbase and yaw inertia must be > 0");
    if (!(p.tyre_mu_x_scale_front > 0.0) || !(p.tyre_mu_x_scale_rear > 0.0))
        throw std::invalid_argument("tyre_mu_x_scale_front/rear must be > 0");
    if (!(p.tyre_shape_q > 1.0)) throw std::invalid_argument("tyre_shape_q must be > 1 (a force peak)");
}

}  // namespace

VehicleModel::VehicleModel(const VehicleParams& params) : p_(params) {
    check_params(p_);
    for (std::size_t t = 0; t < p_.turbos.size(); ++t) {
        // AC's lag factors are per 3 ms step; the share of the gap closed in one of our ticks.
        turbo_up_[t] = 1.0 - std::pow(clampd(p_.turbos[t].lag_up, 0.0, 1.0), kPhysicsDt / 0.003);
        turbo_dn_[t] = 1.0 - std::pow(clampd(p_.turbos[t].lag_dn, 0.0, 1.0), kPhysicsDt / 0.003);
    }
    const double lf = p_.cog_to_front_m, lr = p_.cog_to_rear_m;
    const double hf = p_.track_front_m / 2, hr = p_.track_rear_m / 2;
    const double wx[4] = {lf, lf, -lr, -lr};
    const double wy[4] = {hf, -hf, hr, -hr};
    for (int i = 0; i < 4; ++i) {
        wheel_x_[i] = wx[i];
        wheel_y_[i] = wy[i];
        // Effective mass seen by an impulse at the patch: translation plus the yaw lever arm.
        m_eff_x_[i] = 1.0 / (1.0 / p_.mass_kg + wy[i] * wy[i] / p_.yaw_inertia_kgm2);
        m_eff_y_[i] = 1.0 / (1.0 / p_.mass_kg + wx[i] * wx[i] / p_.yaw_inertia_kgm2);
    }
    shape_s_ = kPi / (2.0 * std::atan(p_.tyre_shape_q));
    const double dl = p_.tyre_mu_load_hi_n - p_.tyre_mu_load_lo_n;
    mu_slope_front_ = (p_.tyre_mu_front_hi - p_.tyre_mu_front_lo) / dl;
    mu_slope_rear_ = (p_.tyre_mu_rear_hi - p_.tyre_mu_rear_lo) / dl;
    for (double rpm = p_.idle_rpm; rpm <= p_.rev_limit_rpm; rpm += 10.0) {
        max_power_w_ = std::max(max_power_w_, engine_power_w(rpm));
        max_torque_nm_ = std::max(max_torque_nm_, engine_torque(rpm));
    }
}

double VehicleModel::turbo_target(std::size_t turbo, double rpm, double throttle) const {
    const TurboParams& t = p_.turbos[turbo];
    const double max_boost = t.boost_rpm.empty() ? t.max_boost : table_at(t.boost_rpm, t.boost_max, rpm);
    double boost = max_boost * std::pow(std::min(1.0, std::max(0.0, throttle * rpm / t.reference_rpm)), t.gamma);
    if (t.wastegate > 0.0) boost = std::min(boost, t.wastegate);
    return boost;
}

double VehicleModel::engine_torque(double rpm) const {
    double boost = 0.0;
    for (std::size_t t = 0; t < p_.turbos.size(); ++t) boost += turbo_target(t, rpm, 1.0);
    return boost == 0.0 ? base_torque(rpm) : base_torque(rpm) * (1.0 + boost);
}

double VehicleModel::driven_wheel_speed(const CarState& s) const {
    switch (p_.drive) {
        case Drive::Front: return 0.5 * (s.omega[kFL] + s.omega[kFR]);
        case Drive::All: return 0.25 * (s.omega[kFL] + s.omega[kFR] + s.omega[kRL] + s.omega[kRR]);
        case Drive::Rear: break;
    }
    return 0.5 * (s.omega[kRL] + s.omega[kRR]);
}

double VehicleModel::base_torque(double rpm) const {
    if (!p_.torque_curve_rpm.empty()) return table_at(p_.torque_curve_rpm, p_.torque_curve_nm, rpm);
    const auto& R = p_.engine_rpm;
    const auto& P = p_.engine_kw;
    double kw;
    if (rpm <= R[0]) {
        kw = P[0] * std::max(rpm, 500.0) / R[0];
    } else if (rpm >= R[kEngineCurvePoints - 1]) {
        kw = P[kEngineCurvePoints - 1];
    } else {
        std::size_t i = 1;
        while (R[i] < rpm) ++i;
        const double t = (rpm - R[i - 1]) / (R[i] - R[i - 1]);
        kw = P[i - 1] + t * (P[i] - P[i - 1]);
    }
    return kw * 1000.0 / (std::max(rpm, 500.0) * kRpmToRadS);
}

double VehicleModel::ratio(int gear) const {
    if (gear == 0) return 0.0;
    if (gear < 0) return -p_.reverse_ratio;
    return p_.gear_ratio[std::size_t(std::min(gear, p_.gear_count) - 1)];
}

int VehicleModel::best_gear(double speed) const {
    const double w = std::fabs(speed) / p_.tyre_radius_m;
    for (int g = 1; g <= p_.gear_count; ++g) {
        const double rpm = w / ratio(g) / kRpmToRadS;
        if (rpm < p_.upshift_rpm - 300.0) return g;
    }
    return p_.gear_count;
}

double VehicleModel::tyre_mu(bool front, double fz) const {
    const std::vector<double>& table = front ? p_.tyre_mu_front_table : p_.tyre_mu_rear_table;
    if (!table.empty()) {
        const double x = std::max(0.0, fz / p_.tyre_mu_table_step_n);
        const std::size_t last = table.size() - 1;
        if (x >= double(last)) return table[last];
        const std::size_t i = std::size_t(x);
        return table[i] + (x - double(i)) * (table[i + 1] - table[i]);
    }
    const double lo = front ? p_.tyre_mu_front_lo : p_.tyre_mu_rear_lo;
    const double slope = front ? mu_slope_front_ : mu_slope_rear_;
    return std::max(p_.tyre_mu_floor, lo + slope * (fz - p_.tyre_mu_load_lo_n));
}

double VehicleModel::tyre_pressure_psi(double core_c) const {
    constexpr double kAtmPsi = 14.696, kZeroC = 273.15;
    const double hot_abs = p_.tyre_hot_pressure_psi + kAtmPsi;
    return hot_abs * (core_c + kZeroC) / (p_.tyre_hot_core_c + kZeroC) - kAtmPsi;
}

void VehicleModel::update_thermal(CarState& s, int i, double slip_power_w, double brake_power_w, double dt) const {
    const VehicleParams& p = p_;
    const double v = std::fabs(s.vx);
    double& ts = s.tyre_surface_c[i];
    double& tc = s.tyre_core_c[i];
    const double to_core = p.tyre_surface_core_w_k * (ts - tc);
    const double to_air = (p.tyre_cooling_w_k + p.tyre_cooling_w_k_per_mps * v) * (ts - p.ambient_c);
    ts += dt * (p.tyre_heat_share * slip_power_w - to_core - to_air) / p.tyre_surface_heat_j_k;
    tc += dt * to_core / p.tyre_core_heat_j_k;
    s.tyre_wear[i] = std::min(1.0, s.tyre_wear[i] + p.tyre_wear_per_mj * 1e-6 * slip_power_w * dt);
    double& tb = s.brake_c[i];
    const double brake_cool = (p.brake_cooling_w_k + p.brake_cooling_w_k_per_mps * v) * (tb - p.ambient_c);
    tb += dt * (brake_power_w - brake_cool) / p.brake_heat_j_k;
}

CarState VehicleModel::make_state(double x, double z, double yaw, double speed) const {
    CarState s;
    s.x = x;
    s.z = z;
    s.yaw = yaw;
    s.vx = speed;
    for (double& w : s.omega) w = speed / p_.tyre_radius_m;
    s.gear = best_gear(speed);
    s.engine_rpm = std::max(p_.idle_rpm, speed / p_.tyre_radius_m / ratio(s.gear) / kRpmToRadS);
    s.ers_energy_j = p_.ers_energy_per_lap_j;
    s.fuel_l = p_.fuel_l;
    s.tyre_surface_c.fill(p_.tyre_start_c);
    s.tyre_core_c.fill(p_.tyre_start_c);
    s.brake_c.fill(p_.brake_start_c);
    const double m = p_.mass_kg, L = p_.wheelbase();
    s.fz = {m * kGravity * p_.cog_to_rear_m / L / 2, m * kGravity * p_.cog_to_rear_m / L / 2,
            m * kGravity * p_.cog_to_front_m / L / 2, m * kGravity * p_.cog_to_front_m / L / 2};
    return s;
}

void VehicleModel::update_gear(CarState& s, const CarControls& c, double dt) const {
    s.since_shift_s += dt;
    if (!s.auto_shift) {
        if (c.shift != 0 && s.since_shift_s >= p_.min_shift_interval_s) {
            const int next = std::clamp(s.gear + c.shift, -1, p_.gear_count);
            // Reverse only from (near) standstill, as a real box would refuse it.
            if (!(next == -1 && s.vx > 2.0)) {
                s.gear = next;
                s.since_shift_s = 0;
            }
        }
        return;
    }
    if (s.gear <= 0) {  // the automatic box drives forward
        s.gear = 1;
        return;
    }
    if (s.since_shift_s < p_.min_shift_interval_s) return;
    // Shift on the engine speed the car's road speed gives (the driven wheels without slip), not on
    // the spinning rear wheels: a launch on a spinning axle stays in its gear (on the rev limiter,
    // which cuts the torque until the tyres grip) instead of climbing through the box at 30 km/h.
    const double w_road = std::max(s.vx, 0.0) / p_.tyre_radius_m;
    const double w_rear = driven_wheel_speed(s);  // the driven axle (the rear one on FormulaAlpha2022)
    const double rpm_road = w_road / ratio(s.gear) / kRpmToRadS;
    const double rpm_engine = w_rear / ratio(s.gear) / kRpmToRadS;
    // Up when the engine reaches the shift point and the rear tyres slip no more than a tyre working
    // at its traction peak does (the road speed is within the allowance of the wheel speed).
    if (s.gear < p_.gear_count && rpm_engine > p_.upshift_rpm &&
        rpm_road > p_.upshift_rpm * (1.0 - p_.upshift_slip_allowance)) {
        ++s.gear;
        s.since_shift_s = 0;
    } else if (s.gear > 1) {
        // Down on the engine (rear wheel) speed, as before: a spinning axle only raises it, so it never
        // fakes a downshift; under braking the slightly earlier downshifts keep the reference laps.
        const double rpm_lower = w_rear / ratio(s.gear - 1) / kRpmToRadS;
        if (rpm_lower < p_.downshift_rpm || (rpm_engine < p_.idle_rpm + 1500.0)) {
            if (rpm_lower < p_.upshift_rpm - 200.0) {
                --s.gear;
                s.since_shift_s = 0;
            }
        }
    }
}

void VehicleModel::step(CarState& s, const CarControls& c, const RoadContact& road, double dt) const {
    const VehicleParams& p = p_;
    const double m = p.mass_kg, L = p.wheelbase(), R = p.tyre_radius_m;
    const double throttle = clampd(c.throttle, 0.0, 1.0);
    const double brake = clampd(c.brake, 0.0, 1.0);
    const double clutch_pedal = clampd(c.clutch, 0.0, 1.0);
    s.throttle_applied = throttle;
    s.brake_applied = brake;
    s.clutch_applied = clutch_pedal;

    // ---- steering: target angle with a slew-rate limit ----
    const double target = -clampd(c.steer, -1.0, 1.0) * p.max_steer_rad;  // steer < 0 (left) -> + angle
    const double max_step = p.steer_rate_rad_s * dt;
    s.steer_angle += clampd(target - s.steer_angle, -max_step, max_step);
    const double cd = std::cos(s.steer_angle), sd = std::sin(s.steer_angle);

    // ---- DRS: open on request, closes itself on braking ----
    s.drs_open = c.drs && brake < 0.05;

    // ---- aero ----
    const double q = 0.5 * p.air_density * s.vx * s.vx;
    const double drag = q * p.cda_m2 * (s.drs_open ? p.drs_drag_factor : 1.0);
    const double df_total = q * p.cla_m2;
    const double df_front = df_total * p.aero_front_share;
    const double df_rear = df_total * (1.0 - p.aero_front_share) * (s.drs_open ? p.drs_rear_downforce_factor : 1.0);

    // ---- vertical loads: weight on the slope, crest/compression, aero, load transfer ----
    const double cos_slope = std::sqrt(std::max(0.0, 1.0 - road.grade * road.grade));
    const double weight_n = m * std::max(0.0, kGravity * cos_slope + s.vx * s.vx * road.vertical_curvature);
    const double long_transfer = m * s.ax_filtered * p.cog_height_m / L;
    const double front_axle = weight_n * p.cog_to_rear_m / L + df_front - long_transfer;
    const double rear_axle = weight_n * p.cog_to_front_m / L + df_rear + long_transfer;
    const double lat_moment = m * s.ay_filtered * p.cog_height_m;  // ay > 0 (left) loads the right wheels
    const double dff = lat_moment * p.roll_stiffness_front_share / p.track_front_m;
    const double dfr = lat_moment * (1.0 - p.roll_stiffness_front_share) / p.track_rear_m;
    double fz[4] = {front_axle / 2 - dff, front_axle / 2 + dff, rear_axle / 2 - dfr, rear_axle / 2 + dfr};
    for (double& f : fz) f = std::max(0.0, f);

    // ---- power unit, clutch, gearbox ----
    update_gear(s, c, dt);
    const double gr = ratio(s.gear);
    const double w_rear = driven_wheel_speed(s);  // the driven wheels (the rear pair on FormulaAlpha2022)
    // Turbos spool towards their target boost at the engine's speed and throttle (AC's lag factors).
    double boost = 0.0;
    for (std::size_t t = 0; t < p.turbos.size(); ++t) {
        const double goal = turbo_target(t, s.engine_rpm, throttle);
        double& b = s.turbo_boost[t];
        b += (goal - b) * (goal > b ? turbo_up_[t] : turbo_dn_[t]);
        boost += b;
    }
    auto full_torque = [&](double rpm) { return p.turbos.empty() ? engine_torque(rpm) : base_torque(rpm) * (1.0 + boost); };
    double drive_torque = 0.0;        // total torque into the differential(s)
    double engine_inertia_at_wheel = 0.0;
    double engaged = 1.0 - clutch_pedal;
    if (s.since_shift_s < p.shift_cut_s) engaged = 0.0;  // a road car's gear change: drive cut
    if (gr != 0.0 && engaged > 0.0) {
        const double rpm_wheels = std::fabs(w_rear / gr) / kRpmToRadS;
        double t_engine;
        if (rpm_wheels < p.idle_rpm) {
            // Auto-clutch slipping: the engine holds idle..launch rpm and pushes through the clutch.
            s.engine_rpm = p.idle_rpm + throttle * (p.launch_rpm - p.idle_rpm);
            t_engine = throttle * full_torque(s.engine_rpm);
        } else {
            s.engine_rpm = rpm_wheels;
            engine_inertia_at_wheel = p.engine_inertia_kgm2 / (gr * gr) * 0.5;
            const double friction = std::max(0.0, p.engine_friction_nm + p.engine_friction_nm_per_krpm * rpm_wheels / 1000.0);
            t_engine = rpm_wheels > p.rev_limit_rpm ? -friction
                                                    : throttle * full_torque(rpm_wheels) - (1.0 - throttle) * friction;
        }
        // MGU-K: constant power above its minimum speed while the lap's energy lasts.
        if (throttle > 0.0 && s.vx > p.mguk_min_speed_mps && s.ers_energy_j > 0.0 && s.engine_rpm < p.rev_limit_rpm) {
            const double pk = p.mguk_kw * 1000.0 * throttle;
            t_engine += pk / (s.engine_rpm * kRpmToRadS);
            s.ers_energy_j = std::max(0.0, s.ers_energy_j - pk * dt);
        }
        drive_torque = engaged * t_engine * p.driveline_efficiency / gr;
        engine_inertia_at_wheel *= engaged;
    } else {
        s.engine_rpm += (p.idle_rpm + throttle * (p.rev_limit_rpm - p.idle_rpm) - s.engine_rpm) * std::min(1.0, dt / 0.15);
    }
    s.fuel_l = std::max(0.0, s.fuel_l - p.fuel_l_per_s_full * throttle * dt);

    // Axle torques: all to one axle, or a fixed split (AWD centre differential, AC FRONT_SHARE).
    double axle_torque[2] = {0.0, drive_torque};  // front, rear
    double axle_engine_inertia[2] = {0.0, engine_inertia_at_wheel};
    if (p.drive == Drive::Front) {
        axle_torque[0] = drive_torque;
        axle_torque[1] = 0.0;
        axle_engine_inertia[0] = engine_inertia_at_wheel;
        axle_engine_inertia[1] = 0.0;
    } else if (p.drive == Drive::All) {
        axle_torque[0] = drive_torque * p.awd_front_share;
        axle_torque[1] = drive_torque * (1.0 - p.awd_front_share);
        axle_engine_inertia[0] = axle_engine_inertia[1] = 0.5 * engine_inertia_at_wheel;
    }
    // Limited-slip differential per driven axle: equal split plus a locking torque that resists the
    // speed difference, capped by preload + ramp (power or coast) x |input torque| and by what would
    // equalise the wheels within the tick. Preload and ramps 0 = an open differential.
    double wheel_drive[4] = {0.0, 0.0, 0.0, 0.0};
    double wheel_inertia[4];
    for (int axle = 0; axle < 2; ++axle) {
        const int left = axle == 0 ? kFL : kRL, right = axle == 0 ? kFR : kRR;
        const double i_axle = p.wheel_inertia_kgm2 + axle_engine_inertia[axle];
        wheel_inertia[left] = wheel_inertia[right] = i_axle;
        if (axle == 0 && !drives_front()) continue;
        if (axle == 1 && !drives_rear()) continue;
        const double t_in = axle_torque[axle];
        const double dw = s.omega[right] - s.omega[left];
        double lock = p.diff_lock_gain_nm_per_radps * dw;
        const double ramp = t_in >= 0.0 ? p.diff_ramp : p.diff_ramp_coast;
        const double lock_cap = std::min(p.diff_preload_nm + ramp * std::fabs(t_in), 0.5 * std::fabs(dw) * i_axle / dt);
        lock = clampd(lock, -lock_cap, lock_cap);
        wheel_drive[left] = 0.5 * t_in + 0.5 * lock;
        wheel_drive[right] = 0.5 * t_in - 0.5 * lock;
    }

    const double brake_torque_total = brake * p.max_brake_torque_nm;
    const double wheel_brake[4] = {brake_torque_total * p.brake_bias_front * 0.5, brake_torque_total * p.brake_bias_front * 0.5,
                                   brake_torque_total * (1.0 - p.brake_bias_front) * 0.5,
                                   brake_torque_total * (1.0 - p.brake_bias_front) * 0.5};

    // ---- tyres ----
    double body_fx = 0.0, body_fy = 0.0, body_mz = 0.0;
    const double relax_len = p.tyre_relaxation_length_m;
    const double inv_kmax = 1.0 / p.tyre_peak_slip_ratio;
    const double inv_amax_front = 1.0 / p.tyre_peak_slip_angle_front_rad;
    const double inv_amax_rear = 1.0 / p.tyre_peak_slip_angle_rear_rad;
    for (int i = 0; i < 4; ++i) {
        const bool front = i < 2;
        // contact-patch velocity in body axes, then in wheel axes
        const double vcx = s.vx - s.r * wheel_y_[i];
        const double vcy = s.vy + s.r * wheel_x_[i];
        double vwx = vcx, vwy = vcy;
        if (front) {
            vwx = vcx * cd + vcy * sd;
            vwy = -vcx * sd + vcy * cd;
        }
        const double denom = std::max(std::fabs(vwx), kSlipSpeedFloor);
        // relaxed lateral slip angle (first-order lag over the relaxation length)
        const double alpha_ss = std::atan(vwy / denom);
        const double relax = std::min(1.0, (std::fabs(vwx) + kRelaxSpeedFloor) * dt / relax_len);
        s.slip_angle[i] += relax * (alpha_ss - s.slip_angle[i]);
        const double alpha = s.slip_angle[i];

        const double mu = tyre_mu(front, fz[i]) * road.grip[i];
        const double d = mu * fz[i];
        const double kappa = (s.omega[i] * R - vwx) / denom;
        const double kn = kappa * inv_kmax, an = alpha * (front ? inv_amax_front : inv_amax_rear);
        const double rho = std::sqrt(kn * kn + an * an);
        // g = F(rho)/rho with F = D sin(Q atan(S rho)); its limit at rho -> 0 is D Q S.
        const double g = rho > 1e-9 ? d * std::sin(p.tyre_shape_q * std::atan(shape_s_ * rho)) / rho
                                    : d * p.tyre_shape_q * shape_s_;
        // Longitudinal peak = kx x lateral peak (AC D_x / D_y): the friction circle becomes an ellipse.
        const double kx = front ? p.tyre_mu_x_scale_front : p.tyre_mu_x_scale_rear;
        const double gx = g * kx;
        const double fx0 = gx * kn;

        // Wheel spin: linearised implicit step (the tyre is far stiffer than one tick can resolve).
        const double i_w = wheel_inertia[i];
        const double dfx_dw = gx * inv_kmax * R / denom;        // secant stiffness, >= the local slope
        const double rr_coef = p.rolling_resistance + p.rolling_resistance_v2 * vwx * vwx;
        const double rr_torque = rr_coef * fz[i] * R * std::tanh(s.omega[i] * R / 0.3);
        const double i_eff = i_w + dt * R * dfx_dw;
        double w_new = s.omega[i] + dt * (wheel_drive[i] - R * fx0 - rr_torque) / i_eff;
        const double brake_dw = dt * wheel_brake[i] / i_eff;
        if (std::fabs(w_new) <= brake_dw) w_new = 0.0;
        else w_new -= std::copysign(brake_dw, w_new);
        double fx = fx0 + dfx_dw * (w_new - s.omega[i]);
        s.omega[i] = w_new;

        // Longitudinal force: within the friction limit, and at low speed no more than stops the
        // patch sliding within the tick.
        const double slip_vx = w_new * R - vwx;
        const double cap_x = std::min(d * kx, kStopImpulseShare * m_eff_x_[i] * std::fabs(slip_vx) / dt);
        fx = clampd(fx, -cap_x, cap_x);
        double fy = -g * an;
        const double cap_y = kStopImpulseShare * m_eff_y_[i] * std::fabs(vwy) / dt;
        fy = clampd(fy, -cap_y, cap_y);
        // The linearised spin step can push |(fx, fy)| past the friction ellipse: scale back onto it.
        const double fx_n = fx / kx;
        const double f_abs = std::sqrt(fx_n * fx_n + fy * fy);
        if (f_abs > d && f_abs > 0.0) {
            fx *= d / f_abs;
            fy *= d / f_abs;
        }

        // Heat: the patch's sliding power (longitudinal and lateral slip velocity) and the brake's.
        update_thermal(s, i, std::fabs(fx * slip_vx) + std::fabs(fy * vwy), wheel_brake[i] * std::fabs(w_new), dt);

        s.fz[i] = fz[i];
        s.fx[i] = fx;
        s.fy[i] = fy;
        s.slip_ratio[i] = kappa;

        double bx = fx, by = fy;
        if (front) {
            bx = fx * cd - fy * sd;
            by = fx * sd + fy * cd;
        }
        body_fx += bx;
        body_fy += by;
        body_mz += wheel_x_[i] * by - wheel_y_[i] * bx;
    }

    // ---- rigid body ----
    const double aero_fx = -std::copysign(drag, s.vx);
    const double grade_fx = -m * kGravity * road.grade;
    const double ax_specific = (body_fx + aero_fx) / m;  // what an accelerometer reads (no gravity)
    const double ay_specific = body_fy / m;
    const double dvx = ax_specific + grade_fx / m + s.r * s.vy;
    const double dvy = ay_specific - s.r * s.vx;
    const double dr = body_mz / p.yaw_inertia_kgm2;
    s.vx += dvx * dt;
    s.vy += dvy * dt;
    s.r += dr * dt;
    s.yaw += s.r * dt;
    if (s.yaw > kPi) s.yaw -= 2 * kPi;
    else if (s.yaw < -kPi) s.yaw += 2 * kPi;
    // forward = (sin psi, cos psi), left = (cos psi, -sin psi) in world (x, z)
    const double cy = std::cos(s.yaw), sy = std::sin(s.yaw);
    s.x += (s.vx * sy + s.vy * cy) * dt;
    s.z += (s.vx * cy - s.vy * sy) * dt;

    s.ax = ax_specific;
    s.ay = ay_specific;
    s.az = (fz[0] + fz[1] + fz[2] + fz[3] - df_total) / m - kGravity * cos_slope;
    const double k = std::min(1.0, dt / kLoadTransferTau);
    s.ax_filtered += k * (ax_specific - s.ax_filtered);
    s.ay_filtered += k * (ay_specific - s.ay_filtered);
}

}  // namespace ac_core::sim
