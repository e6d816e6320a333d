// Bindings for the track model (cpp/include/ac_core/track.hpp). Thin: array checks and conversions.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ac_core/track/track.hpp"
#include "bindings.hpp"

namespace py = pybind11;
using namespace ac_core;

namespace {

using F64 = py::array_t<double, py::array::c_style>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A caller-provided float64 C-contiguous array with exactly `count` elements, or a clear error.
double* out_array(py::array& a, std::size_t count, const char* what) {
    if (!py::isinstance<py::array_t<double>>(a) || !(a.flags() & py::array::c_style))
        throw py::type_error(std::string(what) + " must be a C-contiguous float64 NumPy array");
    if (!a.writeable()) throw py::value_error(std::string(what) + " is read-only; pass a writable array");
    if (std::size_t(a.size()) != count)
        throw py::value_error(std::string(what) + " has " + std::to_string(a.size()) + " elements, expected " +
                              std::to_string(count) + " (allocate it with BatchGeometry.allocate(n))");
    return static_cast<double*>(a.mutable_data());
}

double* optional_out(py::object o, std::size_t count, const char* what) {
    if (o.is_none()) return nullptr;
    py::array a = o.cast<py::array>();
    return out_array(a, count, what);
}

const double* in_array(const py::array& a, std::size_t count, const char* what) {
    if (!py::isinstance<py::array_t<double>>(a) || !(a.flags() & py::array::c_style))
        throw py::type_error(std::string(what) + " must be a C-contiguous float64 NumPy array");
    if (std::size_t(a.size()) != count)
        throw py::value_error(std::string(what) + " has " + std::to_string(a.size()) + " elements, expected " +
                              std::to_string(count));
    return static_cast<const double*>(a.data());
}

std::vector<CentreVertex> vertices_from(const F64& table) {
    if (table.ndim() != 2 || (table.shape(1) != 5 && table.shape(1) != 7))
        throw py::value_error(
            "vertices must be an (n, 5) or (n, 7) float array: x, z, y, width_left, width_right[, runoff_left, "
            "runoff_right]");
    auto t = table.unchecked<2>();
    std::vector<CentreVertex> v(std::size_t(table.shape(0)));
    for (py::ssize_t i = 0; i < table.shape(0); ++i) {
        CentreVertex& c = v[std::size_t(i)];
        c.x = t(i, 0);
        c.z = t(i, 1);
        c.y = t(i, 2);
        c.width_left = t(i, 3);
        c.width_right = t(i, 4);
        if (table.shape(1) == 7) {
            c.runoff_left = t(i, 5);
            c.runoff_right = t(i, 6);
        }
    }
    return v;
}

py::array_t<double> vertices_to(const std::vector<CentreVertex>& v) {
    py::array_t<double> out({py::ssize_t(v.size()), py::ssize_t(7)});
    auto o = out.mutable_unchecked<2>();
    for (std::size_t i = 0; i < v.size(); ++i) {
        const py::ssize_t r = py::ssize_t(i);
        o(r, 0) = v[i].x;
        o(r, 1) = v[i].z;
        o(r, 2) = v[i].y;
        o(r, 3) = v[i].width_left;
        o(r, 4) = v[i].width_right;
        o(r, 5) = v[i].runoff_left;
        o(r, 6) = v[i].runoff_right;
    }
    return out;
}

// Batched geometry with its fixed configuration; the Python side owns the output arrays.
struct BatchGeometry {
    std::shared_ptr<const Track> track;
    BatchGeometryConfig config;

