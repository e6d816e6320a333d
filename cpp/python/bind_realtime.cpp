// Bindings for the real-time plumbing: the clock, telemetry frames, the poller (ring + latest-frame
// slot) and the steppers. Thin: conversions, GIL handling and signal checks only.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <optional>
#include <string>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/realtime/poller.hpp"
#include "ac_core/realtime/rt_thread.hpp"
#include "ac_core/realtime/stepper.hpp"
#include "ac_core/realtime/telemetry.hpp"
#include "bindings.hpp"

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

const uint8_t* page_bytes(const SharedPage& page, const char* what) {
    if (!page.valid()) throw py::value_error(std::string(what) + " page is closed");
    return page.data();
}

}  // namespace

void ac_core::py_bindings::bind_realtime(py::module_& m) {
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
}
