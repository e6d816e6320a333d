// The two-track vehicle model of the built-in simulator, integrated at 333 Hz.
//
// Planar rigid body in the track's world frame (track.hpp: y up, horizontal x/z, heading psi with the
// forward vector (sin psi, cos psi), psi growing when turning left): position (x, z), heading, body
// velocities vx forward and vy to the LEFT, yaw rate r = dpsi/dt (+ = turning left); four wheel spin
// states, relaxed lateral slip per tyre, load transfer from the previous tick's accelerations, aero,
// power unit with an automatic (or manual) 8-speed gearbox and a limited-slip differential, brakes
// with a front bias, rolling resistance and road grade; tyre and brake temperatures and tyre wear
// (for the pages only). The car-local page axes follow from the
// same frame: [0] = left, [1] = up, [2] = forward. See docs/simulator.md.
//
// Stiff parts are integrated so that they stay stable at one 3 ms tick: the wheel spin with a
// linearised implicit step, and the tyre forces at low speed are capped by the force that would
// stop the contact patch sliding within the tick (no blow-up at standstill).
#pragma once

#include <array>
#include <cstdint>

#include "ac_core/sim/vehicle_params.hpp"

namespace ac_core::sim {

inline constexpr double kPhysicsHz = 333.0;
inline constexpr double kPhysicsDt = 1.0 / kPhysicsHz;
inline constexpr double kGravity = 9.80665;

enum Wheel : int { kFL = 0, kFR = 1, kRL = 2, kRR = 3 };

struct CarControls {
    float steer = 0.f;     // [-1, 1], negative = left (AC / pad convention)
    float throttle = 0.f;  // [0, 1]
    float brake = 0.f;     // [0, 1]
    float clutch = 0.f;    // [0, 1], 1 = pedal fully pressed (disengaged)
    int8_t shift = 0;      // +1 = one gear up, -1 = one gear down (manual gearbox; edge per call)
    bool drs = false;      // request DRS open (closes itself on braking)
};

// What the road under the car looks like this tick (filled by SimBatch from its track table).
struct RoadContact {
    double grade = 0.0;            // sin of the road slope along the car's heading (+ = uphill)
    double vertical_curvature = 0.0;  // d2y/ds2, 1/m: + = compression (loads, Eau Rouge), - = crest
    std::array<double, 4> grip{1.0, 1.0, 1.0, 1.0};  // surface x weather grip multiplier per wheel
};

struct CarState {
    // rigid body
    double x = 0, z = 0, yaw = 0;     // world x/z (m) and heading psi (rad)
    double vx = 0, vy = 0, r = 0;
    // wheels
    std::array<double, 4> omega{};        // spin rad/s
    std::array<double, 4> slip_angle{};   // relaxed lateral slip angle, rad
    double steer_angle = 0;               // road-wheel angle, rad, + = left
    // power unit
    int gear = 1;                         // -1 = R, 0 = N, 1..8
    double since_shift_s = 1.0;
    double engine_rpm = 4000;
    std::array<double, kMaxTurbos> turbo_boost{};  // spool state of each turbo (boost, 0 = none)
    double ers_energy_j = 0;
    double fuel_l = 0;
    bool drs_open = false;
    bool auto_shift = true;
    // thermal state (pages only): tyre surface / core and brake disc temperatures (C), tread used (0..1)
    std::array<double, 4> tyre_surface_c{}, tyre_core_c{}, brake_c{}, tyre_wear{};
    // filtered body accelerations used for load transfer (m/s^2, vx/vy axes)
    double ax_filtered = 0, ay_filtered = 0;
    // outputs of the last tick (for pages and tests)
    double ax = 0, ay = 0, az = 0;        // specific force, body axes, m/s^2 (az: vertical, 0 at rest)
    std::array<double, 4> fz{}, fx{}, fy{}, slip_ratio{};
    double throttle_applied = 0, brake_applied = 0, clutch_applied = 0;
};

// Precomputed constants of one parameter set; steps any number of cars.
class VehicleModel {
public:
    explicit VehicleModel(const VehicleParams& params);

    const VehicleParams& params() const { return p_; }
    // A car at rest (or rolling at `speed`, wheels turning with the road) at (x, z, heading), gear
    // chosen for the speed, full ERS store and quali fuel.
    CarState make_state(double x, double z, double yaw, double speed) const;
    // One physics tick of `dt` seconds.
    void step(CarState& s, const CarControls& c, const RoadContact& road, double dt) const;

    // Engine: full-throttle ICE torque (N m) at rpm, from the power curve or the torque table, with
    // the turbos' steady-state full-throttle boost.
    double engine_torque(double rpm) const;
    // The same without boost (a loaded car's power.lut; FormulaAlpha2022's power curve).
    double base_torque(double rpm) const;
    // A turbo's target boost at rpm and throttle (before its spool lag).
    double turbo_target(std::size_t turbo, double rpm, double throttle) const;
    // Speed of the driven wheels (rad/s): the rear pair, the front pair or all four.
    double driven_wheel_speed(const CarState& s) const;
    bool drives_front() const { return p_.drive != Drive::Rear; }
    bool drives_rear() const { return p_.drive != Drive::Front; }
    double engine_power_w(double rpm) const { return engine_torque(rpm) * rpm * kRpmToRadS; }
    double max_power_w() const { return max_power_w_; }
    double max_torque_nm() const { return max_torque_nm_; }
    double ratio(int gear) const;          // tyre-to-engine speed ratio; 0 in neutral
    int gear_count() const { return p_.gear_count; }
    int best_gear(double speed) const;     // the gear the automatic box picks for a speed
    // Tyre friction coefficient at a load (before surface grip), front or rear axle.
    double tyre_mu(bool front, double fz) const;
    // Gauge tyre pressure (psi) of a core temperature: the gas at constant volume (ideal gas).
    double tyre_pressure_psi(double core_c) const;
    static constexpr double kRpmToRadS = 3.14159265358979323846 / 30.0;

private:
    void update_gear(CarState& s, const CarControls& c, double dt) const;
    void update_thermal(CarState& s, int wheel, double slip_power_w, double brake_power_w, double dt) const;

    VehicleParams p_;
    double wheel_x_[4], wheel_y_[4];       // wheel positions from the CoG, body axes
    double m_eff_x_[4], m_eff_y_[4];       // effective mass at each contact patch (x / y impulses)
    double shape_s_;                       // S = pi / (2 atan Q)
    double turbo_up_[kMaxTurbos] = {}, turbo_dn_[kMaxTurbos] = {};  // spool share per kPhysicsDt tick
    double mu_slope_front_, mu_slope_rear_;
    double max_power_w_ = 0, max_torque_nm_ = 0;
};

}  // namespace ac_core::sim
