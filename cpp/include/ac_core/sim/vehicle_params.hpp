// The parameter set of the built-in simulator's car. The defaults are "FormulaAlpha2022", a 2022-era
// Formula car; an Assetto Corsa car's data folder fills the same fields (ac_core.sim.load_ac_car,
// docs/simulator.md "Loaded cars").
//
// Every number comes from research/spa_and_f1_car_data.md §7 (sources: TUMFTM laptime-simulation
// F1_Shanghai.ini, fastest-lap ferrari-2022-australia fit, Brembo/Mercedes figures). Where the
// research gives a range, the chosen value and the reason are noted next to the field.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace ac_core::sim {

inline constexpr int kGearCount = 8;          // FormulaAlpha2022's forward gears
inline constexpr int kMaxGears = 10;          // room in gear_ratio; gear_count says how many are used
inline constexpr int kMaxTurbos = 4;
inline constexpr std::size_t kEngineCurvePoints = 10;
inline constexpr const char* kFormulaAlpha2022Name = "FormulaAlpha2022";

// Which wheels the engine drives (AC drivetrain.ini [TRACTION] TYPE).
enum class Drive : int { Rear = 0, Front = 1, All = 2 };

// One turbo as AC's engine.ini [TURBO_n] describes it: boost = min(wastegate, max_boost * min(1,
// (throttle * rpm / reference_rpm))^gamma), the torque multiplied by (1 + the sum of boosts). The
// spool follows that target with AC's per-3 ms lag factors (lag_up rising, lag_dn falling). A turbo
// controller on rpm (ctrl_turbo<n>.ini) replaces max_boost by a table over rpm (boost_rpm/boost_max).
struct TurboParams {
    double max_boost = 0.0;
    double wastegate = 0.0;        // 0: none
    double reference_rpm = 1.0;
    double gamma = 1.0;
    double lag_up = 0.99;
    double lag_dn = 0.99;
    std::vector<double> boost_rpm, boost_max;  // optional controller table (replaces max_boost)
};

struct VehicleParams {
    std::string car_model = kFormulaAlpha2022Name;  // static page carModel (an AC car's folder id)

    // ---- mass and geometry ----
    double mass_kg = 805.0;             // 798 kg minimum + ~7 kg quali fuel (§7)
    double yaw_inertia_kgm2 = 500.0;    // fastest-lap F1 fits
    double cog_to_front_m = 1.97;       // wheelbase 3.60 m, 45 % static load on the front
    double cog_to_rear_m = 1.63;
    double cog_height_m = 0.31;
    double track_front_m = 1.55;
    double track_rear_m = 1.55;
    // Share of lateral load transfer taken by the front axle. The fit has 0.498; 0.58 keeps the car
    // front-limited (stable) at the limit above ~100 km/h with the tyre set below.
    double roll_stiffness_front_share = 0.58;

