// Bindings for the built-in simulator: vehicle parameters, SimBatch with zero-copy NumPy page views,
// the reference driver / reference lap, and the real-time process runner. No logic here.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <vector>
#include <string>

#include "ac_core/sim/realtime_runner.hpp"
#include "ac_core/sim/reference_driver.hpp"
#include "ac_core/sim/sim_batch.hpp"
#include "ac_core/sim/vehicle_params.hpp"
#include "bindings.hpp"

namespace py = pybind11;
using namespace ac_core;
using namespace ac_core::sim;

namespace {

py::object page_dtype(const char* name) { return py::module_::import("ac_core.pages").attr(name); }

py::dtype controls_dtype() {
    py::dict spec;
    spec["names"] = py::make_tuple("steer", "throttle", "brake", "clutch", "shift", "drs");
    spec["formats"] = py::make_tuple("<f4", "<f4", "<f4", "<f4", "i1", "u1");
    spec["offsets"] = py::make_tuple(0, 4, 8, 12, 16, 17);
    spec["itemsize"] = int(sizeof(CarInput));
    return py::dtype::from_args(spec);
}

// A NumPy view of `count` structs at `ptr`, kept alive by `owner`.
py::array struct_view(py::object dtype, std::size_t count, std::size_t stride, void* ptr, py::handle owner) {
    return py::array(py::reinterpret_borrow<py::dtype>(dtype), {py::ssize_t(count)}, {py::ssize_t(stride)}, ptr, owner);
}

void check_car(const SimBatch& s, std::size_t car) {
    if (car >= s.size())
        throw py::index_error("car " + std::to_string(car) + " out of range (batch of " + std::to_string(s.size()) + ")");
}

py::dict state_dict(const CarState& st) {
    py::dict d;
    d["x"] = st.x;
    d["z"] = st.z;
    d["yaw"] = st.yaw;
    d["vx"] = st.vx;
    d["vy"] = st.vy;
    d["r"] = st.r;
    d["omega"] = st.omega;
    d["slip_angle"] = st.slip_angle;
    d["slip_ratio"] = st.slip_ratio;
    d["steer_angle"] = st.steer_angle;
    d["gear"] = st.gear;
    d["engine_rpm"] = st.engine_rpm;
    d["ers_energy_j"] = st.ers_energy_j;
    d["fuel_l"] = st.fuel_l;
    d["drs_open"] = st.drs_open;
    d["ax"] = st.ax;
    d["ay"] = st.ay;
    d["az"] = st.az;
    d["fz"] = st.fz;
    d["fx"] = st.fx;
    d["fy"] = st.fy;
    return d;
}

py::dict progress_dict(const CarProgress& p) {
    py::dict d;
    d["s"] = p.s;
    d["lateral"] = p.lateral;
    d["heading_error"] = p.heading_error;
    d["distance"] = p.distance;
    d["time_s"] = p.time_s;
    d["lap_start_time_s"] = p.lap_start_time_s;
    d["timing"] = p.timing;
    d["sector"] = p.sector;
    d["completed_laps"] = p.completed_laps;
    d["last_lap_ms"] = p.last_lap_ms;
    d["best_lap_ms"] = p.best_lap_ms;
    d["last_sector_ms"] = p.last_sector_ms;
    d["tyres_out"] = p.tyres_out;
    d["collisions"] = p.collisions;
    d["damage"] = std::vector<float>(std::begin(p.damage), std::end(p.damage));
    d["distance_traveled"] = p.distance_traveled;
    return d;
}

py::array trace_array(const std::vector<ReferenceLapSample>& trace) {
    py::dict spec;
    spec["names"] = py::make_tuple("time_s", "s", "x", "z", "speed_kmh", "lateral_g", "longitudinal_g", "throttle", "brake",
                                   "steer", "gear");
    spec["formats"] = py::make_tuple("<f8", "<f8", "<f8", "<f8", "<f8", "<f8", "<f8", "<f8", "<f8", "<f8", "<i4");
    spec["offsets"] = py::make_tuple(offsetof(ReferenceLapSample, time_s), offsetof(ReferenceLapSample, s),
                                     offsetof(ReferenceLapSample, x), offsetof(ReferenceLapSample, z),
                                     offsetof(ReferenceLapSample, speed_kmh), offsetof(ReferenceLapSample, lateral_g),
                                     offsetof(ReferenceLapSample, longitudinal_g), offsetof(ReferenceLapSample, throttle),
                                     offsetof(ReferenceLapSample, brake), offsetof(ReferenceLapSample, steer),
                                     offsetof(ReferenceLapSample, gear));
    spec["itemsize"] = int(sizeof(ReferenceLapSample));
    py::array out(py::dtype::from_args(spec), std::vector<py::ssize_t>{py::ssize_t(trace.size())});
    if (!trace.empty()) std::memcpy(out.mutable_data(), trace.data(), trace.size() * sizeof(ReferenceLapSample));
    return out;
}

std::shared_ptr<const Track> need_track(const std::shared_ptr<Track>& t) {
    if (!t) throw py::value_error("a track is required (ac_core.track.load_track('spa').core)");
    return t;
}

}  // namespace

