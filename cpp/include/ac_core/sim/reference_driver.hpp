// The model-based reference driver of the built-in simulator.
//
// 1. Racing line: a lateral offset profile n(s) on the track's centre line that minimises the summed
//    squared second difference of the line's points (a discrete minimum-curvature line), kept
//    `edge_margin_m` inside both edges; solved on a coarse grid (banded direct solves inside an
//    active-set loop for the edge bounds), then interpolated (cubic) to the fine grid.
// 2. Speed profile (on the line's curvature averaged over +-12 m): quasi-steady-state forward/backward passes on the line with the car's own g-g-v
//    envelope (tyre grip with load sensitivity and aero load, power curve in the best gear + MGU-K,
//    drag, rolling resistance, brake torque limit, road grade), friction ellipse between them.
// 3. Tracking (in the sim, once per tick): steering = line curvature feed-forward + Stanley
//    (heading error and front-axle cross-track error) + yaw-rate damping; speed by feed-forward profile acceleration plus a
//    proportional term, mapped onto throttle or brake, with the driver's own traction and lock-up
//    guards (the car has no TC or ABS).
#pragma once

#include <memory>
#include <vector>

#include "ac_core/sim/sim_batch.hpp"
#include "ac_core/sim/vehicle.hpp"
#include "ac_core/track/track.hpp"

namespace ac_core::sim {

struct DriverOptions {
    double line_spacing_m = 2.0;      // fine grid of the line and the profile
    double coarse_spacing_m = 5.0;    // grid of the curvature minimisation
    double edge_margin_m = 1.2;       // car half-width (0.8 m) + safety from each edge
    double curvature_window_m = 12.0; // line curvature is averaged over +- this for the profile
    double lateral_grip_use = 0.96;   // share of the model's lateral limit the profile plans with
    double longitudinal_grip_use = 0.95;
    double stanley_gain = 2.0;        // 1/s: cross-track error gain (Stanley)
    double stanley_soft_mps = 5.0;    // softening speed of the cross-track term
    double front_slip_limit = 1.15;   // x peak slip angle: the driver adds no lock beyond it
    double steer_preview_s = 0.08;    // curvature feed-forward read this far ahead (steering lag)
    double yaw_damping_s = 0.08;      // rad of steer per rad/s of excess yaw rate
    double speed_gain = 1.2;          // 1/s: acceleration command per m/s of speed error
    double preview_s = 0.10;          // the speed target is read this far ahead (actuator lag)
};

struct ReferenceLapSample {
    double time_s, s, x, z, speed_kmh, lateral_g, longitudinal_g, throttle, brake, steer;
    int gear;
};

struct ReferenceLapResult {
    bool completed = false;
    double lap_time_s = 0;
    double track_length_m = 0;
    double top_speed_kmh = 0;
    double min_speed_kmh = 0;
    double peak_lateral_g = 0;
    double peak_braking_g = 0;
    double full_throttle_share = 0;   // of distance
    int tyres_out_ticks = 0;
    int collisions = 0;
    std::vector<ReferenceLapSample> trace;  // the timed lap, one sample per tick
};

class ReferenceDriver {
public:
    ReferenceDriver(std::shared_ptr<const Track> track, const VehicleModel& model, DriverOptions options = {},
                    double grip_factor = 1.0);

    // The planned line and profile on the fine grid (sample i at s = i * spacing).
    const std::vector<double>& line_lateral() const { return lateral_; }
    const std::vector<double>& line_curvature() const { return curvature_; }
    const std::vector<double>& speed_profile() const { return speed_; }
    double spacing() const { return spacing_; }
    double planned_lap_time() const { return planned_time_; }
    double lateral_at(double s) const;
    double speed_at(double s) const;
    double line_heading_offset(double s) const;  // line heading minus track heading, rad

    // Controls for one car from its state. Stateful (traction and lock-up guards): use one driver
    // per car. The guards recover per physics tick elapsed since the previous call (from the car's
    // simulated time), so a driver asked every tick and one asked at 10 Hz recover alike in time.
    CarInput control(const CarState& state, const CarProgress& progress);
    void reset_guards();

private:
    void build_line();
    void build_envelope();
    void build_profile();
    double interp(const std::vector<double>& v, double s) const;
    double lateral_limit(double v) const;    // m/s^2 at speed v (table)
    double accel_limit(double v) const;      // m/s^2, full throttle, tyre/power limited, before drag
    double brake_limit(double v) const;      // m/s^2, tyre/brake-torque limited, before drag

    std::shared_ptr<const Track> track_;
    const VehicleModel& model_;
    DriverOptions opt_;
    double grip_;
    double spacing_ = 2.0;
    std::size_t n_ = 0;
    std::vector<double> lateral_, curvature_, speed_, grade_, heading_offset_;
    std::vector<double> env_ay_, env_ax_, env_brake_;  // per 1 m/s
    double planned_time_ = 0;
    double throttle_limit_ = 1.0, brake_limit_ = 1.0;
    double last_call_time_s_ = -1.0;  // the car's simulated time at the previous control() call
};

// A standing start on a flat straight at full throttle (the automatic box's shifts, a driver's
// wheelspin guard on the driven wheels), as published 0-100 km/h and top-speed figures are meant.
struct StraightLineResult {
    double time_to_100_kmh_s = -1;   // -1: not reached
    double time_to_97_kmh_s = -1;    // 0-60 mph, as some ui figures are given
    double top_speed_kmh = 0;        // the speed the car settles at (or reaches by max_time_s)
    double time_to_top_s = 0;
    int top_gear = 0;                // gear at the top speed
    double top_rpm = 0;
    bool rev_limited = false;        // the top speed is the rev limiter's in the top gear
    std::vector<double> speed_kmh;   // every 0.1 s
};
StraightLineResult straight_line_run(const VehicleParams& params = {}, double max_time_s = 150.0);

// Drives one flying lap with the reference driver on `track` and reports it. The car starts
// `run_up_m` before the line at the planned speed; the timed lap is the first full lap after it.
ReferenceLapResult run_reference_lap(std::shared_ptr<const Track> track, const VehicleParams& params = {},
                                     const std::string& weather = "clear", DriverOptions options = {},
                                     double run_up_m = 600.0, double time_limit_s = 400.0);

}  // namespace ac_core::sim
