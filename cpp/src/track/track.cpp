// Track geometry: periodic cubic spline through the vertices, resampled uniformly by arc length into a
// fine polyline; every query runs on that polyline (linear between samples), with heading, curvature
// and grade taken from the spline at the samples.
#include "ac_core/track/track.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace ac_core {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Edge vertices tested per block in the ray casts (vectorisable), see Track::ray_cast.
constexpr std::size_t kRayChunk = 16;
// Fewest edge vertices a ray cast runs on: the stride between them shrinks on a short lap (and the
// modulo by their count is never by zero).
constexpr std::size_t kMinRayVertices = 8;

// Degenerate geometry, rejected when a track is built (every loader goes through Track::Track); the
// limits kMinLapLength and kMinVertexStep are in track.hpp.
// Self-overlap: two parts of the lap at least this far apart along it, closer together than the
// narrower half-width there (one centre line on the other's road) and running in the same or the
// opposite direction (|sin Δψ| below this: within 30°) are one road retraced. A crossing at a larger
// angle (a bridge, as at Suzuka) is allowed, and so are parts whose elevations differ by a clearance.
constexpr double kOverlapMaxSinAngle = 0.5;
constexpr double kOverlapClearance = 3.0;  // m of height between two levels of road
constexpr double kOverlapMaxReach = 10.0;  // m; half-widths above this are taken as 10 m for the test
constexpr double kOverlapPointStep = 0.5;  // m between the samples the test looks at

// Angle wrapped into (−π, π].
double wrap_pi(double a) noexcept {
    double r = std::fmod(a + kPi, kTwoPi);
    if (r <= 0) r += kTwoPi;
    return r - kPi;
}

// Periodic cubic interpolating spline f(u) on knots u_0 < … < u_n (u_n = period, f_n = f_0).
class PeriodicSpline {
public:
    PeriodicSpline(const std::vector<double>& knots, const std::vector<double>& values)
        : u_(knots), f_(values), m_(values.size(), 0.0) {
        const std::size_t n = f_.size();
        std::vector<double> a(n), b(n), c(n), r(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t im = (i + n - 1) % n, ip = (i + 1) % n;
            const double h_prev = u_[im + 1] - u_[im];
            const double h = u_[i + 1] - u_[i];
            a[i] = h_prev;
            b[i] = 2.0 * (h_prev + h);
            c[i] = h;
            r[i] = 6.0 * ((f_[ip] - f_[i]) / h - (f_[i] - f_[im]) / h_prev);
        }
        solve_cyclic(a, b, c, r, m_);
    }

    // Value and first two derivatives on segment i at t ∈ [0, h_i] from knot i.
    void eval(std::size_t i, double t, double& v, double& d1, double& d2) const noexcept {
        const std::size_t n = f_.size();
        const std::size_t ip = (i + 1) % n;
        const double h = u_[i + 1] - u_[i];
        const double A = (h - t) / h, B = t / h;
        v = A * f_[i] + B * f_[ip] + ((A * A * A - A) * m_[i] + (B * B * B - B) * m_[ip]) * h * h / 6.0;
        d1 = (f_[ip] - f_[i]) / h - (3.0 * A * A - 1.0) / 6.0 * h * m_[i] + (3.0 * B * B - 1.0) / 6.0 * h * m_[ip];
        d2 = A * m_[i] + B * m_[ip];
    }

private:
    // Cyclic tridiagonal system (Sherman–Morrison on top of the Thomas algorithm).
    static void solve_cyclic(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& c,
                             const std::vector<double>& r, std::vector<double>& x) {
        const std::size_t n = b.size();
        const double alpha = c[n - 1], beta = a[0];
        const double gamma = -b[0];
        std::vector<double> bb(b);
        bb[0] = b[0] - gamma;
        bb[n - 1] = b[n - 1] - alpha * beta / gamma;
        std::vector<double> u(n, 0.0), z(n);
        u[0] = gamma;
        u[n - 1] = alpha;
        thomas(a, bb, c, r, x);
        thomas(a, bb, c, u, z);
        const double factor = (x[0] + beta * x[n - 1] / gamma) / (1.0 + z[0] + beta * z[n - 1] / gamma);
        for (std::size_t i = 0; i < n; ++i) x[i] -= factor * z[i];
    }
    static void thomas(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& c,
                       const std::vector<double>& r, std::vector<double>& x) {
        const std::size_t n = b.size();
        std::vector<double> cp(n), dp(n);
        cp[0] = c[0] / b[0];
        dp[0] = r[0] / b[0];
        for (std::size_t i = 1; i < n; ++i) {
            const double m = b[i] - a[i] * cp[i - 1];
            cp[i] = c[i] / m;
            dp[i] = (r[i] - a[i] * dp[i - 1]) / m;
        }
        x[n - 1] = dp[n - 1];
        for (std::size_t i = n - 1; i-- > 0;) x[i] = dp[i] - cp[i] * x[i + 1];
    }

    std::vector<double> u_, f_, m_;
};

std::string vertex_problem(std::size_t i, const std::string& what) {
    return "track vertex " + std::to_string(i) + ": " + what;
}

std::string metres(double v, int decimals = 1) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f m", decimals, v);
    return buf;
}

