// The binding functions of ac_core._core, one per C++ component, called in order by module.cpp.
// Bindings stay thin: conversions, GIL handling and signal checks, no logic.
#pragma once

#include <pybind11/pybind11.h>

namespace ac_core::py_bindings {

void bind_pages(pybind11::module_& m);     // core: page layouts, SharedPage, PageReader, liveness
void bind_realtime(pybind11::module_& m);  // realtime: clock, frames, TelemetryPoller, steppers
void bind_controls(pybind11::module_& m);  // controls: Feeder, PadFeeder, VJoyFeeder, UinputFeeder
void bind_csp(pybind11::module_& m);       // csp: Custom AI pages, CspSession, CspFeeder, watchdog
void bind_track(pybind11::module_& m);     // track: Track, projections, batched geometry, readers
void bind_sim(pybind11::module_& m);       // sim: vehicle, SimBatch, reference driver, RealtimeRunner

}  // namespace ac_core::py_bindings
