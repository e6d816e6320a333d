// Bindings for CSP's Custom AI pages: field tables and names, CspSession, CspFeeder and the watchdog.
// Thin: conversions and GIL handling only.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ac_core/csp/feeder.hpp"
#include "ac_core/csp/page_io.hpp"
#include "ac_core/csp/pages.hpp"
#include "ac_core/csp/session.hpp"
#include "ac_core/csp/watchdog.hpp"
#include "bindings.hpp"

namespace py = pybind11;
using namespace ac_core;

namespace {

const char* numpy_type(CspFieldType t) {
    switch (t) {
        case CspFieldType::Int32: return "<i4";
        case CspFieldType::UInt32: return "<u4";
        case CspFieldType::Float32: return "<f4";
        case CspFieldType::Bool8: return "u1";
        case CspFieldType::UInt8: return "u1";
        case CspFieldType::Wheel: return "wheel";
    }
    return "?";
}

py::list rows(const CspFieldInfo* fields, std::size_t n) {
    py::list out;
    for (std::size_t i = 0; i < n; ++i) {
        const CspFieldInfo& f = fields[i];
        out.append(py::make_tuple(f.name, f.offset, numpy_type(f.type), f.count, f.type == CspFieldType::Bool8));
    }
    return out;
}

const char* code_name(CspError::Code c) {
    switch (c) {
        case CspError::Code::CarNotFound: return "car_not_found";
        case CspError::Code::GameStopped: return "game_stopped";
        case CspError::Code::NotMoved: return "not_moved";
        case CspError::Code::BadArgument: return "bad_argument";
        case CspError::Code::Closed: return "closed";
    }
    return "?";
}

py::tuple step_tuple(const CspStepResult& r) { return py::make_tuple(r.packet_id, r.ticks, r.wall_s); }

std::array<float, 3> vec3(const std::vector<float>& v, const char* what) {
    if (v.size() != 3) throw py::value_error(std::string(what) + " must have 3 components (x, y up, z)");
    return {v[0], v[1], v[2]};
}

}  // namespace