// Largest distance of the vertices from their principal axis (the line they spread along most).
double spread_across(const std::vector<CentreVertex>& v) {
    double mx = 0, mz = 0;
    for (const CentreVertex& p : v) {
        mx += p.x;
        mz += p.z;
    }
    mx /= double(v.size());
    mz /= double(v.size());
    double sxx = 0, szz = 0, sxz = 0;
    for (const CentreVertex& p : v) {
        sxx += (p.x - mx) * (p.x - mx);
        szz += (p.z - mz) * (p.z - mz);
        sxz += (p.x - mx) * (p.z - mz);
    }
    const double angle = 0.5 * std::atan2(2.0 * sxz, sxx - szz);  // direction of the major axis
    const double ux = std::cos(angle), uz = std::sin(angle);
    double widest = 0;
    for (const CentreVertex& p : v) widest = std::max(widest, std::fabs(-(p.x - mx) * uz + (p.z - mz) * ux));
    return widest;
}

}  // namespace

TrackFileError::TrackFileError(const std::string& file, const std::string& location, const std::string& problem)
    : std::runtime_error(file + ": " + location + ": " + problem), file_(file), location_(location) {}

const char* surface_name(Surface surface) noexcept {
    switch (surface) {
        case Surface::Track: return "track";
        case Surface::Kerb: return "kerb";
        case Surface::Runoff: return "runoff";
        case Surface::Barrier: return "barrier";
    }
    return "unknown";
}

