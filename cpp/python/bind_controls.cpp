// Bindings for the control feeders: the Feeder interface and its outputs (the pad page, vJoy,
// uinput) with their error types. The fake vJoy and the pad page's reading end are test tools and
// live in ac_core._testing. Thin: conversions only.
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "ac_core/controls/feeder.hpp"
#include "ac_core/controls/pad_feeder.hpp"
#include "ac_core/controls/uinput_feeder.hpp"
#include "ac_core/controls/vjoy.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"
#include "ac_core/core/shared_page.hpp"
#include "bindings.hpp"

namespace py = pybind11;
using namespace ac_core;

namespace {

py::dict feeder_stats(const Feeder& f) {
    py::dict d;
    d["writes"] = f.stats().writes;
    d["clamped_values"] = f.stats().clamped_values;
    d["rejected"] = f.stats().rejected;
    return d;
}

}  // namespace

void ac_core::py_bindings::bind_controls(py::module_& m) {
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
        .def_property_readonly("closed", &UinputFeeder::closed)
        .def("close", &UinputFeeder::close);
    m.attr("UINPUT_AVAILABLE") = true;
#else
    m.attr("UINPUT_AVAILABLE") = false;
#endif
}
