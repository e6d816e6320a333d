// The vehicle model's parts that loaded Assetto Corsa cars use (ac_core.sim.load_ac_car): front-,
// rear- and all-wheel drive, open and limited-slip differentials, a torque table with a turbo and
// its spool lag, grip-vs-load tables, a car without downforce, and the parameter checks.
#include <cmath>
#include <stdexcept>

#include "ac_core/sim/reference_driver.hpp"
#include "ac_core/sim/vehicle.hpp"
#include "check.hpp"

using namespace ac_core::sim;

namespace {

// A road-car-like parameter set: flat 200 N m table, 5 gears, no aero, no MGU-K.
VehicleParams road_car(Drive drive) {
    VehicleParams p;
    p.car_model = "test_car";
    p.mass_kg = 1100.0;
    p.yaw_inertia_kgm2 = 1500.0;
    p.cog_to_front_m = 1.0;
    p.cog_to_rear_m = 1.5;
    p.cog_height_m = 0.45;
    p.tyre_radius_m = 0.3;
    p.torque_curve_rpm = {0.0, 1000.0, 6000.0, 7000.0};
    p.torque_curve_nm = {100.0, 200.0, 200.0, 150.0};
    p.idle_rpm = 900.0;
    p.rev_limit_rpm = 6800.0;
    p.upshift_rpm = 6500.0;
    p.downshift_rpm = 4000.0;
    p.launch_rpm = 3000.0;
    p.gear_count = 5;
    const double gears[5] = {3.3, 2.0, 1.4, 1.1, 0.9};
    for (int g = 0; g < 5; ++g) p.gear_ratio[std::size_t(g)] = 1.0 / (gears[g] * 3.6);
    p.driveline_efficiency = 1.0;
    p.mguk_kw = 0.0;
    p.ers_energy_per_lap_j = 0.0;
    p.cla_m2 = 0.0;
    p.cda_m2 = 0.6;
    p.drive = drive;
    p.awd_front_share = 0.4;
    p.tyre_mu_front_lo = p.tyre_mu_front_hi = p.tyre_mu_rear_lo = p.tyre_mu_rear_hi = 1.1;
    return p;
}

void run(const VehicleModel& m, CarState& s, const CarControls& c, const RoadContact& road, int ticks) {
    for (int i = 0; i < ticks; ++i) m.step(s, c, road, kPhysicsDt);
}

}  // namespace

AC_TEST(front_wheel_drive_pushes_with_the_front_tyres_only) {
    VehicleModel m{road_car(Drive::Front)};
    CarState s = m.make_state(0, 0, 0, 10.0);
    CarControls c;
    c.throttle = 1.f;
    run(m, s, c, RoadContact{}, 333);
    CHECK(s.vx > 12.0);
    CHECK(s.fx[kFL] > 500.0 && s.fx[kFR] > 500.0);
    CHECK(s.fx[kRL] < 50.0 && s.fx[kRR] < 50.0);  // rolling resistance only
    CHECK(s.omega[kFL] > s.omega[kRL]);           // the driven wheels slip ahead of the road
}

AC_TEST(all_wheel_drive_splits_the_torque) {
    VehicleModel m{road_car(Drive::All)};
    CarState s = m.make_state(0, 0, 0, 10.0);
    CarControls c;
    c.throttle = 1.f;
    run(m, s, c, RoadContact{}, 333);
    CHECK(s.fx[kFL] > 300.0 && s.fx[kRL] > 300.0);
    // 40 % front: the rear pair pushes more (with the rearward load transfer)
    CHECK(s.fx[kRL] + s.fx[kRR] > s.fx[kFL] + s.fx[kFR]);
}

AC_TEST(an_open_differential_spins_the_wheel_on_ice_a_locked_one_does_not) {
    RoadContact ice;
    ice.grip = {1.0, 1.0, 0.1, 1.0};  // left rear on ice
    double gained[2], spin[2];
    for (int locked = 0; locked < 2; ++locked) {
        VehicleParams p = road_car(Drive::Rear);
        p.diff_preload_nm = locked ? 2000.0 : 0.0;
        p.diff_ramp = p.diff_ramp_coast = locked ? 1.0 : 0.0;
        VehicleModel m{p};
        CarState s = m.make_state(0, 0, 0, 5.0);
        CarControls c;
        c.throttle = 1.f;
        run(m, s, c, ice, 333);
        gained[locked] = s.vx - 5.0;
        spin[locked] = s.omega[kRL] - s.omega[kRR];
    }
    CHECK(spin[0] > 5.0 * std::fabs(spin[1]));
    // The open one still gives the gripping wheel half the torque while the other spins up (to the
    // rev limiter, which then cuts it); the locked one puts the engine's torque down in full.
    CHECK(gained[1] > 1.2 * gained[0]);
}