Track::Track(const std::vector<CentreVertex>& vertices_in, TrackMeta meta, TrackBuildOptions options)
    : meta_(std::move(meta)), surfaces_(options.surfaces) {
    if (!(options.sample_spacing > 0.05 && options.sample_spacing <= 20.0))
        throw std::invalid_argument("sample_spacing must be in (0.05, 20] m, got " + std::to_string(options.sample_spacing));
    if (!(surfaces_.kerb_width >= 0) || !(surfaces_.default_runoff > 0))
        throw std::invalid_argument("surface config: kerb_width must be >= 0 and default_runoff > 0");
    if (!(meta_.sector_starts[0] > 0 && meta_.sector_starts[0] < meta_.sector_starts[1] && meta_.sector_starts[1] < 1))
        throw std::invalid_argument("sector_starts must be increasing fractions in (0, 1), got " +
                                    std::to_string(meta_.sector_starts[0]) + ", " + std::to_string(meta_.sector_starts[1]));

    std::vector<CentreVertex> v(vertices_in);
    if (v.size() >= 2) {
        const double dx = v.back().x - v.front().x, dz = v.back().z - v.front().z;
        if (std::hypot(dx, dz) < kMinVertexStep) v.pop_back();  // explicitly closed loop
    }
    if (v.size() < 4)
        throw std::invalid_argument("a track needs at least 4 distinct centre-line vertices, got " + std::to_string(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) {
        const CentreVertex& p = v[i];
        if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
            throw std::invalid_argument(vertex_problem(i, "position is not finite"));
        if (std::fabs(p.x) > 1e6 || std::fabs(p.y) > 1e6 || std::fabs(p.z) > 1e6)
            throw std::invalid_argument(vertex_problem(i, "position is more than 1000 km from the origin"));
        if (p.width_left > 1000 || p.width_right > 1000)
            throw std::invalid_argument(vertex_problem(i, "a width is over 1000 m"));
        if (!(p.width_left > 0) || !(p.width_right > 0) || !std::isfinite(p.width_left) || !std::isfinite(p.width_right))
            throw std::invalid_argument(vertex_problem(i, "widths must be finite and > 0, got left " +
                                                              std::to_string(p.width_left) + " right " +
                                                              std::to_string(p.width_right)));
        for (double r : {p.runoff_left, p.runoff_right})
            if (!std::isnan(r) && !(r > 0 && std::isfinite(r)))
                throw std::invalid_argument(vertex_problem(i, "runoff must be > 0 or NaN (default)"));
    }

    // Knots by horizontal chord length.
    const std::size_t n = v.size();
    std::vector<double> knots(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const CentreVertex& a = v[i];
        const CentreVertex& b = v[(i + 1) % n];
        const double h = std::hypot(b.x - a.x, b.z - a.z);
        if (h < 1e-6)
            throw std::invalid_argument(vertex_problem((i + 1) % n, "repeats the previous vertex; remove duplicates"));
        knots[i + 1] = knots[i] + h;
    }
    // The most telling problem first: a lap far too short (wrong units) has short steps too.
    if (knots[n] < kMinLapLength)
        throw std::invalid_argument("the centre line is " + metres(knots[n]) + " around, shorter than the " +
                                    metres(kMinLapLength, 0) + " a track needs; check the units (metres are expected)");
    for (std::size_t i = 0; i < n; ++i) {
        const double h = knots[i + 1] - knots[i];
        if (h < kMinVertexStep)
            throw std::invalid_argument(vertex_problem(
                (i + 1) % n, "is " + metres(h, 3) + " from the previous vertex, closer than the " +
                                 metres(kMinVertexStep, 2) + " the track model resolves; remove it or resample the "
                                 "centre line"));
    }
    double narrowest = std::numeric_limits<double>::infinity();
    for (const CentreVertex& p : v) narrowest = std::min({narrowest, p.width_left, p.width_right});
    const double spread = spread_across(v);
    if (spread < std::max(1.0, narrowest))
        throw std::invalid_argument("all " + std::to_string(n) + " vertices lie within " + metres(spread, 2) +
                                    " of one straight line, so the lap would retrace itself; a centre line must "
                                    "enclose an area (is a coordinate column constant or repeated?)");
    std::vector<double> fx(n), fz(n), fy(n);
    for (std::size_t i = 0; i < n; ++i) {
        fx[i] = v[i].x;
        fz[i] = v[i].z;
        fy[i] = v[i].y;
    }
    const PeriodicSpline sx(knots, fx), sz(knots, fz), sy(knots, fy);

    // Arc-length table over sub-steps of each segment (Simpson on the horizontal speed).
    std::vector<double> tab_u{0.0}, tab_s{0.0};
    auto speed = [&](std::size_t seg, double t) {
        double vx, dx, ddx, vz, dz, ddz;
        sx.eval(seg, t, vx, dx, ddx);
        sz.eval(seg, t, vz, dz, ddz);
        return std::hypot(dx, dz);
    };
    std::vector<std::size_t> tab_seg{0};
    for (std::size_t i = 0; i < n; ++i) {
        const double h = knots[i + 1] - knots[i];
        const int sub = std::clamp(int(std::ceil(h / 0.25)), 2, 2000);
        const double dt = h / sub;
        for (int k = 0; k < sub; ++k) {
            const double t0 = k * dt;
            const double ds = dt / 6.0 * (speed(i, t0) + 4.0 * speed(i, t0 + 0.5 * dt) + speed(i, t0 + dt));
            tab_u.push_back(knots[i] + t0 + dt);
            tab_s.push_back(tab_s.back() + ds);
            tab_seg.push_back(i);
        }
    }
    length_ = tab_s.back();
    if (!std::isfinite(length_) || length_ / options.sample_spacing > 5e6)
        throw std::invalid_argument("the centre line is " + std::to_string(length_) +
                                    " m long; expected a finite lap of at most 5e6 samples (check the units)");
    const std::size_t count = std::max<std::size_t>(16, std::size_t(std::llround(length_ / options.sample_spacing)));
    spacing_ = length_ / double(count);

    for (auto* arr : {&x_, &z_, &y_, &heading_, &curvature_, &width_left_, &width_right_, &runoff_left_, &runoff_right_,
                      &grade_, &vcurv_, &nx_, &nz_, &left_x_, &left_z_, &right_x_, &right_z_})
        arr->resize(count);

    auto runoff_or_default = [&](double r) { return std::isnan(r) ? surfaces_.default_runoff : r; };
    std::size_t k = 1;  // table row with tab_s[k] >= target
    for (std::size_t j = 0; j < count; ++j) {
        const double target = double(j) * spacing_;
        while (k + 1 < tab_s.size() && tab_s[k] < target) ++k;
        const double span = tab_s[k] - tab_s[k - 1];
        const double w = span > 0 ? (target - tab_s[k - 1]) / span : 0.0;
        const double u = tab_u[k - 1] + w * (tab_u[k] - tab_u[k - 1]);
        std::size_t seg = tab_seg[k];
        const double t = std::clamp(u - knots[seg], 0.0, knots[seg + 1] - knots[seg]);
        double px, dx, ddx, pz, dz, ddz, py, dy, ddy;
        sx.eval(seg, t, px, dx, ddx);
        sz.eval(seg, t, pz, dz, ddz);
        sy.eval(seg, t, py, dy, ddy);
        const double sp2 = dx * dx + dz * dz;
        const double sp = std::sqrt(sp2);
        x_[j] = px;
        z_[j] = pz;
        y_[j] = py;
        heading_[j] = std::atan2(dx, dz);
        curvature_[j] = (dz * ddx - dx * ddz) / (sp2 * sp);
        const double s_u = sp, s_uu = (dx * ddx + dz * ddz) / sp;
        grade_[j] = dy / s_u;
        vcurv_[j] = (ddy - grade_[j] * s_uu) / (s_u * s_u);
        // Widths and run-off: linear in u between the vertices (a cubic could overshoot).
        const CentreVertex& a = v[seg];
        const CentreVertex& b = v[(seg + 1) % n];
        const double f = t / (knots[seg + 1] - knots[seg]);
        width_left_[j] = a.width_left + f * (b.width_left - a.width_left);
        width_right_[j] = a.width_right + f * (b.width_right - a.width_right);
        runoff_left_[j] = runoff_or_default(a.runoff_left) +
                          f * (runoff_or_default(b.runoff_left) - runoff_or_default(a.runoff_left));
        runoff_right_[j] = runoff_or_default(a.runoff_right) +
                           f * (runoff_or_default(b.runoff_right) - runoff_or_default(a.runoff_right));
    }
    // Continuous heading along the lap (the closing step is taken modulo 2π by the queries).
    for (std::size_t j = 1; j < count; ++j) heading_[j] = heading_[j - 1] + wrap_pi(heading_[j] - heading_[j - 1]);

    for (std::size_t j = 0; j < count; ++j) {
        nx_[j] = std::cos(heading_[j]);
        nz_[j] = -std::sin(heading_[j]);
        left_x_[j] = x_[j] + width_left_[j] * nx_[j];
        left_z_[j] = z_[j] + width_left_[j] * nz_[j];
        right_x_[j] = x_[j] - width_right_[j] * nx_[j];
        right_z_[j] = z_[j] - width_right_[j] * nz_[j];
        max_half_width_ = std::max({max_half_width_, width_left_[j], width_right_[j]});
        const double inner = curvature_[j] > 0 ? width_left_[j] : width_right_[j];
        const double shrink = 1.0 - std::fabs(curvature_[j]) * inner;
        reach_factor_ = std::max(reach_factor_, shrink > 1.0 / 3.0 ? 1.0 / shrink : 3.0);
    }
    for (std::size_t j = 0; j < count; ++j)
        if (!std::isfinite(heading_[j]) || !std::isfinite(curvature_[j]) || !std::isfinite(grade_[j]))
            throw std::invalid_argument("the centre line stops and turns back on itself near s = " +
                                        metres(double(j) * spacing_) +
                                        " (a cusp: its direction is undefined there); remove the vertex that doubles "
                                        "back or reorder the vertices");
    check_overlap();
    // Edge vertices every ~2 m, but never fewer than kMinRayVertices (a modulo by their count follows).
    ray_stride_ = std::clamp<std::size_t>(std::size_t(std::llround(2.0 / spacing_)), 1, count / kMinRayVertices);
    ray_vertices_ = count / ray_stride_;
    ray_pad_ = ray_vertices_ / 2 + kRayChunk + 2;
    const std::size_t padded = ray_vertices_ + 2 * ray_pad_;
    for (auto* arr : {&ray_lx_, &ray_lz_, &ray_rx_, &ray_rz_}) arr->resize(padded);
    for (std::size_t p = 0; p < padded; ++p) {
        const std::size_t vertex = (p + ray_vertices_ * 4 - ray_pad_) % ray_vertices_;
        ray_lx_[p] = float(left_x_[vertex * ray_stride_]);
        ray_lz_[p] = float(left_z_[vertex * ray_stride_]);
        ray_rx_[p] = float(right_x_[vertex * ray_stride_]);
        ray_rz_[p] = float(right_z_[vertex * ray_stride_]);
    }
    if (!(meta_.pit_exit_s >= 0 && meta_.pit_exit_s < length_) || !std::isfinite(meta_.pit_exit_lateral))
        throw std::invalid_argument("pit exit s " + std::to_string(meta_.pit_exit_s) + " is outside the lap [0, " +
                                    std::to_string(length_) + ")");
}

// Self-overlap test on samples every ~kOverlapPointStep m: bucket them in a grid of cells as large as
// the largest distance tested, compare each with those in the 3×3 cells around it. O(n log n).
void Track::check_overlap() const {
    const std::size_t count = x_.size();
    const std::size_t step = std::max<std::size_t>(1, std::size_t(std::llround(kOverlapPointStep / spacing_)));
    std::vector<std::size_t> points;
    double cell = 0.5;
    for (std::size_t j = 0; j < count; j += step) {
        points.push_back(j);
        cell = std::max(cell, std::min({width_left_[j], width_right_[j], kOverlapMaxReach}));
    }
    auto cell_of = [&](std::size_t j) {
        return std::make_pair(std::int64_t(std::floor(x_[j] / cell)), std::int64_t(std::floor(z_[j] / cell)));
    };
    std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, std::size_t>> grid;
    grid.reserve(points.size());
    for (std::size_t j : points) grid.emplace_back(cell_of(j), j);
    std::sort(grid.begin(), grid.end());
    for (std::size_t a : points) {
        const auto [cx, cz] = cell_of(a);
        const double reach_a = std::min({width_left_[a], width_right_[a], kOverlapMaxReach});
        for (std::int64_t gx = cx - 1; gx <= cx + 1; ++gx) {
            for (std::int64_t gz = cz - 1; gz <= cz + 1; ++gz) {
                const auto key = std::make_pair(gx, gz);
                auto it = std::lower_bound(grid.begin(), grid.end(), std::make_pair(key, std::size_t(0)));
                for (; it != grid.end() && it->first == key; ++it) {
                    const std::size_t b = it->second;
                    if (b <= a) continue;  // each pair once
                    const double reach = std::min({reach_a, width_left_[b], width_right_[b]});
                    const double apart = std::hypot(x_[a] - x_[b], z_[a] - z_[b]);
                    if (!(apart < reach)) continue;
                    const double along = std::min(double(b - a), double(count - (b - a))) * spacing_;
                    if (along <= std::max(4.0 * reach, 10.0)) continue;  // neighbours along the lap
                    if (std::fabs(std::sin(heading_[a] - heading_[b])) >= kOverlapMaxSinAngle) continue;  // a crossing
                    if (std::fabs(y_[a] - y_[b]) >= kOverlapClearance) continue;  // one road above the other
                    throw std::invalid_argument(
                        "the centre line runs over itself: at s = " + metres(double(a) * spacing_) + " and s = " +
                        metres(double(b) * spacing_) + " it is " + metres(apart, 2) +
                        " apart (less than the half-width there, " + metres(reach) +
                        ") in the same or the opposite direction; a lap must not retrace or overlap itself (check the "
                        "vertex order and the units; crossings at an angle, e.g. at a bridge, are allowed)");
                }
            }
        }
    }
}

double Track::wrap(double s) const noexcept {
    double r = std::fmod(s, length_);
    if (r < 0) r += length_;
    if (r >= length_) r = 0;  // fmod of a tiny negative can round up to length
    return r;
}

double Track::delta_s(double s_from, double s_to) const noexcept {
    double d = wrap(s_to - s_from);
    if (d > 0.5 * length_) d -= length_;
    return d;
}

int Track::sector_at(double s) const noexcept {
    const double f = wrap(s) / length_;
    if (f < meta_.sector_starts[0]) return 0;
    if (f < meta_.sector_starts[1]) return 1;
    return 2;
}

double Track::sector_start(int k) const {
    if (k < 0 || k > 2) throw std::out_of_range("sector index must be 0, 1 or 2, got " + std::to_string(k));
    return k == 0 ? 0.0 : meta_.sector_starts[std::size_t(k - 1)];
}

std::size_t Track::index_of(double s_wrapped, double& frac) const noexcept {
    const double pos = s_wrapped / spacing_;
    std::size_t i = std::size_t(pos);
    if (i >= x_.size()) i = x_.size() - 1;
    frac = pos - double(i);
    return i;
}

TrackSample Track::at(double s) const noexcept {
    TrackSample out;
    out.s = wrap(s);
    double f;
    const std::size_t i = index_of(out.s, f);
    const std::size_t j = (i + 1) % x_.size();
    auto lerp = [f](const std::vector<double>& a, std::size_t p, std::size_t q) { return a[p] + f * (a[q] - a[p]); };
    out.x = lerp(x_, i, j);
    out.z = lerp(z_, i, j);
    out.y = lerp(y_, i, j);
    out.heading = wrap_pi(heading_[i] + f * wrap_pi(heading_[j] - heading_[i]));
    out.curvature = lerp(curvature_, i, j);
    out.width_left = lerp(width_left_, i, j);
    out.width_right = lerp(width_right_, i, j);
    out.runoff_left = lerp(runoff_left_, i, j);
    out.runoff_right = lerp(runoff_right_, i, j);
    out.grade = lerp(grade_, i, j);
    out.vertical_curvature = lerp(vcurv_, i, j);
    return out;
}

double Track::elevation(double s) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    return y_[i] + f * (y_[j] - y_[i]);
}

