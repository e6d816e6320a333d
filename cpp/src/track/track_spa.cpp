// The built-in Spa-Francorchamps, authored in the project from public facts
// (research/spa_and_f1_car_data.md §1, §2): corner order, direction and apex radius, apex positions,
// the 7.004 km lap, the elevation anchors (≈102 m range, Raidillon climb ≈40 m at up to 17 %, highest
// point before T7, lowest before Paul Frère, +47 m from there to the line), sectors and pit exit.
//
// Construction: the centre line's curvature is a sum of trapezoids (clothoid – arc – clothoid), one per
// corner, with the table's apex radius; heading and position are integrated from it. The deflection
// angles are this project's estimates, so the integrated loop does not close by itself (≈450 m off);
// a weighted least-squares (Gauss–Newton, minimum-norm) adjusts the deflections (σ = 15 % + 3°) and
// apex positions (σ = 15 m) until the loop closes in heading (−2π, clockwise) and position. The
// largest change is a few degrees. The TUMFTM data is NOT used here; tests only compare against it.
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "ac_core/track/track.hpp"

namespace ac_core {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kSpaLength = 7004.0;  // m, official lap length

// Research §1 measures corner positions on a race line of 6938.25 m whose s = 0 lies ≈120 m before
// the timing line; map them onto this centre line (s = 0 at the timing line, 7004 m).
constexpr double kRaceLineLength = 6938.25;
constexpr double kTimingLineOnRaceLine = 120.0;
double race_line_to_lap(double s_race) { return (s_race - kTimingLineOnRaceLine) * kSpaLength / kRaceLineLength; }

struct Corner {
    const char* name;
    double apex_race_line_s;  // m, research §1 table
    double deflection_deg;    // this project's estimate; + = left, − = right (adjusted by the closure)
    double radius;            // m, apex radius from research §1
};

// clang-format off
constexpr std::array<Corner, 20> kCorners = {{
    {"T1 La Source",          394, -160,  25},
    {"T2 Eau Rouge",         1029,  +20, 403},
    {"T3 Raidillon",         1139,  -60, 135},
    {"T4 Raidillon top",     1284,  +25, 300},
    {"T5 Les Combes",        2414,  -85,  60},
    {"T6 Les Combes left",   2489,  +75,  62},
    {"T7 Malmedy",           2639,  -90,  67},
    {"T8 Rivage",            3054, -140,  43},
    {"T9",                   3269,  +60,  68},
    {"T10 Pouhon entry",     3814,  +40, 104},
    {"T11 Pouhon",           3944,  +60, 155},
    {"T12 Fagnes",           4488,  -55,  65},
    {"T13 Fagnes left",      4628,  +45,  70},
    {"T14 Stavelot",         4913,  -90,  54},
    {"T15 Paul Frere",       5138,  -65, 108},
    {"T16 kink",             5443,  -15, 534},
    {"T17 Blanchimont 1",    5858,  +20, 338},
    {"T17 Blanchimont 2",    6148,  +45, 190},
    {"T18 Bus Stop",         6693,  -70,  27},
    {"T19 Bus Stop left",    6748,  +80,  24},
}};

// Elevation anchors (lap s, m above the lowest point). Research §2: +47 m at the line, ≈40 m
// Raidillon climb at up to 17 % with the top at T4, the highest point (+102) just before T7, the
// lowest (0) just before Paul Frère; the rest are smooth gradients between those facts.
constexpr std::array<std::array<double, 2>, 26> kElevation = {{
    {0, 47},     {277, 50},   {450, 46},   {880, 30},   {910, 29.5}, {1000, 41},  {1090, 55.5},
    {1175, 67.5},  {1250, 71},  {1800, 85},  {2316, 100}, {2480, 102}, {2560, 101}, {2962, 86},
    {3179, 78},  {3500, 62},  {3800, 48},  {4100, 36},  {4409, 26},  {4551, 20},  {4839, 8},
    {4990, 0},   {5373, 8},   {6085, 27},  {6635, 41},  {6800, 45},
}};

// Track width (m, edge to edge, split evenly) and run-off (edge to barrier, m) by lap s; linear between
// rows. Widths 12–15 m as on a Grade-1 circuit; run-off from the circuit's character (pit wall on the
// right of the main straight, tight barriers at Eau Rouge, large run-off at Les Combes/Pouhon).
struct Band {
    double s, width, runoff_left, runoff_right;
};
constexpr std::array<Band, 22> kBands = {{
    {0, 15.0, 10, 6},      {200, 15.0, 30, 10},   {450, 14.0, 12, 12},   {850, 13.0, 12, 12},
    {900, 12.5, 10, 15},   {1250, 12.5, 15, 15},  {1350, 13.5, 15, 15},  {2200, 13.5, 30, 30},
    {2300, 12.0, 30, 30},  {2650, 12.0, 25, 25},  {3050, 12.0, 25, 25},  {3600, 13.0, 30, 30},
    {4000, 13.0, 25, 25},  {4400, 12.0, 25, 25},  {4900, 12.0, 20, 20},  {5000, 12.5, 20, 20},
    {5700, 12.5, 25, 25},  {6200, 12.5, 25, 25},  {6550, 12.0, 20, 20},  {6720, 12.0, 20, 20},
    {6850, 15.0, 10, 6},   {7004, 15.0, 10, 6},
}};
// clang-format on

// Sector starts from TUM's track_pars.ini (s12 = 2254, s23 = 5079 on the race line) and the pit exit
// (pit_out 490), research §1, mapped to lap s; the pit lane rejoins on the right-hand side.
constexpr double kSector2RaceLine = 2254, kSector3RaceLine = 5079, kPitExitRaceLine = 490;
constexpr double kPitExitLateral = -5.0;

constexpr double kStep = 0.5;       // m, curvature integration step
constexpr double kVertexStep = 2.0;  // m between the emitted vertices

struct Plan {
    std::array<double, kCorners.size()> deflection;  // rad
    std::array<double, kCorners.size()> apex;        // lap s
};

// Curvature of one corner at distance d from its apex: a trapezoid whose area is the deflection.
void add_corner(std::vector<double>& kappa, double deflection, double apex, double radius) {
    const double arc = std::fabs(deflection) * radius;
    const double ramp = std::min(0.4 * arc, 30.0);
    const double half = 0.5 * (arc - ramp) + ramp;
    const double k = (deflection >= 0 ? 1.0 : -1.0) / radius;
    const std::size_t n = kappa.size();
    const long first = long(std::floor((apex - half) / kStep)) - 1;
    const long last = long(std::ceil((apex + half) / kStep)) + 1;
    for (long i = first; i <= last; ++i) {
        const double s = (double(i) + 0.5) * kStep;
        const double shape = std::clamp((half - std::fabs(s - apex)) / ramp, 0.0, 1.0);
        const long wrapped = ((i % long(n)) + long(n)) % long(n);
        kappa[std::size_t(wrapped)] += k * shape;
    }
}

struct Path {
    std::vector<double> x, z;  // at s = i * kStep, i = 0..n (closed: x[n] should equal x[0])
    double heading_end = 0;
};

Path integrate(const Plan& plan) {
    const std::size_t n = std::size_t(std::llround(kSpaLength / kStep));
    std::vector<double> kappa(n, 0.0);
    for (std::size_t c = 0; c < kCorners.size(); ++c)
        add_corner(kappa, plan.deflection[c], plan.apex[c], kCorners[c].radius);
    Path p;
    p.x.assign(n + 1, 0.0);
    p.z.assign(n + 1, 0.0);
    double psi = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double mid = psi + 0.5 * kappa[i] * kStep;
        p.x[i + 1] = p.x[i] + std::sin(mid) * kStep;
        p.z[i + 1] = p.z[i] + std::cos(mid) * kStep;
        psi += kappa[i] * kStep;
    }
    p.heading_end = psi;
    return p;
}

