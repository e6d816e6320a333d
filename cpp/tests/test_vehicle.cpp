// Core physics invariants of the built-in simulator's vehicle model (no track: flat road).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ac_core/sim/reference_driver.hpp"
#include "ac_core/sim/sim_batch.hpp"
#include "ac_core/track/track.hpp"
#include "ac_core/sim/vehicle.hpp"
#include "check.hpp"

using namespace ac_core::sim;

namespace {

void run(const VehicleModel& m, CarState& s, const CarControls& c, int ticks) {
    RoadContact road;
    for (int i = 0; i < ticks; ++i) m.step(s, c, road, kPhysicsDt);
}

double speed(const CarState& s) { return std::hypot(s.vx, s.vy); }

}  // namespace

AC_TEST(parked_car_stays_put) {
    VehicleModel m{VehicleParams{}};
    CarState s = m.make_state(10.0, -5.0, 0.3, 0.0);
    run(m, s, CarControls{}, 3 * 333);
    CHECK_NEAR(s.x, 10.0, 1e-9);
    CHECK_NEAR(s.z, -5.0, 1e-9);
    CHECK_NEAR(s.yaw, 0.3, 1e-12);
    CHECK(speed(s) < 1e-9);
    for (double w : s.omega) CHECK(std::isfinite(w));
}

AC_TEST(static_loads_sum_to_weight) {
    VehicleModel m{VehicleParams{}};
    CarState s = m.make_state(0, 0, 0, 0.0);
    run(m, s, CarControls{}, 10);
    const double total = s.fz[0] + s.fz[1] + s.fz[2] + s.fz[3];
    CHECK_NEAR(total, 805.0 * kGravity, 1.0);
    CHECK_NEAR((s.fz[0] + s.fz[1]) / total, 1.63 / 3.60, 1e-3);  // 45 % front
}

AC_TEST(coasting_decelerates_and_drag_grows_with_speed) {
    VehicleModel m{VehicleParams{}};
    double decel[2];
    const double v0[2] = {40.0, 80.0};
    for (int k = 0; k < 2; ++k) {
        CarState s = m.make_state(0, 0, 0, v0[k]);
        run(m, s, CarControls{}, 333);
        CHECK(s.vx < v0[k]);
        CHECK(std::fabs(s.vy) < 1e-6);
        decel[k] = v0[k] - s.vx;
    }
    CHECK(decel[1] > 2.5 * decel[0]);  // ~v^2 drag dominates
}

AC_TEST(launch_accelerates_and_upshifts) {
    VehicleModel m{VehicleParams{}};
    CarState s = m.make_state(0, 0, 0, 0.0);
    CarControls c;
    c.throttle = 0.6f;
    run(m, s, c, 4 * 333);
    CHECK(s.vx > 25.0);
    CHECK(s.gear >= 2);
    CHECK(s.engine_rpm <= m.params().rev_limit_rpm + 200.0);
}

// Full throttle from rest (what an RL episode does after a reset): the rear axle spins at first, and
// the automatic box must not climb the gears on the spinning wheels. Each gear is first reached at
// about the road speed its predecessor's shift point gives (upshift rpm through the previous ratio),
// never far below it, and 8th only above 250 km/h.
AC_TEST(full_throttle_standing_start_climbs_the_gears_on_road_speed) {
    VehicleModel m{VehicleParams{}};
    const VehicleParams& p = m.params();
    CarState s = m.make_state(0, 0, 0, 0.0);
    CarControls c;
    c.throttle = 1.0f;
    RoadContact road;
    double first_speed_kmh[kGearCount + 1] = {};
    double max_rear_slip_in_first = 0.0;
    for (int i = 0; i < 40 * 333 && s.gear < kGearCount; ++i) {
        m.step(s, c, road, kPhysicsDt);
        if (first_speed_kmh[s.gear] == 0.0) first_speed_kmh[s.gear] = std::max(s.vx, 1e-6) * 3.6;
        if (s.gear == 1) max_rear_slip_in_first = std::max(max_rear_slip_in_first, s.slip_ratio[kRL]);
    }
    CHECK(max_rear_slip_in_first > 0.3);  // the launch does spin the rear wheels
    CHECK_EQ(s.gear, kGearCount);
    for (int g = 2; g <= kGearCount; ++g) {
        const double shift_point_kmh = p.upshift_rpm * VehicleModel::kRpmToRadS * m.ratio(g - 1) * p.tyre_radius_m * 3.6;
        std::printf("  gear %d first at %.1f km/h (shift point of gear %d: %.1f km/h)\n", g, first_speed_kmh[g], g - 1,
                    shift_point_kmh);
        CHECK(first_speed_kmh[g] > first_speed_kmh[g - 1]);
        CHECK(first_speed_kmh[g] >= (1.0 - p.upshift_slip_allowance) * shift_point_kmh - 1.0);
        CHECK(first_speed_kmh[g] <= shift_point_kmh * 1.05);
    }
    CHECK(first_speed_kmh[kGearCount] > 250.0);
}

