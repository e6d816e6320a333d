// Bindings for the real-time plumbing: telemetry poller (ring + latest slot), steppers, control
// feeders (pad, vJoy, uinput, fake vJoy), ring micro-benchmarks. Thin: conversions, GIL handling
// and signal checks only.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <string>

#include "ac_core/core/clock.hpp"
#include "ac_core/controls/pad.hpp"
#include "ac_core/controls/pad_feeder.hpp"
#include "ac_core/realtime/poller.hpp"
#include "ac_core/realtime/rt_thread.hpp"
#include "ac_core/realtime/ring_bench.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/realtime/stepper.hpp"
#include "ac_core/realtime/telemetry.hpp"
#include "ac_core/controls/uinput_feeder.hpp"
#include "ac_core/controls/vjoy.hpp"
#include "ac_core/controls/vjoy_fake.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"
#include "binding_registry.hpp"

namespace py = pybind11;
using namespace ac_core;

namespace {

// Waits in slices so that Ctrl-C (a pending signal) interrupts a long wait: the GIL is released
// inside each slice and PyErr_CheckSignals runs between slices.
constexpr double kSignalSliceS = 0.05;

template <typename Fn>
auto wait_in_slices(double timeout_s, Fn&& attempt) -> decltype(attempt(0.0)) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        double slice = kSignalSliceS;
        if (timeout_s >= 0) {
            const double left = timeout_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (left <= 0) slice = 0.0;
            else if (left < slice) slice = left;
        }
        decltype(attempt(0.0)) result;
        {
            py::gil_scoped_release release;
            result = attempt(slice);
        }
        if (result || slice == 0.0) return result;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (timeout_s >= 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= timeout_s)
            return result;
    }
}

void* writable_bytes(py::array& out, std::size_t need, const char* what) {
    if (!out.writeable()) throw py::value_error(std::string(what) + " destination is read-only; pass a writable array");
    if (!(out.flags() & py::array::c_style)) throw py::value_error(std::string(what) + " destination must be C-contiguous");
    if (std::size_t(out.nbytes()) < need)
        throw py::value_error(std::string(what) + " destination has " + std::to_string(out.nbytes()) + " bytes, needs " +
                              std::to_string(need) + ": allocate it with ac_core.telemetry.empty_frames()");
    return out.mutable_data();
}

py::dict poller_stats(const PollerStats& s) {
    py::dict d;
    d["frames"] = s.frames;
    d["dropped"] = s.dropped;
    d["missed_packets"] = s.missed_packets;
    d["torn_retries"] = s.torn_retries;
    d["read_failures"] = s.read_failures;
    d["restarts"] = s.restarts;
    d["pauses"] = s.pauses;
    d["stalls"] = s.stalls;
    d["resumes"] = s.resumes;
    d["polls"] = s.polls;
    d["last_packet_id"] = s.last_packet_id;
    d["liveness"] = std::string(liveness_name(s.liveness));
    d["period_estimate_s"] = s.period_estimate_s;
    return d;
}

py::dict stepper_stats(const StepperStats& s) {
    py::dict d;
    d["steps"] = s.steps;
    d["timeouts"] = s.timeouts;
    d["p50_s"] = s.p50_s;
    d["p99_s"] = s.p99_s;
    d["max_s"] = s.max_s;
    d["mean_s"] = s.mean_s;
    d["drift_s"] = s.drift_s;
    d["elapsed_s"] = s.elapsed_s;
    return d;
}

py::dict feeder_stats(const Feeder& f) {
    py::dict d;
    d["writes"] = f.stats().writes;
    d["clamped_values"] = f.stats().clamped_values;
    d["rejected"] = f.stats().rejected;
    return d;
}

const uint8_t* page_bytes(const SharedPage& page, const char* what) {
    if (!page.valid()) throw py::value_error(std::string(what) + " page is closed");
    return page.data();
}

}  // namespace

