// ac_core._testing: test fakes, test-side ends of the project's pages and benchmark helpers. Built
// and installed beside ac_core._core so tests and benchmarks run from an installed wheel, but kept
// out of _core: nothing in the product imports it. Its objects are _core's types (SharedPage,
// VJoyFeeder, UinputFeeder, ...): _core is imported first so pybind11 knows them here.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ac_core/controls/pad.hpp"
#include "ac_core/controls/uinput_feeder.hpp"
#include "ac_core/controls/vjoy.hpp"
#include "ac_core/controls/vjoy_fake.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"
#include "ac_core/core/pages.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/core/snapshot.hpp"
#include "ac_core/realtime/ring_bench.hpp"

namespace py = pybind11;
using namespace ac_core;

PYBIND11_MODULE(_testing, m) {
    m.doc() = "ac_core test fakes and benchmark helpers (not used by the product)";
    py::module_::import("ac_core._core");  // registers the types and exception translators used here

    // ---- AC pages as this project's producers write them (the tests' stand-in for AC) ----
    py::class_<SeqlockPageWriter>(m, "PageWriter", "Seqlocked whole-page publisher for pages this project owns")
        .def(py::init([](SharedPage& page, PageKind kind) { return new SeqlockPageWriter(page, kind); }),
             py::arg("page"), py::arg("kind"), py::keep_alive<1, 2>())
        .def(
            "publish",
            [](SeqlockPageWriter& w, const py::array& src) {
                if (!(src.flags() & py::array::c_style)) throw py::value_error("page source must be C-contiguous");
                if (std::size_t(src.nbytes()) < w.struct_size())
                    throw py::value_error("page source has " + std::to_string(src.nbytes()) + " bytes, needs " +
                                          std::to_string(w.struct_size()));
                w.publish(src.data());
            },
            py::arg("src"))
        .def("begin", &SeqlockPageWriter::begin, "Start a field-by-field write (seqlock odd)")
        .def("end", &SeqlockPageWriter::end, "Finish a field-by-field write (seqlock even)")
        .def_property_readonly("sequence", &SeqlockPageWriter::sequence);

    // ---- the pad page as the built-in simulator reads it ----
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
    m.def(
        "fake_vjoy_feeder", [](uint32_t device_id) { return new VJoyFeeder(fake_vjoy_api(), device_id); },
        py::arg("device_id") = 1, "A _core.VJoyFeeder on the in-process fake vJoy");

#ifdef __linux__
    m.def(
        "uinput_feeder_on_fd", [](int fd) { return UinputFeeder::attach_fd(fd); }, py::arg("fd"),
        "A _core.UinputFeeder writing frames to an open descriptor without device setup; the descriptor is not closed");
#endif

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