double Track::grade(double s) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    return grade_[i] + f * (grade_[j] - grade_[i]);
}

double Track::curvature(double s) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    return curvature_[i] + f * (curvature_[j] - curvature_[i]);
}

double Track::heading(double s) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    return wrap_pi(heading_[i] + f * wrap_pi(heading_[j] - heading_[i]));
}

void Track::position(double s, double lateral, double& x, double& z, double& y) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    // Offsets run along the normalised, linearly interpolated sample normal: project() inverts exactly
    // this map.
    double nx = nx_[i] + f * (nx_[j] - nx_[i]), nz = nz_[i] + f * (nz_[j] - nz_[i]);
    const double norm = std::hypot(nx, nz);
    nx /= norm;
    nz /= norm;
    x = x_[i] + f * (x_[j] - x_[i]) + lateral * nx;
    z = z_[i] + f * (z_[j] - z_[i]) + lateral * nz;
    y = y_[i] + f * (y_[j] - y_[i]);
}

double Track::total_turning() const noexcept {
    const std::size_t n = heading_.size();
    return heading_[n - 1] - heading_[0] + wrap_pi(heading_[0] - heading_[n - 1]);
}

// The foot point around sample i: on segment a→b the centre line is C(t) = A + t·E and the tangent
// T(t) the interpolated sample tangent; (P − C(t))·T(t) = 0 is a quadratic in t. Using the smooth
// tangent (not the segment direction) makes project() the exact inverse of position().
Projection Track::refine(double x, double z, std::size_t i) const noexcept {
    const std::size_t n = x_.size();
    double best_d2 = std::numeric_limits<double>::infinity();
    double best_s = 0, best_lat = 0;
    bool best_inside = false;
    for (std::size_t a : {(i + n - 1) % n, i}) {
        const std::size_t b = (a + 1) % n;
        const double ex = x_[b] - x_[a], ez = z_[b] - z_[a];
        const double px = x - x_[a], pz = z - z_[a];
        const double tax = -nz_[a], taz = nx_[a];  // tangent = (−n_z, n_x)
        const double dtx = -nz_[b] - tax, dtz = nx_[b] - taz;
        const double c2 = -(ex * dtx + ez * dtz);
        const double c1 = px * dtx + pz * dtz - (ex * tax + ez * taz);
        const double c0 = px * tax + pz * taz;
        const double t_lin = (px * ex + pz * ez) / (ex * ex + ez * ez);
        double t = t_lin;
        if (std::fabs(c2) < 1e-12 * std::fabs(c1)) {
            if (c1 != 0) t = -c0 / c1;
        } else {
            const double disc = c1 * c1 - 4.0 * c2 * c0;
            if (disc >= 0) {
                const double q = -0.5 * (c1 + std::copysign(std::sqrt(disc), c1));
                const double r1 = q / c2, r2 = q != 0 ? c0 / q : r1;
                t = std::fabs(r1 - t_lin) < std::fabs(r2 - t_lin) ? r1 : r2;
            }
        }
        const bool inside = t >= -1e-9 && t <= 1.0 + 1e-9;
        t = std::clamp(t, 0.0, 1.0);
        double nxv = nx_[a] + t * (nx_[b] - nx_[a]), nzv = nz_[a] + t * (nz_[b] - nz_[a]);
        const double norm = std::hypot(nxv, nzv);
        nxv /= norm;
        nzv /= norm;
        const double qx = px - t * ex, qz = pz - t * ez;
        const double d2 = qx * qx + qz * qz;
        // Prefer a segment whose foot point lies inside it; among equals, the nearer one.
        if ((inside && !best_inside) || (inside == best_inside && d2 < best_d2)) {
            best_inside = inside;
            best_d2 = d2;
            best_s = (double(a) + t) * spacing_;
            best_lat = qx * nxv + qz * nzv;
            if (!inside) best_lat = std::copysign(std::sqrt(d2), best_lat);
        }
    }
    Projection p;
    p.s = wrap(best_s);
    p.lateral = best_lat;
    p.heading = heading(p.s);
    return p;
}