std::array<double, 3> closure_residual(const Plan& plan) {
    const Path p = integrate(plan);
    return {p.heading_end + 2.0 * kPi, p.x.back(), p.z.back()};
}

// Weighted minimum-norm Gauss–Newton on the deflections and apex positions.
Plan close_loop() {
    constexpr std::size_t K = kCorners.size();
    Plan plan;
    std::array<double, 2 * K> sigma2{};
    for (std::size_t c = 0; c < K; ++c) {
        plan.deflection[c] = kCorners[c].deflection_deg * kPi / 180.0;
        plan.apex[c] = race_line_to_lap(kCorners[c].apex_race_line_s);
        const double sd = 0.15 * std::fabs(plan.deflection[c]) + 3.0 * kPi / 180.0;
        sigma2[c] = sd * sd;
        sigma2[K + c] = 15.0 * 15.0;
    }
    auto param = [&](Plan& p, std::size_t i) -> double& { return i < K ? p.deflection[i] : p.apex[i - K]; };
    for (int iter = 0; iter < 20; ++iter) {
        const std::array<double, 3> g = closure_residual(plan);
        if (std::fabs(g[0]) < 1e-12 && std::fabs(g[1]) < 1e-9 && std::fabs(g[2]) < 1e-9) break;
        std::array<std::array<double, 2 * K>, 3> J{};
        for (std::size_t i = 0; i < 2 * K; ++i) {
            Plan q = plan;
            const double h = i < K ? 1e-6 : 1e-3;
            param(q, i) += h;
            const std::array<double, 3> gq = closure_residual(q);
            for (std::size_t r = 0; r < 3; ++r) J[r][i] = (gq[r] - g[r]) / h;
        }
        // A = J W Jᵀ (3×3), solve A y = g, step = −W Jᵀ y.
        double A[3][3] = {};
        for (std::size_t r = 0; r < 3; ++r)
            for (std::size_t c = 0; c < 3; ++c)
                for (std::size_t i = 0; i < 2 * K; ++i) A[r][c] += J[r][i] * sigma2[i] * J[c][i];
        double y[3] = {g[0], g[1], g[2]};
        for (int col = 0; col < 3; ++col) {  // Gaussian elimination with partial pivoting
            int piv = col;
            for (int r = col + 1; r < 3; ++r)
                if (std::fabs(A[r][col]) > std::fabs(A[piv][col])) piv = r;
            std::swap(A[col], A[piv]);
            std::swap(y[col], y[piv]);
            for (int r = col + 1; r < 3; ++r) {
                const double f = A[r][col] / A[col][col];
                for (int c = col; c < 3; ++c) A[r][c] -= f * A[col][c];
                y[r] -= f * y[col];
            }
        }
        for (int r = 2; r >= 0; --r) {
            for (int c = r + 1; c < 3; ++c) y[r] -= A[r][c] * y[c];
            y[r] /= A[r][r];
        }
        for (std::size_t i = 0; i < 2 * K; ++i) {
            double jt_y = 0;
            for (std::size_t r = 0; r < 3; ++r) jt_y += J[r][i] * y[r];
            param(plan, i) -= sigma2[i] * jt_y;
        }
    }
    const std::array<double, 3> g = closure_residual(plan);
    if (std::fabs(g[0]) > 1e-9 || std::hypot(g[1], g[2]) > 1e-6)
        throw std::logic_error("built-in Spa: the corner table did not close into a loop");
    return plan;
}