    // ---- tyres: MF-simple (fastest-lap tire_pacejka), combined slip through rho = |(k/kmax, a/amax)| ----
    double tyre_radius_m = 0.36;            // 18-inch wheels
    // Shape factor C = Q. The fit's 1.9 leaves only sin(1.9 pi/2) = 16 % of the peak force when a
    // tyre slides fully (locked wheel, spin); 1.6 leaves 59 %, closer to real slicks, so that
    // lock-ups and wheelspin are recoverable. The peak stays at the fit's slip (S = pi / 2 atan Q).
    double tyre_shape_q = 1.6;
    double tyre_peak_slip_ratio = 0.11;     // kappa_max -> B_x = S / 0.11 = 13.1
    double tyre_peak_slip_angle_front_rad = 0.157;  // 9 deg -> B_y = 9.2 /rad (fit)
    // The rear tyres are much wider (405 vs 305 mm): stiffer, peak at 7 deg. With the fit's 9 deg and
    // its steep rear mu drop the car oversteers above ~200 km/h at our 45 % front weight (the fit
    // used 54.8 % front, research §4a calls that a fit artefact) and cannot be driven at speed.
    double tyre_peak_slip_angle_rear_rad = 0.122;
    // mu linear in Fz between two reference loads (2 kN and 8 kN), front and rear
    double tyre_mu_load_lo_n = 2000.0;
    double tyre_mu_load_hi_n = 8000.0;
    double tyre_mu_front_lo = 2.18, tyre_mu_front_hi = 1.78;
    // Rear at 8 kN: 1.80 instead of the fit's 1.40, for the same balance reason (see above); with
    // it the car understeers mildly in the linear range and at the limit.
    double tyre_mu_rear_lo = 2.20, tyre_mu_rear_hi = 1.80;
    double tyre_mu_floor = 0.90;            // the linear fit is extrapolated above 8 kN; never below this
    // A loaded car's friction coefficient per axle as a table over the load (sample i at i * step N,
    // linear, clamped at the ends); when set it replaces the linear fit above (lateral mu, AC's D_y).
    double tyre_mu_table_step_n = 0.0;
    std::vector<double> tyre_mu_front_table, tyre_mu_rear_table;
    // Longitudinal over lateral peak friction (AC D_x / D_y): the friction circle becomes an ellipse.
    double tyre_mu_x_scale_front = 1.0, tyre_mu_x_scale_rear = 1.0;
    double tyre_relaxation_length_m = 0.25; // lateral slip lag (also the low-speed lateral spring)
    double wheel_inertia_kgm2 = 1.2;        // wheel + tyre + brake disc, per wheel
    double rolling_resistance = 0.015;      // §7: 0.015-0.03 (lower end: racing slicks on tarmac)
    double rolling_resistance_v2 = 0.0;     // + this x (m/s)^2 (AC ROLLING_RESISTANCE_1 / 1000)

    // ---- aero ----
    double air_density = 1.18;
    double cda_m2 = 1.65;                   // DRS closed
    double cla_m2 = 5.0;                    // downforce
    double aero_front_share = 0.46;
    double drs_drag_factor = 0.83;          // DRS open: -17 % drag (TUM drs_factor 0.17)
    double drs_rear_downforce_factor = 0.80;  // the flap also sheds rear downforce (assumed 20 %)
    bool has_drs = true;                    // static page hasDRS (a loaded car sets the DRS factors to 1)

    // ---- power unit: ICE power curve (rpm, kW) + MGU-K ----
    // Peak 670 kW at 11 400 rpm, -41 kW at 10 500 and 12 200 rpm (TUM curve shape, 2022 fit level).
    std::array<double, kEngineCurvePoints> engine_rpm = {3000, 5000, 7000, 9000, 10500, 11400, 12200, 12600, 13000, 13500};
    std::array<double, kEngineCurvePoints> engine_kw = {110, 230, 380, 530, 629, 670, 629, 590, 560, 520};
    // A loaded car's full-throttle torque table (AC power.lut: rpm | N m, linear, clamped at the ends);
    // when set it replaces engine_rpm/engine_kw, and turbos multiply it by (1 + boost).
    std::vector<double> torque_curve_rpm, torque_curve_nm;
    std::vector<TurboParams> turbos;        // at most kMaxTurbos
    double idle_rpm = 4000.0;
    double rev_limit_rpm = 12600.0;
    double engine_inertia_kgm2 = 0.025;     // reflected through the gear ratio into the rear wheels
    // Engine braking at zero throttle: a + b * krpm (N m at the crank). Kept mild, as an F1 car's
    // engine-braking map does: the full friction torque through 1st/2nd gear would lock the
    // lightly loaded inside rear wheel in slow corners.
    double engine_friction_nm = 5.0;
    double engine_friction_nm_per_krpm = 2.0;
    double mguk_kw = 120.0;                 // deployed above mguk_min_speed while energy lasts
    double mguk_min_speed_mps = 27.8;       // ~100 km/h (TUM)
    double ers_energy_per_lap_j = 4.0e6;    // 4 MJ/lap deployment limit, refilled at the line
    double driveline_efficiency = 0.96;
    // Tyre-to-engine speed ratios (omega_wheel / omega_engine), gears 1..8 (TUM F1_Shanghai.ini).
    std::array<double, kMaxGears> gear_ratio = {0.040, 0.070, 0.095, 0.117, 0.143, 0.172, 0.190, 0.206, 0.0, 0.0};
    int gear_count = kGearCount;
    double reverse_ratio = 0.040;
    double upshift_rpm = 11800.0;
    double downshift_rpm = 9000.0;          // downshift when the lower gear would run below upshift - margin
    double min_shift_interval_s = 0.15;
    // The automatic box shifts up only while the road speed is within this share of the rear wheel
    // speed (slip ratio <= ~0.14, just past the tyre's 0.11 peak): it holds the gear on a spinning axle.
    double upshift_slip_allowance = 0.12;
    double launch_rpm = 9000.0;             // clutch slips to this rpm when pulling away
    // Limited-slip differential: locking torque = preload + ramp * |input torque|, driven by the
    // rear wheel speed difference with this gain.
    double diff_preload_nm = 150.0;
    double diff_ramp = 0.25;
    double diff_ramp_coast = 0.25;          // the same ramp on overrun (AC [DIFFERENTIAL] COAST)
    double diff_lock_gain_nm_per_radps = 300.0;
    Drive drive = Drive::Rear;
    double awd_front_share = 0.0;           // Drive::All: share of the torque sent to the front axle
    // Drive cut for this long after each gear change (AC CHANGE_UP_TIME); 0 = seamless (F1 box).
    double shift_cut_s = 0.0;

