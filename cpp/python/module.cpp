#include <algorithm>

#include "binding_registry.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "ac_core C++ core: Assetto Corsa pages, shared memory, real-time plumbing, simulator";
    m.attr("__version__") = AC_CORE_VERSION;
    auto entries = ac_core::py_bindings::registry();
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
    for (const auto& e : entries) e.fn(m);
}