// Monotone piecewise-cubic (Fritsch–Carlson) through periodic anchors: no overshoot of the anchors.
double periodic_pchip(const std::vector<double>& s, const std::vector<double>& y, double period, double q) {
    const std::size_t n = s.size();
    auto at = [&](long i, double& si, double& yi) {
        const long w = ((i % long(n)) + long(n)) % long(n);
        si = s[std::size_t(w)] + period * std::floor(double(i) / double(n));
        yi = y[std::size_t(w)];
    };
    q = std::fmod(q, period);
    if (q < 0) q += period;
    long k = long(n) - 1;
    for (std::size_t i = 0; i + 1 < n; ++i)
        if (q < s[i + 1]) {
            k = long(i);
            break;
        }
    double s0, y0, s1, y1, sm, ym, sp, yp;
    at(k, s0, y0);
    at(k + 1, s1, y1);
    at(k - 1, sm, ym);
    at(k + 2, sp, yp);
    auto slope = [](double d_prev, double d_next) {
        if (d_prev * d_next <= 0) return 0.0;
        return 2.0 / (1.0 / d_prev + 1.0 / d_next);  // harmonic mean keeps monotone pieces monotone
    };
    const double dm = (y0 - ym) / (s0 - sm), d0 = (y1 - y0) / (s1 - s0), dp = (yp - y1) / (sp - s1);
    const double m0 = slope(dm, d0), m1 = slope(d0, dp);
    const double h = s1 - s0, t = (q - s0) / h;
    const double t2 = t * t, t3 = t2 * t;
    return (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * h * m0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * h * m1;
}

Band band_at(double s) {
    for (std::size_t i = 0; i + 1 < kBands.size(); ++i) {
        if (s <= kBands[i + 1].s) {
            const Band& a = kBands[i];
            const Band& b = kBands[i + 1];
            const double f = (s - a.s) / (b.s - a.s);
            return {s, a.width + f * (b.width - a.width), a.runoff_left + f * (b.runoff_left - a.runoff_left),
                    a.runoff_right + f * (b.runoff_right - a.runoff_right)};
        }
    }
    return kBands.back();
}

const std::vector<CentreVertex>& spa_vertices() {
    static const std::vector<CentreVertex> vertices = [] {
        const Plan plan = close_loop();
        const Path path = integrate(plan);
        std::vector<double> es, ey;
        for (const auto& row : kElevation) {
            es.push_back(row[0]);
            ey.push_back(row[1]);
        }
        const std::size_t stride = std::size_t(std::llround(kVertexStep / kStep));
        const std::size_t n = path.x.size() - 1;
        std::vector<CentreVertex> out;
        for (std::size_t i = 0; i < n; i += stride) {
            const double s = double(i) * kStep;
            const Band band = band_at(s);
            CentreVertex v;
            v.x = path.x[i];
            v.z = path.z[i];
            v.y = periodic_pchip(es, ey, kSpaLength, s);
            v.width_left = v.width_right = 0.5 * band.width;
            v.runoff_left = band.runoff_left;
            v.runoff_right = band.runoff_right;
            out.push_back(v);
        }
        return out;
    }();
    return vertices;
}

TrackMeta spa_meta() {
    TrackMeta meta;
    meta.name = "spa";
    meta.sector_starts = {race_line_to_lap(kSector2RaceLine) / kSpaLength, race_line_to_lap(kSector3RaceLine) / kSpaLength};
    meta.pit_exit_s = race_line_to_lap(kPitExitRaceLine);
    meta.pit_exit_lateral = kPitExitLateral;
    return meta;
}

}  // namespace

std::vector<std::string> builtin_track_names() { return {"spa"}; }

std::vector<CentreVertex> builtin_track_vertices(const std::string& name, TrackMeta* meta) {
    if (name != "spa") {
        throw std::invalid_argument("unknown built-in track '" + name + "'; built-in tracks: spa");
    }
    if (meta) *meta = spa_meta();
    return spa_vertices();
}

std::shared_ptr<const Track> builtin_track(const std::string& name, const TrackBuildOptions& options) {
    TrackMeta meta;
    std::vector<CentreVertex> v = builtin_track_vertices(name, &meta);
    return std::make_shared<const Track>(v, meta, options);
}

}  // namespace ac_core