    // ---- brakes ----
    double max_brake_torque_nm = 14000.0;   // total; 5.9 g peak at 330 km/h with drag (Brembo, Bus Stop)
    double brake_bias_front = 0.60;         // §7: 0.60-0.64

    // ---- steering ----
    double max_steer_rad = 0.35;            // road-wheel lock at steer = +-1 (~20 deg; F1 hairpin radius ~6 m)
    double steer_rate_rad_s = 2.5;          // road-wheel angle slew-rate limit (applied in the sim)

    // ---- suspension (only for pages: travel, ride height; the model is rigid) ----
    double wheel_rate_front_n_m = 200000.0;
    double wheel_rate_rear_n_m = 180000.0;
    double ride_height_front_m = 0.030;
    double ride_height_rear_m = 0.075;
    double suspension_max_travel_m = 0.06;

    // ---- temperatures, pressures, wear (pages only: grip does not depend on them, docs/simulator.md) ----
    // Lumped model per wheel: a tyre surface and a core node, heated by the sliding power (force x
    // slip velocity) of the patch and cooled by the air and the road faster with speed; a brake disc
    // heated by the braking power (torque x wheel speed) and cooled likewise.
    double ambient_c = 24.0;                    // air (page airTemp); the road is 32 C
    double tyre_start_c = 80.0;                 // out of the tyre blankets
    double brake_start_c = 150.0;
    double tyre_heat_share = 0.7;               // share of the sliding power that heats the tyre (rest: road)
    double tyre_surface_heat_j_k = 3000.0;      // tread surface layer
    double tyre_core_heat_j_k = 15000.0;        // carcass and gas
    double tyre_surface_core_w_k = 300.0;
    double tyre_cooling_w_k = 15.0;             // surface to air and road, standing
    double tyre_cooling_w_k_per_mps = 1.2;      // ... growing with speed (forced convection)
    double tyre_hot_pressure_psi = 21.5;        // gauge pressure at tyre_hot_core_c (2022 minimums ~20-23 psi)
    double tyre_hot_core_c = 100.0;
    double tyre_wear_per_mj = 0.004;            // share of the tread per MJ of sliding energy (~0.5 %/lap)
    double brake_heat_j_k = 1500.0;             // carbon disc and pads, per wheel
    double brake_cooling_w_k = 10.0;
    double brake_cooling_w_k_per_mps = 0.8;

    // ---- fuel ----
    double fuel_l = 10.0;                   // quali fuel (~7 kg at 0.75 kg/l), counted in mass_kg
    double max_fuel_l = 140.0;              // 110 kg limit / 0.75 kg/l + margin (static page only)
    double fuel_l_per_s_full = 0.035;       // ~100 kg/h fuel-flow limit at full power

    double wheelbase() const { return cog_to_front_m + cog_to_rear_m; }
};

// The documented parameter set; the default member values above are FormulaAlpha2022.
inline VehicleParams formula_alpha_2022() { return VehicleParams{}; }

}  // namespace ac_core::sim