AC_TEST(power_curve_peak_and_top_speed_plausible) {
    VehicleModel m{VehicleParams{}};
    CHECK_NEAR(m.max_power_w(), 670e3, 2e3);
    CHECK(m.max_torque_nm() > 500.0 && m.max_torque_nm() < 700.0);
    // full throttle from 250 km/h for 30 s on a straight: settles near the drag limit
    CarState s = m.make_state(0, 0, 0, 250 / 3.6);
    CarControls c;
    c.throttle = 1.f;
    run(m, s, c, 30 * 333);
    CHECK(s.vx * 3.6 > 300.0);
    CHECK(s.vx * 3.6 < 352.0);
}

AC_TEST(straight_braking_is_symmetric_and_strong) {
    VehicleModel m{VehicleParams{}};
    CarState s = m.make_state(0, 0, 0, 300 / 3.6);
    CarControls c;
    c.brake = 1.f;
    run(m, s, c, 10);
    CHECK(-s.ax / kGravity > 4.0);
    CHECK(-s.ax / kGravity < 7.0);
    run(m, s, c, 5 * 333);
    CHECK(s.vx < 1.0);
    CHECK(std::fabs(s.yaw) < 1e-9);
    CHECK(std::fabs(s.vy) < 1e-9);
}

AC_TEST(mirrored_steering_mirrors_the_motion) {
    VehicleModel m{VehicleParams{}};
    CarState a = m.make_state(0, 0, 0, 30.0), b = m.make_state(0, 0, 0, 30.0);
    CarControls ca, cb;
    ca.steer = 0.3f;
    cb.steer = -0.3f;
    ca.throttle = cb.throttle = 0.2f;
    run(m, a, ca, 333);
    run(m, b, cb, 333);
    CHECK_NEAR(a.r, -b.r, 1e-9);
    CHECK_NEAR(a.vy, -b.vy, 1e-9);
    CHECK(b.r > 0.1);  // steer < 0 (left) turns left: yaw rate positive
}

AC_TEST(tyre_forces_stay_inside_the_friction_limit) {
    VehicleModel m{VehicleParams{}};
    CarState s = m.make_state(0, 0, 0, 50.0);
    CarControls c;
    c.steer = -1.f;
    c.throttle = 1.f;
    RoadContact road;
    for (int i = 0; i < 2 * 333; ++i) {
        m.step(s, c, road, kPhysicsDt);
        for (int w = 0; w < 4; ++w) {
            const double limit = m.tyre_mu(w < 2, s.fz[w]) * s.fz[w];
            CHECK(std::hypot(s.fx[w], s.fy[w]) <= limit * 1.001 + 1.0);
        }
    }
}

AC_TEST(low_grip_surface_reduces_cornering) {
    VehicleModel m{VehicleParams{}};
    double ay[2];
    for (int k = 0; k < 2; ++k) {
        CarState s = m.make_state(0, 0, 0, 25.0);
        CarControls c;
        c.steer = -0.6f;
        c.throttle = 0.25f;
        RoadContact road;
        road.grip = k == 0 ? std::array<double, 4>{1, 1, 1, 1} : std::array<double, 4>{0.5, 0.5, 0.5, 0.5};
        for (int i = 0; i < 333; ++i) m.step(s, c, road, kPhysicsDt);
        ay[k] = std::fabs(s.ay);
    }
    CHECK(ay[1] < 0.75 * ay[0]);
}