Projection Track::project_local(double x, double z, std::size_t start, bool& ok) const noexcept {
    const std::size_t n = x_.size();
    auto d2 = [&](std::size_t k) {
        const double dx = x - x_[k], dz = z - z_[k];
        return dx * dx + dz * dz;
    };
    std::size_t i = start;
    double d = d2(i);
    const std::size_t max_steps = n / 4;
    std::size_t steps = 0;
    for (;;) {  // forward
        const std::size_t j = (i + 1) % n;
        const double dj = d2(j);
        if (!(dj < d) || steps >= max_steps) break;
        i = j;
        d = dj;
        ++steps;
    }
    if (steps == 0) {
        for (;;) {  // backward
            const std::size_t j = (i + n - 1) % n;
            const double dj = d2(j);
            if (!(dj < d) || steps >= max_steps) break;
            i = j;
            d = dj;
            ++steps;
        }
    }
    ok = steps < max_steps;
    return refine(x, z, i);
}

Projection Track::project_global(double x, double z) const noexcept {
    const std::size_t n = x_.size();
    std::size_t best = 0;
    double best_d2 = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
        const double dx = x - x_[k], dz = z - z_[k];
        const double d2 = dx * dx + dz * dz;
        if (d2 < best_d2) {
            best_d2 = d2;
            best = k;
        }
    }
    Projection p = refine(x, z, best);
    p.used_global = true;
    return p;
}

