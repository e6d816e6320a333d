// Bindings for pages, shared memory, checked snapshots and liveness.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>

#include "ac_core/core/liveness.hpp"
#include "ac_core/core/pages.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/core/snapshot.hpp"
#include "bindings.hpp"

namespace py = pybind11;
using namespace ac_core;

namespace {

py::list field_table(PageKind kind) {
    const PageSpec& spec = page_spec(kind);
    py::list rows;
    for (std::size_t i = 0; i < spec.field_count; ++i) {
        const FieldInfo& f = spec.fields[i];
        const char* type = f.type == FieldType::Int32 ? "i4" : f.type == FieldType::Float32 ? "f4" : "u2";
        py::tuple shape;
        if (f.dim1 > 1) shape = py::make_tuple(f.dim0, f.dim1);
        else if (f.dim0 > 1) shape = py::make_tuple(f.dim0);
        else shape = py::tuple();
        rows.append(py::make_tuple(f.name, f.offset, type, shape, f.type == FieldType::Utf16));
    }
    return rows;
}

// The destination must be a writable, C-contiguous buffer of at least struct_size() bytes. Checked
// without allocating: this is the hot path of every observation.
void* checked_destination(py::array& out, std::size_t need) {
    if (!out.writeable()) throw py::value_error("snapshot destination array is read-only; pass a writable array");
    if (!(out.flags() & py::array::c_style)) throw py::value_error("snapshot destination must be C-contiguous");
    if (std::size_t(out.nbytes()) < need)
        throw py::value_error("snapshot destination has " + std::to_string(out.nbytes()) + " bytes, the page needs " +
                              std::to_string(need) + ": allocate it with ac_core.pages.empty_page(kind)");
    return out.mutable_data();
}

void translate(const SharedPageError& e) {
    switch (e.code()) {
        case SharedPageError::Code::NotFound: PyErr_SetString(PyExc_FileNotFoundError, e.what()); break;
        case SharedPageError::Code::AlreadyExists: PyErr_SetString(PyExc_FileExistsError, e.what()); break;
        case SharedPageError::Code::PermissionDenied: PyErr_SetString(PyExc_PermissionError, e.what()); break;
        case SharedPageError::Code::InvalidName:
        case SharedPageError::Code::TooSmall: PyErr_SetString(PyExc_ValueError, e.what()); break;
        default: PyErr_SetString(PyExc_OSError, e.what());
    }
}

}  // namespace