AC_TEST(a_turbo_spools_up_with_its_lag_and_multiplies_the_torque) {
    VehicleParams p = road_car(Drive::Rear);
    TurboParams t;
    t.max_boost = 1.0;
    t.wastegate = 0.8;
    t.reference_rpm = 2000.0;
    t.gamma = 1.0;
    t.lag_up = 0.995;
    t.lag_dn = 0.98;
    p.turbos = {t};
    VehicleModel m{p};
    CHECK_NEAR(m.engine_torque(4000.0), 200.0 * 1.8, 1e-9);   // steady state: capped by the wastegate
    CHECK_NEAR(m.engine_torque(1000.0), 200.0 * 1.5, 1e-9);   // below the reference rpm: 1 x (1000/2000)
    CHECK_NEAR(m.base_torque(4000.0), 200.0, 1e-9);
    CarState s = m.make_state(0, 0, 0, 20.0);
    CarControls c;
    c.throttle = 1.f;
    run(m, s, c, RoadContact{}, 1);
    CHECK(s.turbo_boost[0] > 0.0 && s.turbo_boost[0] < 0.01);  // one 3 ms tick of lag
    run(m, s, c, RoadContact{}, 3 * 333);
    CHECK_NEAR(s.turbo_boost[0], 0.8, 0.01);
    c.throttle = 0.f;
    run(m, s, c, RoadContact{}, 333);
    CHECK(s.turbo_boost[0] < 0.05);  // lag_dn: the boost falls off the throttle
}

AC_TEST(grip_tables_replace_the_linear_fit) {
    VehicleParams p = road_car(Drive::Rear);
    p.tyre_mu_table_step_n = 1000.0;
    p.tyre_mu_front_table = {2.0, 1.8, 1.6};
    p.tyre_mu_rear_table = {1.5, 1.4, 1.3};
    VehicleModel m{p};
    CHECK_NEAR(m.tyre_mu(true, 500.0), 1.9, 1e-12);
    CHECK_NEAR(m.tyre_mu(false, 1500.0), 1.35, 1e-12);
    CHECK_NEAR(m.tyre_mu(true, 9000.0), 1.6, 1e-12);  // clamped at the end
}

AC_TEST(a_car_without_downforce_carries_its_weight_only) {
    VehicleModel m{road_car(Drive::Front)};
    CarState s = m.make_state(0, 0, 0, 50.0);
    run(m, s, CarControls{}, RoadContact{}, 10);
    const double total = s.fz[0] + s.fz[1] + s.fz[2] + s.fz[3];
    CHECK_NEAR(total, 1100.0 * kGravity, 1100.0 * kGravity * 0.02);
}

AC_TEST(straight_line_run_reaches_the_gearing_limit) {
    const VehicleParams p = road_car(Drive::Front);
    const StraightLineResult r = straight_line_run(p, 120.0);
    const double limit_kmh = p.rev_limit_rpm * VehicleModel::kRpmToRadS * p.gear_ratio[4] * p.tyre_radius_m * 3.6;
    CHECK(r.time_to_100_kmh_s > 3.0 && r.time_to_100_kmh_s < 15.0);
    CHECK(r.top_speed_kmh < limit_kmh * 1.001);
    CHECK(r.top_gear == 5 || r.top_speed_kmh > 150.0);
}

AC_TEST(unusable_parameter_sets_are_refused) {
    VehicleParams p = road_car(Drive::Rear);
    p.gear_count = 0;
    CHECK_THROWS(VehicleModel{p});
    p = road_car(Drive::Rear);
    p.torque_curve_rpm = {0.0, 3000.0, 2000.0, 7000.0};
    CHECK_THROWS(VehicleModel{p});
    p = road_car(Drive::Rear);
    p.tyre_mu_front_table = {1.0};
    CHECK_THROWS(VehicleModel{p});
    p = road_car(Drive::Rear);
    p.gear_ratio[2] = 0.0;
    CHECK_THROWS(VehicleModel{p});
}

AC_TEST_MAIN("vehicle_loaded")
