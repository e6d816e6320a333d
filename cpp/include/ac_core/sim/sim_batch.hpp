// N cars of the built-in simulator on one track, advanced in lockstep, each with its own AC pages.
//
// One call to step(k) runs k physics ticks (333 Hz) for every car with the controls currently in
// controls(), then writes each car's PhysicsPage and GraphicsPage once (packetId advances by k, as
// AC's does once per tick). The page arrays are contiguous, so Python sees them as NumPy structured
// arrays without copies. Cars do not interact (no car-to-car contact).
//
// Everything is deterministic: the same start state and control sequence give bit-identical pages
// (no clocks, no randomness, no threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ac_core/core/pages.hpp"
#include "ac_core/sim/vehicle.hpp"
#include "ac_core/track/track.hpp"

namespace ac_core::sim {

// One car's controls for the next step. Layout is fixed (NumPy views it as CONTROLS_DTYPE).
struct alignas(4) CarInput {
    float steer = 0.f;     // [-1, 1], negative = left
    float throttle = 0.f;  // [0, 1]
    float brake = 0.f;     // [0, 1]
    float clutch = 0.f;    // [0, 1], 1 = disengaged
    int8_t shift = 0;      // +1 up / -1 down, applied once at the first tick of the next step (manual box)
    uint8_t drs = 0;       // 1 = DRS requested open
    uint8_t reserved[2] = {0, 0};
};
static_assert(sizeof(CarInput) == 20);

enum class LapStart : int { PitOut = 0, Flying = 1, Standing = 2 };

struct SimOptions {
    std::string weather = "clear";     // clear | damp | wet (see weather_grip())
    std::string lap_start = "flying";  // pit_out | flying | standing
    bool auto_shift = true;            // false: the car obeys CarInput::shift (AC "manual")
    double pit_out_speed_kmh = 80.0;   // pit_out: speed at the pit exit (pit-lane limiter)
    double flying_distance_m = 300.0;  // flying: metres before the line the car starts
    double flying_speed_kmh = 220.0;   // flying: speed there
    // Barrier contact: share of the speed into the wall that is kept (bounced back) and of the
    // speed along it; damage added per km/h of impact speed.
    double barrier_restitution = 0.2;
    double barrier_tangential_keep = 0.6;
    double damage_per_kmh = 1.0;
    int session = 3;                   // AcSessionType (3 = Hotlap)
    int number_of_laps = 0;            // graphics.numberOfLaps (0 = unlimited practice/hotlap)
};

// Grip factor of a weather name; throws std::invalid_argument listing the valid names.
double weather_grip(const std::string& weather);
std::vector<std::string> weather_names();
LapStart parse_lap_start(const std::string& name);

// Per-car timing and track position (also readable from Python for tests and the reference lap).
struct CarProgress {
    double s = 0;                 // arc length on the track, [0, length)
    double lateral = 0;           // + = left of the centre line
    double heading_error = 0;     // psi_car - psi_track
    double distance = 0;          // unwrapped distance along the track since the reset (can be < 0)
    double next_line = 0;         // unwrapped distance of the next start/finish crossing
    double time_s = 0;            // simulated time since the reset
    double lap_start_time_s = 0;  // time at which the current timed lap began
    double sector_start_time_s = 0;
    bool timing = false;          // false on an out-lap / before the first crossing
    int sector = 0;
    int completed_laps = 0;
    int last_lap_ms = 0, best_lap_ms = 0, last_sector_ms = 0;
    int tyres_out = 0;
    uint32_t tyres_out_mask = 0;  // bit i = wheel i (FL, FR, RL, RR) off the track
    int collisions = 0;
    float damage[5] = {0, 0, 0, 0, 0};
    int32_t packet_id = 0;
    int32_t graphics_packet_id = 0;
    double distance_traveled = 0; // odometer, m
    // body attitude of the last pages (rad) and when they were written, for the pitch and roll rates
    double page_pitch = 0, page_roll = 0, page_time_s = -1;
};

// The car's axes in the world frame (x, y up, z) from the page's heading, pitch (+ = nose up) and
// roll (+ = left side up, i.e. leaning right: the right-hand rule about the forward axis in the
// page's (left, up, forward) frame). The page's local vectors are components along these axes.
struct CarAxes {
    double left[3], up[3], forward[3];
};
CarAxes car_axes(double heading, double pitch, double roll);

class SimBatch {
public:
    SimBatch(std::size_t n_cars, std::shared_ptr<const Track> track, const VehicleParams& params = {},
             SimOptions options = {});

    std::size_t size() const { return cars_.size(); }
    const Track& track() const { return *track_; }
    const VehicleModel& model() const { return model_; }
    const SimOptions& options() const { return options_; }

    // Controls for the next step, one per car (written in place, e.g. through a NumPy view).
    CarInput* controls() { return inputs_.data(); }
    // k physics ticks for every car (k >= 1), then the pages. Does nothing while paused.
    void step(int k = 1);

    // Reset one car (or all) to the configured lap start; clears timing, damage and counters.
    void reset(std::size_t car);
    void reset_all();
    // Put a car at arc length s, `lateral` m left of the centre line, heading offset from the track
    // direction (rad, + = left) and speed (m/s). Timing restarts as an out-lap (the next line
    // crossing starts a timed lap). Damage and lap counts are kept unless clear_history.
    void teleport(std::size_t car, double s, double lateral, double heading_offset, double speed_mps,
                  bool clear_history = false);

    void set_paused(bool paused);
    bool paused() const { return paused_; }

    PhysicsPage* physics_pages() { return physics_.data(); }
    GraphicsPage* graphics_pages() { return graphics_.data(); }
    StaticPage& static_page() { return static_; }
    const CarState& state(std::size_t car) const { return cars_.at(car); }
    CarState& mutable_state(std::size_t car) { return cars_.at(car); }
    const CarProgress& progress(std::size_t car) const { return progress_.at(car); }
    double weather_grip_factor() const { return weather_grip_; }
    // Re-writes every car's pages from the current state (step() does this itself).
    void write_pages();

private:
    void tick(std::size_t car, const CarControls& c);
    void update_track_state(std::size_t car, double dt);
    void write_car_pages(std::size_t car);
    void fill_static_page();

    std::shared_ptr<const Track> track_;
    VehicleModel model_;
    SimOptions options_;
    LapStart lap_start_;
    double weather_grip_;
    bool paused_ = false;
    std::vector<CarState> cars_;
    std::vector<CarProgress> progress_;
    std::vector<RoadContact> road_;
    std::vector<CarInput> inputs_;
    std::vector<PhysicsPage> physics_;
    std::vector<GraphicsPage> graphics_;
    StaticPage static_{};
};

// AC's lap-time text: "m:ss:mmm" (e.g. "1:45:123"); "-:--:---" for none (<= 0).
void format_lap_time(int ms, char16_t* out, std::size_t units);

}  // namespace ac_core::sim