Projection Track::project(double x, double z, double s_hint) const noexcept {
    if (!std::isfinite(s_hint)) return project_global(x, z);
    const std::size_t start = std::size_t(std::llround(wrap(s_hint) / spacing_)) % x_.size();
    bool ok = false;
    Projection p = project_local(x, z, start, ok);
    if (ok) {
        // A right answer lies inside the corridor up to the barrier; beyond it the hint was probably
        // on another part of the lap (a local minimum of the distance), so search globally.
        double f;
        const std::size_t i = index_of(p.s, f);
        const double reach = p.lateral >= 0 ? width_left_[i] + runoff_left_[i] : width_right_[i] + runoff_right_[i];
        if (std::fabs(p.lateral) <= reach + surfaces_.kerb_width + 5.0) return p;
    }
    return project_global(x, z);
}

Surface Track::surface_at(double s, double lateral) const noexcept {
    double f;
    const std::size_t i = index_of(wrap(s), f);
    const std::size_t j = (i + 1) % x_.size();
    const bool left = lateral >= 0;
    const std::vector<double>& w = left ? width_left_ : width_right_;
    const std::vector<double>& r = left ? runoff_left_ : runoff_right_;
    const double width = w[i] + f * (w[j] - w[i]);
    const double runoff = r[i] + f * (r[j] - r[i]);
    const double beyond = std::fabs(lateral) - width;
    if (beyond <= 0) return Surface::Track;
    if (beyond >= runoff) return Surface::Barrier;
    if (beyond <= surfaces_.kerb_width) return Surface::Kerb;
    return Surface::Runoff;
}

SurfaceHit Track::surface_at_position(double x, double z, double s_hint) const noexcept {
    SurfaceHit hit;
    hit.where = project(x, z, s_hint);
    hit.surface = surface_at(hit.where.s, hit.where.lateral);
    hit.grip = grip(hit.surface);
    hit.elevation = elevation(hit.where.s);
    return hit;
}