AC_TEST(uphill_grade_slows_a_coasting_car) {
    VehicleModel m{VehicleParams{}};
    CarState flat = m.make_state(0, 0, 0, 30.0), hill = m.make_state(0, 0, 0, 30.0);
    RoadContact r0, r1;
    r1.grade = 0.10;
    for (int i = 0; i < 333; ++i) {
        m.step(flat, CarControls{}, r0, kPhysicsDt);
        m.step(hill, CarControls{}, r1, kPhysicsDt);
    }
    CHECK(hill.vx < flat.vx - 0.5);
}

AC_TEST(same_inputs_give_bit_identical_states) {
    VehicleModel m{VehicleParams{}};
    CarState a = m.make_state(1, 2, 0.1, 20.0), b = m.make_state(1, 2, 0.1, 20.0);
    RoadContact road;
    for (int i = 0; i < 1000; ++i) {
        CarControls c;
        c.steer = float(std::sin(i * 0.01));
        c.throttle = float(0.5 + 0.5 * std::cos(i * 0.003));
        c.brake = i % 200 < 20 ? 0.5f : 0.f;
        m.step(a, c, road, kPhysicsDt);
        m.step(b, c, road, kPhysicsDt);
    }
    CHECK(std::memcmp(&a.x, &b.x, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.omega, &b.omega, sizeof(a.omega)) == 0);
    CHECK_EQ(a.gear, b.gear);
}

AC_TEST(weather_and_lap_start_names_are_checked) {
    CHECK_NEAR(weather_grip("clear"), 1.0, 0.0);
    CHECK(weather_grip("wet") < 0.8);
    CHECK_THROWS(weather_grip("snow"));
    CHECK(parse_lap_start("pit_out") == LapStart::PitOut);
    CHECK_THROWS(parse_lap_start("rolling"));
}

AC_TEST(lap_time_text_matches_ac_format) {
    char16_t buf[15];
    format_lap_time(103385, buf, 15);
    const char* want = "1:43:385";
    for (int i = 0; want[i]; ++i) CHECK(buf[i] == char16_t(want[i]));
    format_lap_time(0, buf, 15);
    CHECK(buf[0] == u'-');
}

AC_TEST(batch_with_reference_driver_on_spa_fills_consistent_pages) {
    auto track = ac_core::builtin_track("spa");
    SimBatch sim(2, track);
    ReferenceDriver drivers[2] = {ReferenceDriver(track, sim.model()), ReferenceDriver(track, sim.model())};
    const double start = sim.progress(0).distance;
    for (int t = 0; t < 10 * 333; ++t) {
        for (std::size_t car = 0; car < 2; ++car)
            sim.controls()[car] = drivers[car].control(sim.state(car), sim.progress(car));
        sim.step(1);
    }
    CHECK(sim.progress(0).distance - start > 500.0);
    CHECK_EQ(sim.progress(0).collisions, 0);
    const ac_core::PhysicsPage& ph = sim.physics_pages()[0];
    CHECK_EQ(ph.packetId, 10 * 333);
    const double v = std::sqrt(double(ph.velocity[0]) * ph.velocity[0] + double(ph.velocity[1]) * ph.velocity[1] +
                               double(ph.velocity[2]) * ph.velocity[2]);
    CHECK_NEAR(ph.speedKmh, v * 3.6, 1e-3);
    CHECK_EQ(ph.gear, sim.state(0).gear + 1);
    CHECK_NEAR(sim.graphics_pages()[0].normalizedCarPosition, sim.progress(0).s / track->length(), 1e-6);
    // both cars got the same controls from the same start: identical pages
    CHECK(std::memcmp(&sim.physics_pages()[0], &sim.physics_pages()[1], sizeof(ac_core::PhysicsPage)) == 0);
}

AC_TEST(paused_batch_does_not_advance) {
    auto track = ac_core::builtin_track("spa");
    SimBatch sim(1, track);
    sim.step(5);
    sim.set_paused(true);
    sim.step(5);
    CHECK_EQ(sim.physics_pages()[0].packetId, 5);
    CHECK_EQ(sim.graphics_pages()[0].status, int32_t(ac_core::AcStatus::Pause));
    CHECK_THROWS(sim.step(0));
}

AC_TEST_MAIN("vehicle")