AC_CORE_BINDINGS(10, m) {
    // Exception types live as long as the interpreter (one reference kept here on purpose).
    static PyObject* vjoy_error = PyErr_NewException("ac_core._core.VJoyError", PyExc_RuntimeError, nullptr);
    static PyObject* uinput_error = PyErr_NewException("ac_core._core.UinputError", PyExc_OSError, nullptr);
    m.attr("VJoyError") = py::handle(vjoy_error);
    m.attr("UinputError") = py::handle(uinput_error);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const VJoyError& e) {
            static const char* names[] = {"not_installed",  "load_failed",    "missing_export", "driver_disabled",
                                          "version_mismatch", "device_missing", "device_busy",    "acquire_failed",
                                          "axis_missing",   "update_failed"};
            py::object err = py::reinterpret_borrow<py::object>(vjoy_error)(e.what());
            err.attr("code") = names[int(e.code())];
            PyErr_SetObject(vjoy_error, err.ptr());
        } catch (const UinputError& e) {
            PyErr_SetString(uinput_error, e.what());
        } catch (const ControlError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        }
    });

    m.def("steady_now_ns", &steady_now_ns, "The plumbing's monotonic clock (ns); frames and pad writes use it");
    auto realtime_tuple = [](const RealtimeResult& r) { return py::make_tuple(r.ok, r.detail); };
    m.def("make_thread_realtime", [realtime_tuple](int priority) { return realtime_tuple(make_thread_realtime(priority)); },
          py::arg("priority"),
          "The calling thread to SCHED_FIFO priority (Linux) / TIME_CRITICAL + timeBeginPeriod(1) (Windows): "
          "(ok, what was done or why not and how to allow it)");
    m.def("make_thread_normal", &make_thread_normal, "The calling thread back to the normal scheduler");
    m.def("fine_timer_slack", &fine_timer_slack, "The calling thread's timer slack to 1 ns (Linux)");
    m.def("lock_process_memory", [realtime_tuple] { return realtime_tuple(lock_process_memory()); },
          "mlockall(MCL_CURRENT | MCL_FUTURE) (Linux): (ok, detail)");
    m.def("unlock_process_memory", &unlock_process_memory);
    m.def("thread_schedule", &thread_schedule, "The calling thread's scheduling policy in words");

    // ---- telemetry frames and the poller ----
    m.attr("FRAME_SIZE") = sizeof(TelemetryFrame);
    m.def("frame_layout", [] {
        py::dict d;
        d["frame_index"] = py::make_tuple(offsetof(TelemetryFrame, frame_index), "<u8");
        d["time_ns"] = py::make_tuple(offsetof(TelemetryFrame, time_ns), "<i8");
        d["physics_packet_id"] = py::make_tuple(offsetof(TelemetryFrame, physics_packet_id), "<i4");
        d["graphics_packet_id"] = py::make_tuple(offsetof(TelemetryFrame, graphics_packet_id), "<i4");
        d["missed_packets"] = py::make_tuple(offsetof(TelemetryFrame, missed_packets), "<u4");
        d["retries"] = py::make_tuple(offsetof(TelemetryFrame, retries), "<u4");
        d["flags"] = py::make_tuple(offsetof(TelemetryFrame, flags), "<u4");
        d["physics"] = py::make_tuple(offsetof(TelemetryFrame, physics), "physics");
        d["graphics"] = py::make_tuple(offsetof(TelemetryFrame, graphics), "graphics");
        return d;
    }, "Field name -> (offset, numpy type or page kind) of a TelemetryFrame");
    m.attr("FRAME_GRAPHICS_STALE") = uint32_t(kFrameGraphicsStale);
    m.attr("FRAME_AFTER_PAUSE") = uint32_t(kFrameAfterPause);

    py::class_<TelemetryPoller>(m, "TelemetryPoller",
                                "Thread following the physics page: one frame per new packetId into a ring and a "
                                "latest-frame slot")
        .def(py::init([](const SharedPage& physics, const SharedPage* graphics, std::size_t ring_capacity,
                         double idle_sleep_s, double spin_s, double expected_period_s, double paused_sleep_s,
                         double pause_after_s, double stale_after_s, uint32_t max_retries, int realtime_priority) {
                 PollerConfig c;
                 c.ring_capacity = ring_capacity;
                 c.idle_sleep_s = idle_sleep_s;
                 c.spin_s = spin_s;
                 c.expected_period_s = expected_period_s;
                 c.paused_sleep_s = paused_sleep_s;
                 c.pause_after_s = pause_after_s;
                 c.stale_after_s = stale_after_s;
                 c.max_retries = max_retries;
                 c.realtime_priority = realtime_priority;
                 const uint8_t* g = graphics ? page_bytes(*graphics, "graphics") : nullptr;
                 return new TelemetryPoller(page_bytes(physics, "physics"), physics.size(), g,
                                            graphics ? graphics->size() : 0, c);
             }),
             py::arg("physics"), py::arg("graphics") = nullptr, py::arg("ring_capacity") = 1024,
             py::arg("idle_sleep_s") = 0.0005, py::arg("spin_s") = 0.0003, py::arg("expected_period_s") = 1.0 / 333.0,
             py::arg("paused_sleep_s") = 0.002, py::arg("pause_after_s") = 0.05, py::arg("stale_after_s") = 1.0,
             py::arg("max_retries") = 16, py::arg("realtime_priority") = 0, py::keep_alive<1, 2>(),
             py::keep_alive<1, 3>())
        .def("start", &TelemetryPoller::start)
        .def_property_readonly("realtime_ok", &TelemetryPoller::realtime_ok)
        .def_property_readonly("realtime_detail", &TelemetryPoller::realtime_detail,
                               "What the poller thread's real-time request got (\"\" when none was asked for)")
        .def("stop", &TelemetryPoller::stop, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("running", &TelemetryPoller::running)
        .def("poll_once", &TelemetryPoller::poll_once, "One poll without the thread (only while stopped)")
        .def(
            "latest_into",
            [](const TelemetryPoller& p, py::array& out) {
                auto* dst = static_cast<TelemetryFrame*>(writable_bytes(out, sizeof(TelemetryFrame), "latest()"));
                return p.latest(*dst);
            },
            py::arg("out"), "Copy the newest frame into `out`; False if there is none yet")
        .def(
            "drain_into",
            [](TelemetryPoller& p, py::array& out) {
                auto* dst = static_cast<TelemetryFrame*>(writable_bytes(out, sizeof(TelemetryFrame), "drain()"));
                return p.drain(dst, std::size_t(out.nbytes()) / sizeof(TelemetryFrame));
            },
            py::arg("out"), "Pop up to len(out) queued frames into `out`; returns how many")
        .def_property_readonly("pending", &TelemetryPoller::pending)
        .def_property_readonly("capacity", &TelemetryPoller::capacity)
        .def_property_readonly("latest_packet_id", &TelemetryPoller::latest_packet_id)
        .def_property_readonly("frames_made", &TelemetryPoller::frames_made)
        .def(
            "wait_for_packet",
            [](TelemetryPoller& p, int32_t after_id, double timeout_s) {
                return wait_in_slices(timeout_s, [&](double slice) { return p.wait_for_packet(after_id, slice); });
            },
            py::arg("after_id"), py::arg("timeout_s") = -1.0,
            "Block (GIL released, Ctrl-C honoured) until a packetId newer than after_id; None on timeout")
        .def_property_readonly("stats", [](const TelemetryPoller& p) { return poller_stats(p.stats()); });

    // ---- steppers ----
    py::class_<DeadlineStepper>(m, "DeadlineStepper", "Drift-free elastic step clock (rtgym's rule) in C++")
        .def(py::init<double, double, double, std::size_t>(), py::arg("period_s"), py::arg("timeout_factor") = 1.0,
             py::arg("spin_s") = 0.0002, py::arg("window") = 65536)
        .def("start", &DeadlineStepper::start)
        .def(
            "step",
            [](DeadlineStepper& s) {
                StepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.step();
                }
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                return py::make_tuple(r.lateness_s, r.timed_out);
            },
            "Wait for the next deadline; returns (lateness_s, timed_out)")
        .def_property_readonly("period_s", &DeadlineStepper::period_s)
        .def_property_readonly("stats", [](const DeadlineStepper& s) { return stepper_stats(s.stats()); })
        .def("reset_stats", &DeadlineStepper::reset_stats);

    py::class_<PhysicsStepper>(m, "PhysicsStepper", "Steps that end after k new physics packetIds")
        .def(py::init<TelemetryPoller&, uint32_t, uint32_t, std::size_t>(), py::arg("poller"), py::arg("ticks"),
             py::arg("timeout_ticks") = 0, py::arg("window") = 65536, py::keep_alive<1, 2>())
        .def(
            "step",
            [](PhysicsStepper& s, double timeout_s) -> py::object {
                auto r = wait_in_slices(timeout_s, [&](double slice) {
                    auto res = s.step(slice);
                    return res.ok ? std::optional<PhysicsStepper::Result>(res) : std::nullopt;
                });
                if (!r) return py::none();
                return py::make_tuple(r->packet_id, r->step.lateness_s, r->step.timed_out);
            },
            py::arg("timeout_s") = -1.0, "Returns (packet_id, lateness_s, timed_out), or None on timeout")
        .def_property_readonly("ticks", &PhysicsStepper::ticks)
        .def_property_readonly("target_packet_id", &PhysicsStepper::target_packet_id)
        .def_property_readonly("stats", [](const PhysicsStepper& s) { return stepper_stats(s.stats()); });

    // ---- feeders ----
    py::class_<Feeder>(m, "Feeder", "A control output: write(steer, throttle, brake, clutch=0, buttons=0)")
        .def(
            "write",
            [](Feeder& f, double steer, double throttle, double brake, double clutch, uint32_t buttons) {
                f.write(ControlInput{steer, throttle, brake, clutch, buttons});
            },
            py::arg("steer"), py::arg("throttle"), py::arg("brake"), py::arg("clutch") = 0.0, py::arg("buttons") = 0)
        .def_property_readonly("kind", &Feeder::kind)
        .def_property_readonly("stats", &feeder_stats);

    py::class_<PadFeeder, Feeder>(m, "PadFeeder", "Writes the pad page <prefix>pad that the built-in simulator reads")
        .def(py::init<const std::string&, unsigned, bool>(), py::arg("prefix") = kDefaultPagePrefix,
             py::arg("mode") = 0600, py::arg("replace_stale") = true)
        .def_property_readonly("sequence", &PadFeeder::sequence)
        .def_property_readonly("applied", [](const PadFeeder& f) {
            const PadAppliedEcho a = f.applied();
            return py::make_tuple(a.sequence, a.packet_id);
        }, "(sequence, physics packetId) of the last control the simulator applied")
        .def_property_readonly("page_name", &PadFeeder::page_name)
        .def_property_readonly("closed", &PadFeeder::closed)
        .def("close", &PadFeeder::close);

    py::class_<VJoyFeeder, Feeder>(m, "VJoyFeeder", "One UpdateVJD per write through vJoyInterface.dll")
        .def(py::init([](uint32_t device_id, const std::string& dll_path, bool installed_first) {
                 std::shared_ptr<VJoyLibrary> lib = installed_first ? VJoyLibrary::load_installed(dll_path)
                                                                    : VJoyLibrary::load(dll_path);
                 return new VJoyFeeder(lib->api(), device_id, VJoyAxisMap{}, lib);
             }),
             py::arg("device_id") = 1, py::arg("dll_path") = "", py::arg("installed_first") = true)
        .def_static(
            "with_fake", [](uint32_t device_id) { return new VJoyFeeder(fake_vjoy_api(), device_id); },
            py::arg("device_id") = 1, "A feeder on the in-process fake vJoy (tests, benchmarks)")
        .def_property_readonly("device_id", &VJoyFeeder::device_id)
        .def_property_readonly("button_count", &VJoyFeeder::button_count)
        .def_property_readonly("versions", [](const VJoyFeeder& f) { return py::make_tuple(f.dll_version(), f.driver_version()); })
        .def_property_readonly("ranges", [](const VJoyFeeder& f) {
            const VJoyRanges& r = f.ranges();
            py::dict d;
            d["steer"] = py::make_tuple(r.steer.min, r.steer.max);
            d["throttle"] = py::make_tuple(r.throttle.min, r.throttle.max);
            d["brake"] = py::make_tuple(r.brake.min, r.brake.max);
            d["clutch"] = py::make_tuple(r.clutch.min, r.clutch.max);
            return d;
        })
        .def_property_readonly("closed", &VJoyFeeder::closed)
        .def("close", &VJoyFeeder::close);
    m.def("vjoy_dll_candidates", &VJoyLibrary::candidate_paths, py::arg("user_path") = "",
          "Where VJoyFeeder looks for vJoyInterface.dll, in order");