void ac_core::py_bindings::bind_sim(py::module_& m) {
    m.attr("PHYSICS_HZ") = kPhysicsHz;
    m.attr("CAR_MODEL") = kFormulaAlpha2022Name;
    m.def("weather_names", &weather_names);
    m.def("weather_grip", &weather_grip, py::arg("weather"));

    py::enum_<Drive>(m, "Drive", "Driven wheels (AC drivetrain.ini [TRACTION] TYPE)")
        .value("REAR", Drive::Rear)
        .value("FRONT", Drive::Front)
        .value("ALL", Drive::All);

    py::class_<TurboParams>(m, "TurboParams", "One turbo as AC's engine.ini [TURBO_n] (see vehicle_params.hpp)")
        .def(py::init<>())
        .def_readwrite("max_boost", &TurboParams::max_boost)
        .def_readwrite("wastegate", &TurboParams::wastegate)
        .def_readwrite("reference_rpm", &TurboParams::reference_rpm)
        .def_readwrite("gamma", &TurboParams::gamma)
        .def_readwrite("lag_up", &TurboParams::lag_up)
        .def_readwrite("lag_dn", &TurboParams::lag_dn)
        .def_readwrite("boost_rpm", &TurboParams::boost_rpm)
        .def_readwrite("boost_max", &TurboParams::boost_max);

    auto vp = py::class_<VehicleParams>(m, "VehicleParams",
                                        "The car's parameter set; the defaults are FormulaAlpha2022 (see vehicle_params.hpp)")
                  .def(py::init<>())
                  .def_property_readonly("wheelbase", &VehicleParams::wheelbase);
#define AC_SIM_FIELD(name) vp.def_readwrite(#name, &VehicleParams::name)
    AC_SIM_FIELD(mass_kg); AC_SIM_FIELD(yaw_inertia_kgm2); AC_SIM_FIELD(cog_to_front_m); AC_SIM_FIELD(cog_to_rear_m);
    AC_SIM_FIELD(cog_height_m); AC_SIM_FIELD(track_front_m); AC_SIM_FIELD(track_rear_m);
    AC_SIM_FIELD(roll_stiffness_front_share); AC_SIM_FIELD(tyre_radius_m); AC_SIM_FIELD(tyre_shape_q);
    AC_SIM_FIELD(tyre_peak_slip_ratio); AC_SIM_FIELD(tyre_peak_slip_angle_front_rad);
    AC_SIM_FIELD(tyre_peak_slip_angle_rear_rad); AC_SIM_FIELD(tyre_mu_front_lo); AC_SIM_FIELD(tyre_mu_front_hi);
    AC_SIM_FIELD(tyre_mu_rear_lo); AC_SIM_FIELD(tyre_mu_rear_hi); AC_SIM_FIELD(rolling_resistance);
    AC_SIM_FIELD(air_density); AC_SIM_FIELD(cda_m2); AC_SIM_FIELD(cla_m2); AC_SIM_FIELD(aero_front_share);
    AC_SIM_FIELD(drs_drag_factor); AC_SIM_FIELD(mguk_kw); AC_SIM_FIELD(ers_energy_per_lap_j);
    AC_SIM_FIELD(rev_limit_rpm); AC_SIM_FIELD(upshift_rpm); AC_SIM_FIELD(upshift_slip_allowance); AC_SIM_FIELD(max_brake_torque_nm);
    AC_SIM_FIELD(brake_bias_front); AC_SIM_FIELD(max_steer_rad); AC_SIM_FIELD(steer_rate_rad_s);
    AC_SIM_FIELD(fuel_l); AC_SIM_FIELD(gear_ratio);
    AC_SIM_FIELD(car_model); AC_SIM_FIELD(gear_count); AC_SIM_FIELD(drive); AC_SIM_FIELD(awd_front_share);
    AC_SIM_FIELD(diff_preload_nm); AC_SIM_FIELD(diff_ramp); AC_SIM_FIELD(diff_ramp_coast); AC_SIM_FIELD(shift_cut_s);
    AC_SIM_FIELD(torque_curve_rpm); AC_SIM_FIELD(torque_curve_nm); AC_SIM_FIELD(turbos); AC_SIM_FIELD(idle_rpm);
    AC_SIM_FIELD(launch_rpm); AC_SIM_FIELD(downshift_rpm); AC_SIM_FIELD(engine_inertia_kgm2);
    AC_SIM_FIELD(engine_friction_nm); AC_SIM_FIELD(engine_friction_nm_per_krpm); AC_SIM_FIELD(driveline_efficiency);
    AC_SIM_FIELD(reverse_ratio); AC_SIM_FIELD(min_shift_interval_s); AC_SIM_FIELD(mguk_min_speed_mps);
    AC_SIM_FIELD(tyre_mu_load_lo_n); AC_SIM_FIELD(tyre_mu_load_hi_n); AC_SIM_FIELD(tyre_mu_floor);
    AC_SIM_FIELD(tyre_mu_table_step_n); AC_SIM_FIELD(tyre_mu_front_table); AC_SIM_FIELD(tyre_mu_rear_table);
    AC_SIM_FIELD(tyre_mu_x_scale_front); AC_SIM_FIELD(tyre_mu_x_scale_rear); AC_SIM_FIELD(tyre_relaxation_length_m);
    AC_SIM_FIELD(wheel_inertia_kgm2); AC_SIM_FIELD(rolling_resistance_v2); AC_SIM_FIELD(drs_rear_downforce_factor);
    AC_SIM_FIELD(has_drs); AC_SIM_FIELD(wheel_rate_front_n_m); AC_SIM_FIELD(wheel_rate_rear_n_m);
    AC_SIM_FIELD(ride_height_front_m); AC_SIM_FIELD(ride_height_rear_m); AC_SIM_FIELD(suspension_max_travel_m);
    AC_SIM_FIELD(max_fuel_l); AC_SIM_FIELD(fuel_l_per_s_full); AC_SIM_FIELD(ambient_c); AC_SIM_FIELD(tyre_hot_pressure_psi);
#undef AC_SIM_FIELD

    py::class_<SimOptions>(m, "SimOptions")
        .def(py::init<>())
        .def_readwrite("weather", &SimOptions::weather)
        .def_readwrite("lap_start", &SimOptions::lap_start)
        .def_readwrite("auto_shift", &SimOptions::auto_shift)
        .def_readwrite("pit_out_speed_kmh", &SimOptions::pit_out_speed_kmh)
        .def_readwrite("flying_distance_m", &SimOptions::flying_distance_m)
        .def_readwrite("flying_speed_kmh", &SimOptions::flying_speed_kmh)
        .def_readwrite("barrier_restitution", &SimOptions::barrier_restitution)
        .def_readwrite("barrier_tangential_keep", &SimOptions::barrier_tangential_keep)
        .def_readwrite("damage_per_kmh", &SimOptions::damage_per_kmh)
        .def_readwrite("session", &SimOptions::session)
        .def_readwrite("number_of_laps", &SimOptions::number_of_laps);

    py::class_<SimBatch>(m, "SimBatch", "N cars in lockstep, each with its own AC pages (NumPy views)")
        .def(py::init([](std::size_t n, const std::shared_ptr<Track>& track, const VehicleParams& params,
                         const SimOptions& options) { return new SimBatch(n, need_track(track), params, options); }),
             py::arg("n_cars"), py::arg("track"), py::arg("params") = VehicleParams{}, py::arg("options") = SimOptions{})
        .def_property_readonly("size", &SimBatch::size)
        .def("step", [](SimBatch& s, int k) {
                 py::gil_scoped_release release;
                 s.step(k);
             }, py::arg("k") = 1, "k physics ticks for every car with the current controls, then the pages")
        .def("reset", [](SimBatch& s, std::size_t car) { check_car(s, car); s.reset(car); }, py::arg("car"))
        .def("reset_all", &SimBatch::reset_all)
        .def("teleport",
             [](SimBatch& s, std::size_t car, double sv, double lateral, double heading_offset, double speed, bool clear) {
                 check_car(s, car);
                 s.teleport(car, sv, lateral, heading_offset, speed, clear);
                 s.write_pages();
             },
             py::arg("car"), py::arg("s"), py::arg("lateral") = 0.0, py::arg("heading_offset") = 0.0,
             py::arg("speed") = 0.0, py::arg("clear_history") = false)
        .def_property("paused", &SimBatch::paused, &SimBatch::set_paused)
        .def_property_readonly("weather_grip", &SimBatch::weather_grip_factor)
        .def_property_readonly("track_length", [](const SimBatch& s) { return s.track().length(); })
        .def_property_readonly("controls", [](py::object self) {
            SimBatch& s = self.cast<SimBatch&>();
            return struct_view(controls_dtype(), s.size(), sizeof(CarInput), s.controls(), self);
        })
        .def_property_readonly("physics", [](py::object self) {
            SimBatch& s = self.cast<SimBatch&>();
            return struct_view(page_dtype("PHYSICS_DTYPE"), s.size(), sizeof(PhysicsPage), s.physics_pages(), self);
        })
        .def_property_readonly("graphics", [](py::object self) {
            SimBatch& s = self.cast<SimBatch&>();
            return struct_view(page_dtype("GRAPHICS_DTYPE"), s.size(), sizeof(GraphicsPage), s.graphics_pages(), self);
        })
        .def_property_readonly("static", [](py::object self) {
            SimBatch& s = self.cast<SimBatch&>();
            return py::array(py::reinterpret_borrow<py::dtype>(page_dtype("STATIC_DTYPE")), {}, {}, &s.static_page(), self);
        })
        .def("state", [](const SimBatch& s, std::size_t car) { check_car(s, car); return state_dict(s.state(car)); },
             py::arg("car"))
        .def("progress", [](const SimBatch& s, std::size_t car) { check_car(s, car); return progress_dict(s.progress(car)); },
             py::arg("car"));

    py::class_<DriverOptions>(m, "DriverOptions")
        .def(py::init<>())
        .def_readwrite("edge_margin_m", &DriverOptions::edge_margin_m)
        .def_readwrite("lateral_grip_use", &DriverOptions::lateral_grip_use)
        .def_readwrite("longitudinal_grip_use", &DriverOptions::longitudinal_grip_use)
        .def_readwrite("line_spacing_m", &DriverOptions::line_spacing_m)
        .def_readwrite("coarse_spacing_m", &DriverOptions::coarse_spacing_m)
        .def_readwrite("speed_gain", &DriverOptions::speed_gain)
        .def_readwrite("curvature_window_m", &DriverOptions::curvature_window_m)
        .def_readwrite("stanley_gain", &DriverOptions::stanley_gain)
        .def_readwrite("stanley_soft_mps", &DriverOptions::stanley_soft_mps)
        .def_readwrite("front_slip_limit", &DriverOptions::front_slip_limit)
        .def_readwrite("steer_preview_s", &DriverOptions::steer_preview_s)
        .def_readwrite("yaw_damping_s", &DriverOptions::yaw_damping_s)
        .def_readwrite("preview_s", &DriverOptions::preview_s);

    // The driver keeps a reference to the batch's vehicle model: keep the batch alive with it.
    py::class_<ReferenceDriver>(m, "ReferenceDriver", "Racing line + speed profile + tracking controller (one per car)")
        .def(py::init([](const std::shared_ptr<Track>& track, SimBatch& sim, const DriverOptions& o) {
                 return new ReferenceDriver(need_track(track), sim.model(), o, sim.weather_grip_factor());
             }),
             py::arg("track"), py::arg("sim"), py::arg("options") = DriverOptions{}, py::keep_alive<1, 3>())
        .def_property_readonly("spacing", &ReferenceDriver::spacing)
        .def_property_readonly("planned_lap_time", &ReferenceDriver::planned_lap_time)
        .def_property_readonly("line_lateral", [](const ReferenceDriver& d) { return py::array(py::cast(d.line_lateral())); })
        .def_property_readonly("line_curvature", [](const ReferenceDriver& d) { return py::array(py::cast(d.line_curvature())); })
        .def_property_readonly("speed_profile", [](const ReferenceDriver& d) { return py::array(py::cast(d.speed_profile())); })
        .def("lateral_at", &ReferenceDriver::lateral_at, py::arg("s"))
        .def("speed_at", &ReferenceDriver::speed_at, py::arg("s"))
        .def("line_heading_offset", &ReferenceDriver::line_heading_offset, py::arg("s"))
        .def("reset_guards", &ReferenceDriver::reset_guards)
        .def("drive", [](ReferenceDriver& d, SimBatch& s, std::size_t car) {
                 check_car(s, car);
                 s.controls()[car] = d.control(s.state(car), s.progress(car));
             }, py::arg("sim"), py::arg("car") = 0, "Write this tick's controls for one car into sim.controls");

    m.def("straight_line_run",
          [](const VehicleParams& params, double max_time_s) {
              StraightLineResult r;
              {
                  py::gil_scoped_release release;
                  r = straight_line_run(params, max_time_s);
              }
              py::dict d;
              d["time_to_100_kmh_s"] = r.time_to_100_kmh_s;
              d["time_to_97_kmh_s"] = r.time_to_97_kmh_s;
              d["top_speed_kmh"] = r.top_speed_kmh;
              d["time_to_top_s"] = r.time_to_top_s;
              d["top_gear"] = r.top_gear;
              d["top_rpm"] = r.top_rpm;
              d["rev_limited"] = r.rev_limited;
              d["speed_kmh"] = r.speed_kmh;
              return d;
          },
          py::arg("params") = VehicleParams{}, py::arg("max_time_s") = 150.0,
          "Standing start on a flat straight at full throttle: 0-100 km/h time and top speed");
    m.def("vehicle_model_figures", [](const VehicleParams& params) {
              const VehicleModel model(params);
              py::dict d;
              d["max_power_w"] = model.max_power_w();
              d["max_torque_nm"] = model.max_torque_nm();
              return d;
          }, py::arg("params"), "The model's peak power and torque for a parameter set (checks it too)");

    m.def("run_reference_lap",
          [](const std::shared_ptr<Track>& track, const VehicleParams& params, const std::string& weather,
             const DriverOptions& options) {
              ReferenceLapResult r;
              {
                  py::gil_scoped_release release;
                  r = run_reference_lap(need_track(track), params, weather, options);
              }
              py::dict d;
              d["completed"] = r.completed;
              d["lap_time_s"] = r.lap_time_s;
              d["track_length_m"] = r.track_length_m;
              d["top_speed_kmh"] = r.top_speed_kmh;
              d["min_speed_kmh"] = r.min_speed_kmh;
              d["peak_lateral_g"] = r.peak_lateral_g;
              d["peak_braking_g"] = r.peak_braking_g;
              d["full_throttle_share"] = r.full_throttle_share;
              d["tyres_out_ticks"] = r.tyres_out_ticks;
              d["collisions"] = r.collisions;
              d["trace"] = trace_array(r.trace);
              return d;
          },
          py::arg("track"), py::arg("params") = VehicleParams{}, py::arg("weather") = "clear",
          py::arg("options") = DriverOptions{});

    py::class_<RealtimeRunner>(m, "RealtimeRunner",
                               "The simulator as a real-time process: named pages, pad page and/or CSP's Custom AI pages")
        .def(py::init([](const std::shared_ptr<Track>& track, const VehicleParams& params, const SimOptions& so,
                         const std::string& prefix, double time_scale, double spin_s, bool pad, bool csp,
                         const std::string& csp_prefix, int csp_car_index) {
                 RunnerOptions ro;
                 ro.prefix = prefix;
                 ro.time_scale = time_scale;
                 ro.spin_s = spin_s;
                 ro.pad = pad;
                 ro.csp = csp;
                 ro.csp_prefix = csp_prefix;
                 ro.csp_car_index = csp_car_index;
                 return new RealtimeRunner(need_track(track), params, so, ro);
             }),
             py::arg("track"), py::arg("params") = VehicleParams{}, py::arg("options") = SimOptions{},
             py::arg("prefix") = std::string(kDefaultPagePrefix), py::arg("time_scale") = 1.0,
             py::arg("spin_s") = RunnerOptions{}.spin_s, py::arg("pad") = true, py::arg("csp") = false,
             py::arg("csp_prefix") = std::string(), py::arg("csp_car_index") = 0)
        .def("run_for", [](RealtimeRunner& r, double seconds) {
                 py::gil_scoped_release release;
                 return r.run_for(seconds);
             }, py::arg("seconds"))
        .def("stop", &RealtimeRunner::stop)
        .def("take_notes", &RealtimeRunner::take_notes,
             "Lines to log since the last call (e.g. a refused CSP controls page); call between run_for calls")
        .def("close", &RealtimeRunner::close)
        .def_property_readonly("closed", &RealtimeRunner::closed)
        .def_property_readonly("pad_attached", &RealtimeRunner::pad_attached)
        .def_property_readonly("page_names", &RealtimeRunner::page_names)
        .def_property_readonly("paused", [](RealtimeRunner& r) { return r.sim().paused(); })
        .def_property_readonly("effective_time_scale", &RealtimeRunner::effective_time_scale)
        .def_property_readonly("stats", [](const RealtimeRunner& r) {
            const RunnerStats s = r.stats();
            py::dict d;
            d["ticks"] = s.ticks;
            d["loops"] = s.loops;
            d["resyncs"] = s.resyncs;
            d["pad_controls"] = s.pad_controls;
            d["csp_paused_loops"] = s.csp_paused_loops;
            d["rebases"] = s.rebases;
            d["lateness_p50_us"] = s.lateness_p50_us;
            d["lateness_p99_us"] = s.lateness_p99_us;
            d["lateness_max_us"] = s.lateness_max_us;
            return d;
        })
        .def_property_readonly("csp_stats", [](const RealtimeRunner& r) -> py::object {
            // Read it between run_for calls: the loop updates these counters while it runs.
            const CspServer* c = r.csp();
            if (c == nullptr) return py::none();
            const CspServerStats& s = c->stats();
            py::dict d, edges, controls, state;
            d["driving"] = c->driving();
            d["attaches"] = s.attaches;
            d["control_reads"] = s.control_reads;
            d["teleports_pits"] = s.teleports_pits;
            d["teleports_position"] = s.teleports_position;
            d["restarts"] = s.restarts;
            d["invalid_time_scales"] = s.invalid_time_scales;
            d["refused_controls"] = s.refused_controls;
            d["last_refusal"] = s.last_refusal;
            const auto* bytes = reinterpret_cast<const uint8_t*>(&s.last_controls);
            for (std::size_t i = 0; i < std::size(kCspControlsFields); ++i) {
                const CspFieldInfo& f = kCspControlsFields[i];
                if (f.type == CspFieldType::Bool8 || f.type == CspFieldType::UInt8) {
                    edges[f.name] = s.edges[i];
                    controls[f.name] = int(bytes[f.offset]);
                } else if (f.type == CspFieldType::Float32) {
                    std::vector<float> v(f.count);
                    std::memcpy(v.data(), bytes + f.offset, 4 * std::size_t(f.count));
                    if (f.count == 1) controls[f.name] = v[0];
                    else controls[f.name] = v;
                }
            }
            d["edges"] = edges;
            d["last_controls"] = controls;
            state["pause"] = int(s.last_sim_state.pause);
            state["restart_session"] = int(s.last_sim_state.restart_session);
            state["disable_collisions"] = int(s.last_sim_state.disable_collisions);
            state["extra_sleep_ms"] = int(s.last_sim_state.extra_sleep_ms);
            state["time_scale"] = s.last_sim_state.time_scale;
            d["last_sim_state"] = state;
            return d;
        });
}
