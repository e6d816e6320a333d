// Each binding file registers itself here, so components (core, plumbing, sim ...) add bindings
// without editing a shared module file. Bindings stay thin: no logic, only conversions.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <utility>
#include <vector>

namespace ac_core::py_bindings {

using Binder = void (*)(pybind11::module_&);

struct BinderEntry {
    int order;  // lower runs first: 0 core types, 10 plumbing, 20 sim, 30 env helpers
    Binder fn;
};

inline std::vector<BinderEntry>& registry() {
    static std::vector<BinderEntry> entries;
    return entries;
}

struct RegisterBinder {
    RegisterBinder(int order, Binder fn) { registry().push_back({order, fn}); }
};

}  // namespace ac_core::py_bindings

#define AC_CORE_CONCAT_INNER(a, b) a##b
#define AC_CORE_CONCAT(a, b) AC_CORE_CONCAT_INNER(a, b)
// Usage: AC_CORE_BINDINGS(10, m) { m.def(...); }
#define AC_CORE_BINDINGS(order, module_var)                                                           \
    static void AC_CORE_CONCAT(ac_core_bind_, __LINE__)(pybind11::module_ & module_var);               \
    static ::ac_core::py_bindings::RegisterBinder AC_CORE_CONCAT(ac_core_register_, __LINE__)(         \
        order, &AC_CORE_CONCAT(ac_core_bind_, __LINE__));                                             \
    static void AC_CORE_CONCAT(ac_core_bind_, __LINE__)(pybind11::module_ & module_var)