// Smallest t in (0, max_range] where P + t·d crosses an edge polyline (vertices every ray_stride_
// samples). A path of length t inside the track covers at most reach_factor_·t of arc length, so the
// crossing that ends the ray lies within that many metres of the car's s: the edge vertices are
// scanned outwards from the car in both directions, kRayChunk at a time (a branch-free, vectorisable
// side-of-line test in float), until the chunks pass that bound for the best hit so far. Only chunks
// with a sign change are intersected, in double.
double Track::ray_cast(double px, double pz, double dx, double dz, const RayOrigin& origin,
                       double max_range) const noexcept {
    const std::size_t nv = ray_vertices_;
    const double step_len = double(ray_stride_) * spacing_;
    const std::size_t k0 = origin.vertex;
    const float fdx = float(dx), fdz = float(dz), q = float(dx * pz - dz * px), q_along = float(dx * px + dz * pz);
    double best = max_range;

    auto scan = [&](const float* ex, const float* ez, const std::vector<double>& wx, const std::vector<double>& wz,
                    std::size_t padded_first) {
        float side[kRayChunk + 1], along[kRayChunk + 1];
        for (std::size_t k = 0; k <= kRayChunk; ++k) {
            side[k] = fdx * ez[padded_first + k] - fdz * ex[padded_first + k] - q;   // which side of the line
            along[k] = fdx * ex[padded_first + k] + fdz * ez[padded_first + k] - q_along;  // how far along it
        }
        // Candidate segments: the line crosses them, not entirely behind the car or beyond the best hit
        // (1 m slack for the float rounding).
        const float far = float(best) + 1.0f;
        // score ≤ 0 ⇔ candidate; selects instead of && so that the loop vectorises.
        float score[kRayChunk];
        for (std::size_t k = 0; k < kRayChunk; ++k) {
            const float crossing = side[k] * side[k + 1];                   // ≤ 0: the line crosses
            const float a_max = along[k] > along[k + 1] ? along[k] : along[k + 1];
            const float a_min = along[k] < along[k + 1] ? along[k] : along[k + 1];
            const float behind = -1.0f - a_max;                             // ≤ 0: not all behind
            const float beyond = a_min - far;                               // ≤ 0: not all beyond best
            const float worst = crossing > behind ? crossing : behind;
            score[k] = worst > beyond ? worst : beyond;
        }
        for (std::size_t k = 0; k < kRayChunk; ++k) {
            if (score[k] > 0.0f) continue;
            std::size_t va = padded_first + k + nv - ray_pad_;  // padded index → vertex index
            if (va >= nv) va -= nv;
            if (va >= nv) va -= nv;
            const std::size_t vb = va + 1 == nv ? 0 : va + 1;
            const double ax = wx[va * ray_stride_], az = wz[va * ray_stride_];
            const double bx = wx[vb * ray_stride_], bz = wz[vb * ray_stride_];
            const double ca = dx * (az - pz) - dz * (ax - px), cb = dx * (bz - pz) - dz * (bx - px);
            if ((ca > 0) == (cb > 0) && ca != 0 && cb != 0) continue;  // float rounding near the line
            const double denom = ca - cb;
            if (denom == 0) continue;
            const double u = std::clamp(ca / denom, 0.0, 1.0);
            const double t = (ax + u * (bx - ax) - px) * dx + (az + u * (bz - az) - pz) * dz;
            if (t > 0 && t < best) best = t;
        }
    };

    // Inside the track, the sign of ds/dt along the ray is the sign of cos(ray − track heading at s),
    // a function of s alone. If the ray starts forward (backward) along the track, its s can never
    // come back through s_car, so beyond the first chunk only that direction needs scanning.
    const double along_track = dx * origin.tangent_x + dz * origin.tangent_z;
    const bool scan_fwd = along_track > -0.05, scan_back = along_track < 0.05;
    const std::size_t max_chunks = (nv / 2) / kRayChunk + 1;
    for (std::size_t c = 0; c < max_chunks; ++c) {
        if (double(c * kRayChunk) * step_len > reach_factor_ * best + 2.0 * step_len) break;
        if (c == 0 || scan_fwd) {
            const std::size_t fwd = ray_pad_ + k0 + c * kRayChunk;
            scan(ray_lx_.data(), ray_lz_.data(), left_x_, left_z_, fwd);
            scan(ray_rx_.data(), ray_rz_.data(), right_x_, right_z_, fwd);
        }
        if (c == 0 || scan_back) {
            const std::size_t back = ray_pad_ + k0 - (c + 1) * kRayChunk;
            scan(ray_lx_.data(), ray_lz_.data(), left_x_, left_z_, back);
            scan(ray_rx_.data(), ray_rz_.data(), right_x_, right_z_, back);
        }
    }
    return best;
}

Track::RayOrigin Track::ray_origin(const Projection& p) const noexcept {
    RayOrigin o;
    const double step_len = double(ray_stride_) * spacing_;
    // ray_vertices_ >= kMinRayVertices by construction; the guard keeps a modulo by zero impossible.
    o.vertex = ray_vertices_ > 0 ? std::size_t(std::llround(p.s / step_len)) % ray_vertices_ : 0;
    o.tangent_x = std::sin(p.heading);
    o.tangent_z = std::cos(p.heading);
    return o;
}

double Track::ray_to_edge(double x, double z, double ray_heading, double max_range, double s_hint) const noexcept {
    const Projection p = project(x, z, s_hint);
    if (surface_at(p.s, p.lateral) != Surface::Track) return 0.0;
    if (!(max_range > 0)) return 0.0;
    return ray_cast(x, z, std::sin(ray_heading), std::cos(ray_heading), ray_origin(p), max_range);
}