#ifdef __linux__
    py::class_<UinputFeeder, Feeder>(m, "UinputFeeder", "A joystick-classed uinput device (AC under Proton)")
        .def(py::init([](const std::string& path, const std::string& name) { return new UinputFeeder(path, name); }),
             py::arg("device_path") = "/dev/uinput", py::arg("name") = "ac_core virtual wheel")
        .def_static(
            "attach_fd", [](int fd) { return UinputFeeder::attach_fd(fd); }, py::arg("fd"),
            "Write frames to an open descriptor without device setup (tests); the descriptor is not closed")
        .def_property_readonly("closed", &UinputFeeder::closed)
        .def("close", &UinputFeeder::close);
    m.attr("UINPUT_AVAILABLE") = true;
#else
    m.attr("UINPUT_AVAILABLE") = false;
#endif

    // ---- the simulator's side of the pad page (tests and tools) ----
    py::class_<PadLink>(m, "PadLink", "Reader of <prefix>pad as the simulator sees it")
        .def(py::init<std::string, double>(), py::arg("prefix") = kDefaultPagePrefix, py::arg("retry_interval_s") = 0.1)
        .def("poll", [](PadLink& l) -> py::object {
            PadSnapshot s;
            if (!l.poll(s)) return py::none();
            py::dict d;
            d["steer"] = s.controls.steer;
            d["throttle"] = s.controls.throttle;
            d["brake"] = s.controls.brake;
            d["clutch"] = s.controls.clutch;
            d["buttons"] = s.controls.buttons;
            d["sequence"] = s.sequence;
            d["writer_pid"] = s.writer_pid;
            d["write_time_ns"] = s.write_time_ns;
            return d;
        })
        .def("store_applied", &PadLink::store_applied, py::arg("sequence"), py::arg("packet_id"))
        .def_property_readonly("attached", &PadLink::attached)
        .def_property_readonly("page_name", &PadLink::page_name);

    // ---- fake vJoy (tests, benchmarks) ----
    m.def("fake_vjoy_reset", &fake_vjoy_reset);
    m.def(
        "fake_vjoy_configure",
        [](py::kwargs kw) {
            FakeVJoyState& s = fake_vjoy_state();
            for (auto item : kw) {
                const auto key = item.first.cast<std::string>();
                if (key == "enabled") s.enabled = item.second.cast<bool>();
                else if (key == "dll_version") s.dll_version = item.second.cast<uint16_t>();
                else if (key == "driver_version") s.driver_version = item.second.cast<uint16_t>();
                else if (key == "status") s.status = item.second.cast<int32_t>();
                else if (key == "owner_pid") s.owner_pid = item.second.cast<int32_t>();
                else if (key == "device_count") s.device_count = item.second.cast<uint32_t>();
                else if (key == "axis_mask") s.axis_mask = item.second.cast<uint32_t>();
                else if (key == "axis_min") s.axis_min = item.second.cast<int32_t>();
                else if (key == "axis_max") s.axis_max = item.second.cast<int32_t>();
                else if (key == "buttons") s.buttons = item.second.cast<int32_t>();
                else if (key == "fail_update") s.fail_update = item.second.cast<bool>();
                else throw py::key_error("unknown fake vJoy setting '" + key + "'");
            }
        },
        "Set fake vJoy state: enabled, dll_version, driver_version, status (0 own, 1 free, 2 busy, 3 missing), "
        "owner_pid, device_count, axis_mask, axis_min, axis_max, buttons, fail_update");
    m.def("fake_vjoy_state", [] {
        const FakeVJoyState& s = fake_vjoy_state();
        py::dict d;
        d["update_calls"] = s.update_calls;
        d["set_axis_calls"] = s.set_axis_calls;
        d["set_button_calls"] = s.set_button_calls;
        d["acquired_device"] = s.acquired_device;
        d["relinquish_calls"] = s.relinquish_calls;
        d["axes"] = py::make_tuple(s.position.wAxisX, s.position.wAxisY, s.position.wAxisZ, s.position.wAxisXRot);
        d["buttons"] = s.position.lButtons;
        d["device"] = s.position.bDevice;
        return d;
    });
    m.def("fake_vjoy_addresses", [] {
        py::dict d;
        d["SetAxis"] = reinterpret_cast<std::uintptr_t>(&fake_vjoy_set_axis);
        d["SetBtn"] = reinterpret_cast<std::uintptr_t>(&fake_vjoy_set_button);
        d["UpdateVJD"] = reinterpret_cast<std::uintptr_t>(&fake_vjoy_update);
        return d;
    }, "C addresses of the fake's SetAxis/SetBtn/UpdateVJD, for a pyvjoy-style ctypes caller");
    m.attr("VJD_STAT_OWN") = int(kVjdOwn);
    m.attr("VJD_STAT_FREE") = int(kVjdFree);
    m.attr("VJD_STAT_BUSY") = int(kVjdBusy);
    m.attr("VJD_STAT_MISS") = int(kVjdMiss);
    m.attr("JOYSTICK_POSITION_V2_SIZE") = sizeof(JoystickPositionV2);

    // ---- ring micro-benchmarks ----
    m.def("ring_push_pop_same_thread_ns", &ring_push_pop_same_thread_ns, py::arg("iterations"),
          py::arg("capacity") = 1024, py::call_guard<py::gil_scoped_release>());
    m.def("ring_transfer_cross_thread_ns", &ring_transfer_cross_thread_ns, py::arg("frames"),
          py::arg("capacity") = 1024, py::call_guard<py::gil_scoped_release>());
    m.def("queue_throughput_ns", &queue_throughput_ns, py::arg("queue"), py::arg("payload"), py::arg("items"),
          py::arg("capacity") = 1024, py::call_guard<py::gil_scoped_release>(),
          "Producer thread → consumer thread through `queue` (ac_core, mutex_deque, boost_spsc): ns per item");
    m.def("queue_round_trip_ns", &queue_round_trip_ns, py::arg("queue"), py::arg("payload"), py::arg("round_trips"),
          py::arg("capacity") = 1024, py::call_guard<py::gil_scoped_release>(),
          "One item A → B → A through two queues, one at a time: ns per round trip");
    m.attr("RING_BENCH_HAS_BOOST") = ring_bench_has_boost();
}