    void compute(const py::array& x, const py::array& z, const py::array& heading, py::object s_hint, py::array s,
                 py::array lateral, py::array heading_error, py::array curvature, py::object lookahead_points,
                 py::object lookahead_curvature, py::object ray_distance) const {
        const std::size_t n = std::size_t(x.size());
        const std::size_t m = config.lookahead_distances.size();
        const std::size_t l = config.lookahead_lines.size();
        const std::size_t r = config.ray_angles.size();
        BatchGeometryOutput out;
        out.s = out_array(s, n, "s");
        out.lateral = out_array(lateral, n, "lateral");
        out.heading_error = out_array(heading_error, n, "heading_error");
        out.curvature = out_array(curvature, n, "curvature");
        out.lookahead_points = optional_out(lookahead_points, n * l * m * 2, "lookahead_points");
        out.lookahead_curvature = optional_out(lookahead_curvature, n * m, "lookahead_curvature");
        out.ray_distance = optional_out(ray_distance, n * r, "ray_distance");
        const double* px = in_array(x, n, "x");
        const double* pz = in_array(z, n, "z");
        const double* ph = in_array(heading, n, "heading");
        const double* hint = nullptr;
        if (!s_hint.is_none()) hint = in_array(s_hint.cast<py::array>(), n, "s_hint");
        py::gil_scoped_release release;
        track->batch_geometry(config, n, px, pz, ph, hint, out);
    }
};

}  // namespace

