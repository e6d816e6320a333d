// ac_core._core: the shipped module. Each component binds its part, in this order: later parts use
// types of earlier ones (CspFeeder derives from the controls' Feeder; the poller takes a SharedPage).
// Test fakes and benchmark helpers live in ac_core._testing (testing_module.cpp), not here.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
    using namespace ac_core::py_bindings;
    m.doc() = "ac_core C++ core: Assetto Corsa pages, shared memory, real-time plumbing, simulator";
    m.attr("__version__") = AC_CORE_VERSION;
    bind_pages(m);
    bind_realtime(m);
    bind_controls(m);
    bind_csp(m);
    bind_track(m);
    bind_sim(m);
}