void ac_core::py_bindings::bind_pages(py::module_& m) {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const SharedPageError& e) {
            translate(e);
        }
    });

    py::enum_<PageKind>(m, "PageKind")
        .value("PHYSICS", PageKind::Physics)
        .value("GRAPHICS", PageKind::Graphics)
        .value("STATIC", PageKind::Static);

    m.def("field_table", &field_table, py::arg("kind"),
          "Rows (name, offset, numpy type, shape, is_utf16) generated from the C++ page structs");
    m.def("page_size", [](PageKind k) { return page_spec(k).size; }, py::arg("kind"));
    m.def("page_minimal_size", [](PageKind k) { return page_spec(k).minimal_size; }, py::arg("kind"));
    m.def("page_suffix", [](PageKind k) { return std::string(page_spec(k).suffix); }, py::arg("kind"));
    m.attr("BRIDGE_PAGE_SIZE") = kBridgePageSize;
    m.attr("PHYSICS_CORE_SIZE") = kPhysicsCoreSize;
    m.attr("TRAILER_OFFSET") = kTrailerOffset;
    m.attr("TRAILER_MAGIC") = kTrailerMagic;

    py::class_<SharedPage>(m, "SharedPage", py::buffer_protocol(),
                           "A named shared-memory page. Readers open existing pages; owners create and remove them.")
        .def_static(
            "open",
            [](const std::string& name, bool writable) {
                return SharedPage::open_existing(name, writable ? SharedPage::Access::ReadWrite : SharedPage::Access::ReadOnly);
            },
            py::arg("name"), py::arg("writable") = false, "Open an existing page; never creates one")
        .def_static("create", &SharedPage::create, py::arg("name"), py::arg("size"), py::arg("mode") = 0600,
                    py::arg("replace_stale") = false,
                    "Create and own a zeroed page, removed on close while the name is still ours; replace_stale "
                    "replaces a leftover page no live process holds")
        .def_static("take_replacement_notes", &SharedPage::take_replacement_notes,
                    "One line per leftover page create() replaced since the last call")
        .def_static("exists", &SharedPage::exists, py::arg("name"))
        .def_static("os_name", &SharedPage::os_name, py::arg("name"))
        .def_property_readonly("name", &SharedPage::name)
        .def_property_readonly("size", &SharedPage::size)
        .def_property_readonly("is_owner", &SharedPage::is_owner)
        .def_property_readonly("writable", &SharedPage::writable)
        .def_property_readonly("closed", [](const SharedPage& p) { return !p.valid(); })
        .def("close", &SharedPage::close)
        .def("__enter__", [](SharedPage& p) -> SharedPage& { return p; }, py::return_value_policy::reference)
        .def("__exit__", [](SharedPage& p, py::args) { p.close(); })
        .def_buffer([](SharedPage& p) -> py::buffer_info {
            if (!p.valid()) throw py::value_error("page is closed");
            return py::buffer_info(const_cast<uint8_t*>(p.data()), 1, py::format_descriptor<uint8_t>::format(), 1,
                                   {p.size()}, {1}, !p.writable());
        });

    py::enum_<SnapshotProtocol>(m, "SnapshotProtocol")
        .value("PACKET_ID", SnapshotProtocol::PacketId)
        .value("SEQLOCK", SnapshotProtocol::Seqlock)
        .value("STABLE_COPY", SnapshotProtocol::StableCopy);

    // The reader keeps its page alive (keep_alive) so a view can never outlive the mapping.
    py::class_<PageReader>(m, "PageReader", "Checked snapshots of one page kind")
        .def(py::init([](const SharedPage& page, PageKind kind, uint32_t max_retries) {
                 if (!page.valid()) throw py::value_error("page is closed");
                 require_minimal_page(page, kind);
                 return new PageReader(page, kind, max_retries);
             }),
             py::arg("page"), py::arg("kind"), py::arg("max_retries") = 16, py::keep_alive<1, 2>())
        .def(
            "read_into",
            [](PageReader& r, py::array& out) {
                SnapshotResult res = r.read(checked_destination(out, r.struct_size()));
                return res.ok ? py::object(py::int_(res.packet_id)) : py::object(py::none());
            },
            py::arg("out"),
            "Copy the page into `out`; returns its packetId (0 for static), or None if it kept changing")
        .def(
            "read_into_or_raise",
            [](PageReader& r, py::array& out) {
                SnapshotResult res = r.read(checked_destination(out, r.struct_size()));
                if (!res.ok)
                    throw py::value_error("page kept changing during " + std::to_string(res.retries) +
                                          " copies; the writer is too fast or broken");
                return res.packet_id;
            },
            py::arg("out"))
        .def_property_readonly("struct_size", &PageReader::struct_size)
        .def_property_readonly("available_bytes", &PageReader::available_bytes)
        .def_property_readonly("protocol", &PageReader::protocol)
        .def("detect_protocol", &PageReader::detect_protocol)
        .def_property_readonly("stats", [](const PageReader& r) {
            const auto& s = r.stats();
            py::dict d;
            d["snapshots"] = s.snapshots;
            d["retries"] = s.retries;
            d["failures"] = s.failures;
            return d;
        });

    py::enum_<Liveness>(m, "Liveness")
        .value("UNKNOWN", Liveness::Unknown)
        .value("LIVE", Liveness::Live)
        .value("PAUSED", Liveness::Paused)
        .value("REPLAY", Liveness::Replay)
        .value("OFF", Liveness::Off)
        .value("STALE", Liveness::Stale);
    py::class_<LivenessTracker>(m, "LivenessTracker")
        .def(py::init<double, double>(), py::arg("pause_after_s") = 0.050, py::arg("stale_after_s") = 1.0)
        .def("update", &LivenessTracker::update, py::arg("physics_packet_id"), py::arg("graphics_status"), py::arg("now_s"))
        .def_property_readonly("state", &LivenessTracker::state)
        .def("frozen_for", &LivenessTracker::frozen_for, py::arg("now_s"))
        .def_property_readonly("pauses", &LivenessTracker::pauses)
        .def_property_readonly("stalls", &LivenessTracker::stalls);
}