void ac_core::py_bindings::bind_track(py::module_& m) {
    py::register_exception<TrackFileError>(m, "TrackFileError", PyExc_ValueError);

    py::enum_<Surface>(m, "Surface")
        .value("TRACK", Surface::Track)
        .value("KERB", Surface::Kerb)
        .value("RUNOFF", Surface::Runoff)
        .value("BARRIER", Surface::Barrier);
    py::enum_<LookaheadLine>(m, "LookaheadLine")
        .value("CENTRE", LookaheadLine::Centre)
        .value("LEFT_EDGE", LookaheadLine::LeftEdge)
        .value("RIGHT_EDGE", LookaheadLine::RightEdge);

    py::class_<TrackSample>(m, "TrackSample")
        .def_readonly("s", &TrackSample::s)
        .def_readonly("x", &TrackSample::x)
        .def_readonly("z", &TrackSample::z)
        .def_readonly("y", &TrackSample::y)
        .def_readonly("heading", &TrackSample::heading)
        .def_readonly("curvature", &TrackSample::curvature)
        .def_readonly("width_left", &TrackSample::width_left)
        .def_readonly("width_right", &TrackSample::width_right)
        .def_readonly("runoff_left", &TrackSample::runoff_left)
        .def_readonly("runoff_right", &TrackSample::runoff_right)
        .def_readonly("grade", &TrackSample::grade)
        .def_readonly("vertical_curvature", &TrackSample::vertical_curvature);

    py::class_<Projection>(m, "Projection")
        .def_readonly("s", &Projection::s)
        .def_readonly("lateral", &Projection::lateral)
        .def_readonly("heading", &Projection::heading)
        .def_readonly("used_global", &Projection::used_global)
        .def("__repr__", [](const Projection& p) {
            return "Projection(s=" + std::to_string(p.s) + ", lateral=" + std::to_string(p.lateral) +
                   ", heading=" + std::to_string(p.heading) + ")";
        });

    py::class_<Track, std::shared_ptr<Track>>(m, "Track")
        .def(py::init([](const F64& vertices, const std::string& name, std::array<double, 2> sector_starts,
                         double pit_exit_s, double pit_exit_lateral, double sample_spacing, double kerb_width,
                         double default_runoff, std::array<double, kSurfaceCount> grip) {
                 TrackMeta meta;
                 meta.name = name;
                 meta.sector_starts = sector_starts;
                 meta.pit_exit_s = pit_exit_s;
                 meta.pit_exit_lateral = pit_exit_lateral;
                 TrackBuildOptions options;
                 options.sample_spacing = sample_spacing;
                 options.surfaces.kerb_width = kerb_width;
                 options.surfaces.default_runoff = default_runoff;
                 options.surfaces.grip = grip;
                 return std::make_shared<Track>(vertices_from(vertices), meta, options);
             }),
             py::arg("vertices"), py::arg("name") = "track",
             py::arg("sector_starts") = std::array<double, 2>{1.0 / 3.0, 2.0 / 3.0}, py::arg("pit_exit_s") = 0.0,
             py::arg("pit_exit_lateral") = 0.0, py::arg("sample_spacing") = 1.0, py::arg("kerb_width") = 1.0,
             py::arg("default_runoff") = 15.0, py::arg("grip") = SurfaceConfig{}.grip)
        .def_property_readonly("name", &Track::name)
        .def_property_readonly("length", &Track::length)
        .def_property_readonly("sample_spacing", &Track::sample_spacing)
        .def_property_readonly("sector_starts", [](const Track& t) { return t.meta().sector_starts; })
        .def_property_readonly("pit_exit_s", [](const Track& t) { return t.meta().pit_exit_s; })
        .def_property_readonly("pit_exit_lateral", [](const Track& t) { return t.meta().pit_exit_lateral; })
        .def_property_readonly("kerb_width", [](const Track& t) { return t.surfaces().kerb_width; })
        .def_property_readonly("grip_table", [](const Track& t) { return t.surfaces().grip; })
        .def("wrap", &Track::wrap, py::arg("s"))
        .def("delta_s", &Track::delta_s, py::arg("s_from"), py::arg("s_to"))
        .def("sector_at", &Track::sector_at, py::arg("s"))
        .def("at", &Track::at, py::arg("s"))
        .def("elevation", &Track::elevation, py::arg("s"))
        .def("grade", &Track::grade, py::arg("s"))
        .def("curvature", &Track::curvature, py::arg("s"))
        .def("heading", &Track::heading, py::arg("s"))
        .def("position",
             [](const Track& t, double s, double lateral) {
                 double x, z, y;
                 t.position(s, lateral, x, z, y);
                 return py::make_tuple(x, z, y);
             },
             py::arg("s"), py::arg("lateral") = 0.0)
        .def("project", &Track::project, py::arg("x"), py::arg("z"), py::arg("s_hint") = kNaN)
        .def("project_global", &Track::project_global, py::arg("x"), py::arg("z"))
        .def("surface_at", &Track::surface_at, py::arg("s"), py::arg("lateral"))
        .def("grip", &Track::grip, py::arg("surface"))
        .def("ray_to_edge", &Track::ray_to_edge, py::arg("x"), py::arg("z"), py::arg("ray_heading"),
             py::arg("max_range"), py::arg("s_hint") = kNaN)
        .def("total_turning", &Track::total_turning)
        .def("samples",
             [](const Track& t) {
                 const std::size_t n = t.sample_count();
                 py::array_t<double> out({py::ssize_t(n), py::ssize_t(3)});
                 auto o = out.mutable_unchecked<2>();
                 for (std::size_t i = 0; i < n; ++i) {
                     o(py::ssize_t(i), 0) = t.sample_x()[i];
                     o(py::ssize_t(i), 1) = t.sample_z()[i];
                     o(py::ssize_t(i), 2) = t.sample_y()[i];
                 }
                 return out;
             },
             "(n, 3) array of the fine samples' x, z, y (s = i * sample_spacing)")
        // Vectorised queries: loops in C++, outputs into caller arrays.
        .def("sample_many",
             [](const Track& t, const py::array& s, py::array out) {
                 const std::size_t n = std::size_t(s.size());
                 const double* ps = in_array(s, n, "s");
                 double* o = out_array(out, n * 11, "out (n, 11)");
                 py::gil_scoped_release release;
                 for (std::size_t i = 0; i < n; ++i) {
                     const TrackSample a = t.at(ps[i]);
                     double* r = o + i * 11;
                     r[0] = a.s, r[1] = a.x, r[2] = a.z, r[3] = a.y, r[4] = a.heading, r[5] = a.curvature;
                     r[6] = a.width_left, r[7] = a.width_right, r[8] = a.grade, r[9] = a.runoff_left;
                     r[10] = a.runoff_right;
                 }
             },
             py::arg("s"), py::arg("out"),
             "out[i] = s, x, z, y, heading, curvature, width_left, width_right, grade, runoff_left, runoff_right")
        .def("project_many",
             [](const Track& t, const py::array& x, const py::array& z, py::object s_hint, py::array s_out,
                py::array lateral_out, py::array heading_out) {
                 const std::size_t n = std::size_t(x.size());
                 const double* px = in_array(x, n, "x");
                 const double* pz = in_array(z, n, "z");
                 const double* hint = s_hint.is_none() ? nullptr : in_array(s_hint.cast<py::array>(), n, "s_hint");
                 double* so = out_array(s_out, n, "s_out");
                 double* lo = out_array(lateral_out, n, "lateral_out");
                 double* ho = out_array(heading_out, n, "heading_out");
                 py::gil_scoped_release release;
                 for (std::size_t i = 0; i < n; ++i) {
                     const Projection p = t.project(px[i], pz[i], hint ? hint[i] : kNaN);
                     so[i] = p.s, lo[i] = p.lateral, ho[i] = p.heading;
                 }
             },
             py::arg("x"), py::arg("z"), py::arg("s_hint"), py::arg("s_out"), py::arg("lateral_out"),
             py::arg("heading_out"))
        .def("surface_many",
             [](const Track& t, const py::array& s, const py::array& lateral, py::array surface_out,
                py::array grip_out) {
                 const std::size_t n = std::size_t(s.size());
                 const double* ps = in_array(s, n, "s");
                 const double* pl = in_array(lateral, n, "lateral");
                 double* so = out_array(surface_out, n, "surface_out");
                 double* go = out_array(grip_out, n, "grip_out");
                 py::gil_scoped_release release;
                 for (std::size_t i = 0; i < n; ++i) {
                     const Surface c = t.surface_at(ps[i], pl[i]);
                     so[i] = double(static_cast<int>(c));
                     go[i] = t.grip(c);
                 }
             },
             py::arg("s"), py::arg("lateral"), py::arg("surface_out"), py::arg("grip_out"));

    py::class_<BatchGeometry>(m, "BatchGeometry")
        .def(py::init([](std::shared_ptr<Track> track, std::vector<double> lookahead, std::vector<LookaheadLine> lines,
                         std::vector<double> ray_angles, double ray_max_range) {
                 if (!(ray_max_range > 0)) throw py::value_error("ray_max_range must be > 0");
                 if (ray_angles.size() > 256) throw py::value_error("at most 256 rays");
                 BatchGeometry g;
                 g.track = std::move(track);
                 g.config.lookahead_distances = std::move(lookahead);
                 g.config.lookahead_lines = std::move(lines);
                 g.config.ray_angles = std::move(ray_angles);
                 g.config.ray_max_range = ray_max_range;
                 return g;
             }),
             py::arg("track"), py::arg("lookahead"), py::arg("lines"), py::arg("ray_angles"), py::arg("ray_max_range"))
        .def("compute", &BatchGeometry::compute, py::arg("x"), py::arg("z"), py::arg("heading"), py::arg("s_hint"),
             py::arg("s"), py::arg("lateral"), py::arg("heading_error"), py::arg("curvature"),
             py::arg("lookahead_points") = py::none(), py::arg("lookahead_curvature") = py::none(),
             py::arg("ray_distance") = py::none());

    m.def("builtin_track_names", &builtin_track_names);
    m.def("builtin_track_vertices",
          [](const std::string& name) { return vertices_to(builtin_track_vertices(name)); }, py::arg("name"),
          "(n, 7) authored vertices: x, z, y, width_left, width_right, runoff_left, runoff_right");
    m.def("load_track",
          [](const std::string& name_or_path, double sample_spacing) {
              TrackBuildOptions o;
              o.sample_spacing = sample_spacing;
              return std::const_pointer_cast<Track>(load_track(name_or_path, o));
          },
          py::arg("name_or_path"), py::arg("sample_spacing") = 1.0);
    m.def("read_fast_lane_ai", [](const std::string& path) { return vertices_to(read_fast_lane_ai(path)); },
          py::arg("path"));
    m.def("read_centreline_csv", [](const std::string& path) { return vertices_to(read_centreline_csv(path)); },
          py::arg("path"));
    m.def("write_fast_lane_ai", &write_fast_lane_ai, py::arg("track"), py::arg("path"), py::arg("spacing") = 2.0);
}