void Track::batch_geometry(const BatchGeometryConfig& config, std::size_t n, const double* x, const double* z,
                           const double* heading_in, const double* s_hint, const BatchGeometryOutput& out) const {
    if (n > 0 && (!x || !z || !heading_in)) throw std::invalid_argument("batch_geometry: x, z and heading are required");
    if (!(config.ray_max_range > 0)) throw std::invalid_argument("batch_geometry: ray_max_range must be > 0");
    for (double d : config.lookahead_distances)
        if (!std::isfinite(d)) throw std::invalid_argument("batch_geometry: look-ahead distances must be finite");
    for (double a : config.ray_angles)
        if (!std::isfinite(a)) throw std::invalid_argument("batch_geometry: ray angles must be finite");

    const std::size_t m = config.lookahead_distances.size();
    const std::size_t lines = config.lookahead_lines.size();
    const std::size_t rays = config.ray_angles.size();
    const std::size_t count = x_.size();
    // sin/cos of the ray angles once per call (R values), combined with each car's heading below.
    constexpr std::size_t kMaxRays = 256;
    if (rays > kMaxRays) throw std::invalid_argument("batch_geometry: at most 256 rays");
    double ray_sin[kMaxRays], ray_cos[kMaxRays];
    for (std::size_t r = 0; r < rays; ++r) {
        ray_sin[r] = std::sin(config.ray_angles[r]);
        ray_cos[r] = std::cos(config.ray_angles[r]);
    }

    for (std::size_t c = 0; c < n; ++c) {
        const double cx = x[c], cz = z[c], psi = heading_in[c];
        if (!std::isfinite(cx) || !std::isfinite(cz) || !std::isfinite(psi))
            throw std::invalid_argument("batch_geometry: car " + std::to_string(c) +
                                        " has a non-finite position or heading (NaN/inf from the physics?)");
        const Projection p = project(cx, cz, s_hint ? s_hint[c] : kNaN);
        double fr;
        const std::size_t i = index_of(p.s, fr);
        const std::size_t j = (i + 1) % count;
        if (out.s) out.s[c] = p.s;
        if (out.lateral) out.lateral[c] = p.lateral;
        if (out.heading_error) out.heading_error[c] = wrap_pi(psi - p.heading);
        if (out.curvature) out.curvature[c] = curvature_[i] + fr * (curvature_[j] - curvature_[i]);

        const double sp = std::sin(psi), cp = std::cos(psi);
        if (out.lookahead_points || out.lookahead_curvature) {
            for (std::size_t k = 0; k < m; ++k) {
                double f;
                double s_ahead = p.s + config.lookahead_distances[k];
                if (s_ahead >= length_ || s_ahead < 0) s_ahead = wrap(s_ahead);  // fmod only when needed
                const std::size_t a = index_of(s_ahead, f);
                const std::size_t b = (a + 1) % count;
                if (out.lookahead_curvature)
                    out.lookahead_curvature[c * m + k] = curvature_[a] + f * (curvature_[b] - curvature_[a]);
                if (!out.lookahead_points) continue;
                const double px = x_[a] + f * (x_[b] - x_[a]) - cx;
                const double pz = z_[a] + f * (z_[b] - z_[a]) - cz;
                double nxv = nx_[a] + f * (nx_[b] - nx_[a]);
                double nzv = nz_[a] + f * (nz_[b] - nz_[a]);
                const double inv_norm = 1.0 / std::sqrt(nxv * nxv + nzv * nzv);  // as position()
                nxv *= inv_norm;
                nzv *= inv_norm;
                for (std::size_t l = 0; l < lines; ++l) {
                    double off = 0.0;
                    if (config.lookahead_lines[l] == LookaheadLine::LeftEdge)
                        off = width_left_[a] + f * (width_left_[b] - width_left_[a]);
                    else if (config.lookahead_lines[l] == LookaheadLine::RightEdge)
                        off = -(width_right_[a] + f * (width_right_[b] - width_right_[a]));
                    const double qx = px + off * nxv, qz = pz + off * nzv;
                    double* dst = out.lookahead_points + ((c * lines + l) * m + k) * 2;
                    dst[0] = qx * sp + qz * cp;  // forward
                    dst[1] = qx * cp - qz * sp;  // left
                }
            }
        }
        if (out.ray_distance && rays > 0) {
            double* dst = out.ray_distance + c * rays;
            const double wl = width_left_[i] + fr * (width_left_[j] - width_left_[i]);
            const double wr = width_right_[i] + fr * (width_right_[j] - width_right_[i]);
            const bool on_track = p.lateral <= wl && p.lateral >= -wr;
            const RayOrigin origin = ray_origin(p);
            for (std::size_t r = 0; r < rays; ++r) {
                if (!on_track) {
                    dst[r] = 0.0;
                    continue;
                }
                const double dxr = sp * ray_cos[r] + cp * ray_sin[r];  // sin(ψ + α)
                const double dzr = cp * ray_cos[r] - sp * ray_sin[r];  // cos(ψ + α)
                dst[r] = ray_cast(cx, cz, dxr, dzr, origin, config.ray_max_range);
            }
        }
    }
}

}  // namespace ac_core