void ac_core::py_bindings::bind_csp(py::module_& m) {
    static PyObject* csp_error = PyErr_NewException("ac_core._core.CspError", PyExc_RuntimeError, nullptr);
    m.attr("CspError") = py::handle(csp_error);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const CspError& e) {
            if (e.code() == CspError::Code::BadArgument) {
                PyErr_SetString(PyExc_ValueError, e.what());
                return;
            }
            py::object err = py::reinterpret_borrow<py::object>(csp_error)(e.what());
            err.attr("code") = code_name(e.code());
            PyErr_SetObject(csp_error, err.ptr());
        }
    });

    py::enum_<CspPageKind>(m, "CspPageKind")
        .value("CAR_CONTROLS", CspPageKind::CarControls)
        .value("CAR", CspPageKind::Car)
        .value("CAR_PUBLIC", CspPageKind::CarPublic)
        .value("SIM_STATE_V0", CspPageKind::SimStateV0)
        .value("SIM_STATE_V1", CspPageKind::SimStateV1);
    m.def("csp_field_table", [](CspPageKind k) {
        const CspPageSpec& s = csp_page_spec(k);
        return rows(s.fields, s.field_count);
    }, py::arg("kind"), "Rows (name, offset, numpy type or 'wheel', count, is_bool) from the C++ structs");
    m.def("csp_wheel_field_table", [] { return rows(kCspWheelFields, std::size(kCspWheelFields)); });
    m.def("csp_page_size", [](CspPageKind k) { return csp_page_spec(k).size; }, py::arg("kind"));
    m.attr("CSP_WHEEL_SIZE") = kCspWheelSize;
    m.attr("CSP_NAMESPACE") = kCspNamespace;
    m.attr("CSP_OWN_PAGE_SIZE") = kCspOwnPageSize;
    m.attr("CSP_TRAILER_OFFSET") = kCspTrailerOffset;
    m.attr("CSP_TRAILER_MAGIC") = kCspTrailerMagic;
    m.def("csp_page_name", &csp_page_name, py::arg("kind"), py::arg("car_index") = 0, py::arg("prefix") = "");
    m.def("process_alive", &process_alive, py::arg("pid"));

    py::class_<CspSession, std::shared_ptr<CspSession>>(
        m, "CspSession", "Drives one car through CSP's Custom AI pages (creating it takes the car over)")
        .def(py::init([](const std::string& prefix, int car_index, int sim_state_version, bool autoshift,
                         bool autoclutch, bool autoblip, double heartbeat_interval_s, double stall_timeout_s,
                         float safe_brake, double settle_ticks, uint32_t teleport_hold_ticks, bool replace_stale) {
                 CspSessionOptions o;
                 o.prefix = prefix;
                 o.car_index = car_index;
                 o.sim_state_version = sim_state_version;
                 o.autoshift = autoshift;
                 o.autoclutch = autoclutch;
                 o.autoblip = autoblip;
                 o.heartbeat_interval_s = heartbeat_interval_s;
                 o.stall_timeout_s = stall_timeout_s;
                 o.safe_brake = safe_brake;
                 o.settle_ticks = settle_ticks;
                 o.teleport_hold_ticks = teleport_hold_ticks;
                 o.replace_stale = replace_stale;
                 return std::make_shared<CspSession>(o);
             }),
             py::arg("prefix") = "", py::arg("car_index") = 0, py::arg("sim_state_version") = 1,
             py::arg("autoshift") = true, py::arg("autoclutch") = true, py::arg("autoblip") = true,
             py::arg("heartbeat_interval_s") = 0.05, py::arg("stall_timeout_s") = 0.5, py::arg("safe_brake") = 1.0f,
             py::arg("settle_ticks") = 1.0, py::arg("teleport_hold_ticks") = 5u, py::arg("replace_stale") = true)
        .def("page_name", &CspSession::page_name, py::arg("kind"))
        .def_property_readonly("car_present", &CspSession::car_present)
        .def_property_readonly("car_attached", &CspSession::car_attached)
        .def("wait_for_car", &CspSession::wait_for_car, py::arg("timeout_s") = 10.0,
             py::call_guard<py::gil_scoped_release>())
        .def(
            "read_car",
            [](CspSession& s, py::array& out) {
                if (!out.writeable() || !(out.flags() & py::array::c_style) || std::size_t(out.nbytes()) < kCspCarSize)
                    throw py::value_error("read_car needs a writable, C-contiguous array of at least " +
                                          std::to_string(kCspCarSize) + " bytes: use ac_core.csp.empty_page('car')");
                CspReadResult r;
                {
                    py::gil_scoped_release release;
                    r = s.read_car(*static_cast<CspCarData*>(out.mutable_data()));
                }
                if (!r.ok) throw py::value_error("the car page kept changing during the copy (torn); try again");
                return r.packet_id;
            },
            py::arg("out"), "Checked copy of Car<N>.v0 into `out`; returns its packet_id")
        .def_property_readonly("packet_id", &CspSession::packet_id)
        .def(
            "write_drive",
            [](CspSession& s, float steer, float gas, float brake, float clutch, float handbrake) {
                s.write_drive(CspDrive{steer, gas, brake, clutch, handbrake});
            },
            py::arg("steer"), py::arg("gas"), py::arg("brake"), py::arg("clutch") = 1.0f, py::arg("handbrake") = 0.0f)
        .def_property_readonly("staged_drive", [](const CspSession& s) {
            const CspDrive d = s.staged_drive();
            py::dict out;
            out["steer"] = d.steer;
            out["gas"] = d.gas;
            out["brake"] = d.brake;
            out["clutch"] = d.clutch;
            out["handbrake"] = d.handbrake;
            return out;
        })
        .def("set_control_byte", &CspSession::set_control_byte, py::arg("field"), py::arg("value"))
        .def("control_byte", &CspSession::control_byte, py::arg("field"))
        .def(
            "press_button",
            [](CspSession& s, const std::string& field, uint32_t hold_ticks, double timeout_s) {
                CspStepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.press_button(field, hold_ticks, timeout_s);
                }
                return step_tuple(r);
            },
            py::arg("field"), py::arg("hold_ticks") = 3u, py::arg("timeout_s") = 5.0,
            "Hold a button for hold_ticks physics ticks, then release; returns (packet_id, ticks, wall_s)")
        .def_static("button_names", &CspSession::button_names)
        .def(
            "teleport_to_pits",
            [](CspSession& s, double timeout_s) {
                CspStepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.teleport_to_pits(timeout_s);
                }
                return step_tuple(r);
            },
            py::arg("timeout_s") = 5.0)
        .def(
            "teleport",
            [](CspSession& s, const std::vector<float>& position, const std::vector<float>& direction, double timeout_s,
               double tolerance_m) {
                const auto pos = vec3(position, "position");
                const auto dir = vec3(direction, "direction");
                CspStepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.teleport(pos.data(), dir.data(), timeout_s, tolerance_m);
                }
                return step_tuple(r);
            },
            py::arg("position"), py::arg("direction"), py::arg("timeout_s") = 5.0, py::arg("tolerance_m") = 3.0)
        .def_property("paused", &CspSession::paused, &CspSession::set_paused)
        .def_property("time_scale", &CspSession::time_scale, &CspSession::set_time_scale)
        .def("set_extra_sleep_ms", &CspSession::set_extra_sleep_ms, py::arg("ms"))
        .def("set_disable_collisions", &CspSession::set_disable_collisions, py::arg("disable"))
        .def("set_restart_session", &CspSession::set_restart_session, py::arg("restart"))
        .def(
            "step_paused",
            [](CspSession& s, uint32_t ticks, double timeout_s) {
                CspStepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.step_paused(ticks, timeout_s);
                }
                return step_tuple(r);
            },
            py::arg("ticks"), py::arg("timeout_s") = 5.0,
            "Resume, run `ticks` physics ticks, pause; returns (packet_id, ticks that ran, wall_s)")
        .def(
            "wait_ticks",
            [](CspSession& s, uint32_t ticks, double timeout_s) {
                CspStepResult r;
                {
                    py::gil_scoped_release release;
                    r = s.wait_ticks(ticks, timeout_s);
                }
                return step_tuple(r);
            },
            py::arg("ticks"), py::arg("timeout_s") = 5.0,
            "Real time: wait for the next `ticks` physics ticks; returns (packet_id, ticks since the last step, wall_s)")
        .def_property_readonly("heartbeat", &CspSession::heartbeat)
        .def_property_readonly("stats", [](const CspSession& s) {
            const CspSessionStats st = s.stats();
            py::dict d;
            d["control_writes"] = st.control_writes;
            d["steps"] = st.steps;
            d["ticks"] = st.ticks;
            d["overshoot_ticks"] = st.overshoot_ticks;
            d["late_steps"] = st.late_steps;
            d["stall_brakes"] = st.stall_brakes;
            d["teleports"] = st.teleports;
            d["button_presses"] = st.button_presses;
            d["read_retries"] = st.read_retries;
            return d;
        })
        .def("close", &CspSession::close, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("closed", &CspSession::closed);

    py::class_<CspFeeder, Feeder>(m, "CspFeeder", "The Feeder interface over a CspSession (clutch = pedal)")
        .def(py::init<std::shared_ptr<CspSession>>(), py::arg("session"))
        .def_property_readonly("session", [](CspFeeder& f) { return &f.session(); },
                               py::return_value_policy::reference_internal);

    m.def(
        "run_csp_watchdog",
        [](const std::string& prefix, int car_index, int sim_state_version, uint32_t owner_pid, double timeout_s,
           double poll_s, double linger_s, double attach_timeout_s) {
            CspWatchdogOptions o;
            o.prefix = prefix;
            o.car_index = car_index;
            o.sim_state_version = sim_state_version;
            o.owner_pid = owner_pid;
            o.timeout_s = timeout_s;
            o.poll_s = poll_s;
            o.linger_s = linger_s;
            o.attach_timeout_s = attach_timeout_s;
            CspWatchdogOutcome r;
            {
                py::gil_scoped_release release;
                r = run_csp_watchdog(o);
            }
            return std::string(csp_watchdog_outcome_name(r));
        },
        py::arg("prefix") = "", py::arg("car_index") = 0, py::arg("sim_state_version") = 1, py::arg("owner_pid") = 0,
        py::arg("timeout_s") = 0.5, py::arg("poll_s") = 0.02, py::arg("linger_s") = 3.0,
        py::arg("attach_timeout_s") = 10.0,
        "Watch a CSP session's heartbeat; when it stops, write safe controls. Returns the outcome's name");
}
