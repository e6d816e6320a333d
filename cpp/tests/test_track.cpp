// Track model: geometry on a synthetic stadium oval with known answers, projection round trips and
// the start/finish wrap, warm start vs global search, ray casts (exact and against brute force on
// Spa), batched geometry vs scalar queries, file parsers and their errors.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "ac_core/track/track.hpp"
#include "check.hpp"

using namespace ac_core;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Stadium: straight (x = 50, z 0 → 200, ψ = 0), left half-circle about (100, 200), straight back down
// x = 150, left half-circle about (100, 0). Widths 5/5 m. Total turning +2π (left turns).
constexpr double kStraight = 200.0, kRadius = 50.0, kHalfWidth = 5.0;
const double kOvalLength = 2 * kStraight + 2 * kPi * kRadius;

void oval_point(double s, double& x, double& z) {
    const double arc = kPi * kRadius;
    s = std::fmod(s, kOvalLength);
    if (s < kStraight) {
        x = 50;
        z = s;
    } else if (s < kStraight + arc) {
        const double a = (s - kStraight) / kRadius;  // angle turned
        x = 100 - kRadius * std::cos(a);
        z = 200 + kRadius * std::sin(a);
    } else if (s < 2 * kStraight + arc) {
        x = 150;
        z = 200 - (s - kStraight - arc);
    } else {
        const double a = (s - 2 * kStraight - arc) / kRadius;
        x = 100 + kRadius * std::cos(a);
        z = -kRadius * std::sin(a);
    }
}

std::shared_ptr<Track> make_oval() {
    std::vector<CentreVertex> v;
    const int n = 714;
    for (int i = 0; i < n; ++i) {
        CentreVertex c;
        oval_point(kOvalLength * i / n, c.x, c.z);
        c.width_left = c.width_right = kHalfWidth;
        v.push_back(c);
    }
    TrackMeta meta;
    meta.name = "oval";
    return std::make_shared<Track>(v, meta);
}

// Unique per run, so parallel test runs never share files.
std::string temp_path(const std::string& name) {
    static const std::string token = std::to_string(std::random_device{}());
    return (std::filesystem::temp_directory_path() / ("ac_core_test_track_" + token + "_" + name)).string();
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

AC_TEST(oval_length_turning_curvature) {
    auto t = make_oval();
    CHECK_NEAR(t->length(), kOvalLength, 0.02);
    CHECK_NEAR(t->total_turning(), 2 * kPi, 1e-9);
    CHECK_NEAR(t->curvature(100), 0.0, 1e-3);
    CHECK_NEAR(t->curvature(kStraight + kPi * kRadius / 2), 1.0 / kRadius, 1e-3);
    const TrackSample a = t->at(100);
    CHECK_NEAR(a.x, 50, 1e-3);
    CHECK_NEAR(a.z, 100, 1e-3);
    CHECK_NEAR(a.heading, 0, 1e-4);
    CHECK_NEAR(a.width_left, 5, 1e-9);
    // Left of +z is +x: a point at x = 53 on the first straight is 3 m left.
    const Projection p = t->project(53, 100);
    CHECK_NEAR(p.s, 100, 1e-3);
    CHECK_NEAR(p.lateral, 3, 1e-3);
    CHECK_NEAR(t->heading(kStraight + kPi * kRadius / 2), kPi / 2, 1e-3);  // facing +x at the top
}

AC_TEST(oval_projection_round_trip_and_wrap) {
    auto t = make_oval();
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> us(0, t->length()), ul(-4.5, 4.5);
    for (int i = 0; i < 2000; ++i) {
        const double s = us(rng), lat = ul(rng);
        double x, z, y;
        t->position(s, lat, x, z, y);
        const Projection warm = t->project(x, z, t->wrap(s + 3.0));
        const Projection global = t->project_global(x, z);
        CHECK_NEAR(t->delta_s(s, warm.s), 0.0, 1e-6);
        CHECK_NEAR(warm.lateral, lat, 1e-6);
        CHECK(!warm.used_global);
        CHECK_NEAR(t->delta_s(global.s, warm.s), 0.0, 1e-9);
        CHECK_NEAR(global.lateral, warm.lateral, 1e-9);
    }
    // Across the start/finish line: a car just before s = 0 with a hint just after it, and vice versa.
    for (double s : {t->length() - 0.3, 0.2, t->length() - 1e-7}) {
        double x, z, y;
        t->position(s, 1.0, x, z, y);
        for (double hint : {0.4, t->length() - 0.6}) {
            const Projection p = t->project(x, z, hint);
            CHECK_NEAR(t->delta_s(s, p.s), 0.0, 1e-6);
            CHECK(p.s >= 0 && p.s < t->length());
            CHECK_NEAR(p.lateral, 1.0, 1e-6);
        }
    }
    CHECK_NEAR(t->delta_s(t->length() - 1, 1), 2.0, 1e-9);
    CHECK_NEAR(t->delta_s(1, t->length() - 1), -2.0, 1e-9);
}

AC_TEST(oval_bad_hint_falls_back_to_global) {
    auto t = make_oval();
    double x, z, y;
    t->position(100, 2.0, x, z, y);  // first straight
    const double hint_on_other_straight = kStraight + kPi * kRadius + 100;
    const Projection p = t->project(x, z, hint_on_other_straight);
    CHECK(p.used_global);
    CHECK_NEAR(p.s, 100, 1e-6);
    CHECK_NEAR(p.lateral, 2.0, 1e-6);
    const Projection none = t->project(x, z);
    CHECK(none.used_global);
    CHECK_NEAR(none.s, 100, 1e-6);
}

AC_TEST(oval_surfaces) {
    auto t = make_oval();
    CHECK(t->surface_at(100, 4.9) == Surface::Track);
    CHECK(t->surface_at(100, -4.9) == Surface::Track);
    CHECK(t->surface_at(100, 5.5) == Surface::Kerb);
    CHECK(t->surface_at(100, -10) == Surface::Runoff);
    CHECK(t->surface_at(100, 5 + 15 + 0.1) == Surface::Barrier);
    CHECK(t->grip(Surface::Track) > t->grip(Surface::Kerb));
    CHECK(t->grip(Surface::Kerb) > t->grip(Surface::Runoff));
    const SurfaceHit hit = t->surface_at_position(50 - 8, 100, 90);
    CHECK(hit.surface == Surface::Runoff);
    CHECK_NEAR(hit.where.lateral, -8, 1e-6);
}

AC_TEST(oval_rays_known_answers) {
    auto t = make_oval();
    const double x = 50, z = 100;  // mid first straight, heading ψ = 0 (+z)
    CHECK_NEAR(t->ray_to_edge(x, z, kPi / 2, 200, 100), 5.0, 1e-3);   // left (+x)
    CHECK_NEAR(t->ray_to_edge(x, z, -kPi / 2, 200, 100), 5.0, 1e-3);  // right
    CHECK_NEAR(t->ray_to_edge(x, z, kPi / 4, 200, 100), 5.0 * std::sqrt(2.0), 1e-3);
    CHECK_NEAR(t->ray_to_edge(x + 2, z, -kPi / 2, 200, 100), 7.0, 1e-3);
    // Straight ahead: 100 m of straight, then the outer edge (r = 55) of the bend, sqrt(55² − 50²) on.
    const double ahead = 100 + std::sqrt(55.0 * 55.0 - 50.0 * 50.0);
    CHECK_NEAR(t->ray_to_edge(x, z, 0.0, 200, 100), ahead, 0.05);
    CHECK_NEAR(t->ray_to_edge(x, z, 0.0, 50, 100), 50.0, 1e-12);  // clipped to the range
    // Straight back: the mirror image through the other bend.
    CHECK_NEAR(t->ray_to_edge(x, z, kPi, 200, 100), ahead, 0.05);
    CHECK_NEAR(t->ray_to_edge(x - 6, z, 0.0, 200, 100), 0.0, 0.0);  // off the track
}

AC_TEST(batch_matches_scalar_queries) {
    auto t = builtin_track("spa");
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> us(0, t->length()), ul(-5, 5), uh(-0.4, 0.4);
    const std::size_t n = 32;
    std::vector<double> x(n), z(n), h(n), hint(n), s_true(n);
    for (std::size_t i = 0; i < n; ++i) {
        double y;
        s_true[i] = us(rng);
        t->position(s_true[i], ul(rng), x[i], z[i], y);
        h[i] = t->heading(s_true[i]) + uh(rng);
        hint[i] = i % 2 ? t->wrap(s_true[i] - 2) : std::nan("");
    }
    BatchGeometryConfig cfg;
    for (int k = 1; k <= 40; ++k) cfg.lookahead_distances.push_back(10.0 * k);
    cfg.lookahead_lines = {LookaheadLine::Centre, LookaheadLine::LeftEdge, LookaheadLine::RightEdge};
    for (int r = 0; r < 15; ++r) cfg.ray_angles.push_back(kPi / 2 - r * kPi / 14);
    cfg.ray_max_range = 200;
    const std::size_t m = 40, l = 3, rays = 15;
    std::vector<double> s(n), lat(n), herr(n), curv(n), pts(n * l * m * 2), lcurv(n * m), rd(n * rays);
    BatchGeometryOutput out{s.data(), lat.data(), herr.data(), curv.data(), pts.data(), lcurv.data(), rd.data()};
    t->batch_geometry(cfg, n, x.data(), z.data(), h.data(), hint.data(), out);
    for (std::size_t i = 0; i < n; ++i) {
        const Projection p = t->project(x[i], z[i]);
        CHECK_NEAR(t->delta_s(p.s, s[i]), 0.0, 1e-9);
        CHECK_NEAR(p.lateral, lat[i], 1e-9);
        CHECK_NEAR(curv[i], t->curvature(p.s), 1e-12);
        CHECK_NEAR(std::remainder(herr[i] - (h[i] - p.heading), 2 * kPi), 0.0, 1e-9);
        const double sp = std::sin(h[i]), cp = std::cos(h[i]);
        for (std::size_t k = 0; k < m; ++k) {
            CHECK_NEAR(lcurv[i * m + k], t->curvature(p.s + cfg.lookahead_distances[k]), 1e-12);
            const TrackSample a = t->at(p.s + cfg.lookahead_distances[k]);
            const double offsets[3] = {0.0, a.width_left, -a.width_right};
            for (std::size_t line = 0; line < l; ++line) {
                double px, pz, py;
                t->position(p.s + cfg.lookahead_distances[k], offsets[line], px, pz, py);
                const double dx = px - x[i], dz = pz - z[i];
                const double* got = &pts[((i * l + line) * m + k) * 2];
                CHECK_NEAR(got[0], dx * sp + dz * cp, 1e-6);
                CHECK_NEAR(got[1], dx * cp - dz * sp, 1e-6);
            }
        }
        for (std::size_t r = 0; r < rays; ++r)
            CHECK_NEAR(rd[i * rays + r], t->ray_to_edge(x[i], z[i], h[i] + cfg.ray_angles[r], 200, p.s), 1e-9);
    }
    std::vector<double> bad_x(x);
    bad_x[5] = std::nan("");
    CHECK(contains(error_of([&] { t->batch_geometry(cfg, n, bad_x.data(), z.data(), h.data(), nullptr, out); }),
                   "car 5"));
    // In-place warm start: the s output is the next call's hint.
    t->batch_geometry(cfg, n, x.data(), z.data(), h.data(), s.data(), out);
    for (std::size_t i = 0; i < n; ++i) CHECK_NEAR(t->delta_s(s_true[i], s[i]), 0.0, 1e-6);
}

// The windowed ray cast equals a brute-force intersection with every edge segment of the lap.
AC_TEST(spa_rays_match_brute_force) {
    auto t = builtin_track("spa");
    const std::size_t stride = std::max<std::size_t>(1, std::size_t(std::llround(2.0 / t->sample_spacing())));
    const std::size_t nv = t->sample_count() / stride;
    std::vector<double> ex[2], ez[2];
    for (std::size_t k = 0; k < nv; ++k) {
        const double s = double(k * stride) * t->sample_spacing();
        const TrackSample a = t->at(s);
        double x, z, y;
        t->position(s, a.width_left, x, z, y);
        ex[0].push_back(x), ez[0].push_back(z);
        t->position(s, -a.width_right, x, z, y);
        ex[1].push_back(x), ez[1].push_back(z);
    }
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> us(0, t->length()), ul(-5.5, 5.5), ua(-kPi, kPi);
    int compared = 0;
    for (int i = 0; i < 3000; ++i) {
        const double s = us(rng);
        double x, z, y;
        t->position(s, ul(rng), x, z, y);
        const double psi = ua(rng), range = 250;
        const double dx = std::sin(psi), dz = std::cos(psi);
        double best = range;
        for (int e = 0; e < 2; ++e)
            for (std::size_t k = 0; k < nv; ++k) {
                const std::size_t k2 = (k + 1) % nv;
                const double ca = dx * (ez[e][k] - z) - dz * (ex[e][k] - x);
                const double cb = dx * (ez[e][k2] - z) - dz * (ex[e][k2] - x);
                if ((ca > 0) == (cb > 0)) continue;
                const double u = ca / (ca - cb);
                const double tt = (ex[e][k] + u * (ex[e][k2] - ex[e][k]) - x) * dx +
                                  (ez[e][k] + u * (ez[e][k2] - ez[e][k]) - z) * dz;
                if (tt > 0 && tt < best) best = tt;
            }
        const double got = t->ray_to_edge(x, z, psi, range, s);
        CHECK_NEAR(got, best, 1e-6);
        ++compared;
    }
    CHECK_EQ(compared, 3000);
}

AC_TEST(spa_builtin_facts) {
    auto t = builtin_track("spa");
    CHECK(std::fabs(t->length() - 7004.0) < 0.005 * 7004.0);
    CHECK_NEAR(t->total_turning(), -2 * kPi, 1e-9);  // clockwise
    CHECK(t->name() == "spa");
    double lo = 1e9, hi = -1e9;
    for (double s = 0; s < t->length(); s += 5) {
        lo = std::min(lo, t->elevation(s));
        hi = std::max(hi, t->elevation(s));
    }
    CHECK(hi - lo > 90 && hi - lo < 110);
    CHECK_EQ(t->sector_at(0), 0);
    CHECK_EQ(t->sector_at(t->length() * 0.5), 1);
    CHECK_EQ(t->sector_at(t->length() - 1), 2);
    CHECK_THROWS(builtin_track("monza"));
    CHECK(contains(error_of([] { builtin_track("monza"); }), "spa"));
}

AC_TEST(fast_lane_round_trip) {
    auto t = builtin_track("spa");
    const std::string path = temp_path("fast_lane.ai");
    write_fast_lane_ai(*t, path, 2.0);
    const std::vector<unsigned char> bytes = read_bytes(path);
    const std::size_t n = std::size_t(std::llround(t->length() / 2.0));
    CHECK_EQ(bytes.size(), 16 + 20 * n + 4 + 72 * n + 4);
    const std::vector<CentreVertex> v = read_fast_lane_ai(path);
    CHECK_EQ(v.size(), n);
    auto back = load_track(path);
    CHECK_NEAR(back->length(), t->length(), 0.5);
    for (double s = 0; s < t->length(); s += 97) {
        const TrackSample a = t->at(s), b = back->at(s);
        CHECK_NEAR(std::hypot(a.x - b.x, a.z - b.z), 0.0, 0.3);
        CHECK_NEAR(a.y, b.y, 0.05);
        CHECK_NEAR(a.width_left, b.width_left, 0.05);
    }
    std::filesystem::remove(path);
}

AC_TEST(fast_lane_errors_name_file_and_offset) {
    auto t = builtin_track("spa");
    const std::string path = temp_path("bad_fast_lane.ai");
    write_fast_lane_ai(*t, path, 10.0);
    std::vector<unsigned char> good = read_bytes(path);

    std::vector<unsigned char> cut(good.begin(), good.begin() + 100);  // inside the point block
    write_bytes(path, cut);
    std::string e = error_of([&] { read_fast_lane_ai(path); });
    CHECK(contains(e, path));
    CHECK(contains(e, "byte offset 100"));
    CHECK(contains(e, "ideal-point block"));

    std::vector<unsigned char> wrong = good;
    wrong[0] = 3;
    write_bytes(path, wrong);
    e = error_of([&] { read_fast_lane_ai(path); });
    CHECK(contains(e, "byte offset 0"));
    CHECK(contains(e, "expected 7"));

    const std::size_t n = std::size_t(std::llround(t->length() / 10.0));
    std::vector<unsigned char> no_extras(good.begin(), good.begin() + std::ptrdiff_t(16 + 20 * n));
    write_bytes(path, no_extras);
    e = error_of([&] { read_fast_lane_ai(path); });
    CHECK(contains(e, "byte offset " + std::to_string(16 + 20 * n)));
    CHECK(contains(e, "widths are missing"));

    std::vector<unsigned char> short_extras(good.begin(), good.end() - 200);
    write_bytes(path, short_extras);
    CHECK(contains(error_of([&] { read_fast_lane_ai(path); }), "extra-data block"));

    write_bytes(path, {1, 2, 3});
    CHECK(contains(error_of([&] { read_fast_lane_ai(path); }), "16-byte header"));
    CHECK_THROWS(read_fast_lane_ai(temp_path("does_not_exist.ai")));
    std::filesystem::remove(path);
}

// Fuzz: truncations and random byte corruptions of a valid file either load or raise TrackFileError
// (never another exception, a crash or a sanitizer report).
AC_TEST(fast_lane_fuzz) {
    auto t = builtin_track("spa");
    const std::string path = temp_path("fuzz_fast_lane.ai");
    write_fast_lane_ai(*t, path, 25.0);
    const std::vector<unsigned char> good = read_bytes(path);
    std::mt19937 rng(5);
    int loaded = 0, rejected = 0, other = 0;
    for (int i = 0; i < 300; ++i) {
        std::vector<unsigned char> bytes = good;
        if (i % 3 == 0) {
            bytes.resize(std::uniform_int_distribution<std::size_t>(0, good.size())(rng));
        } else {
            const int flips = 1 + int(rng() % 8);
            for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<unsigned char>(rng());
        }
        write_bytes(path, bytes);
        try {
            auto tr = load_track(path);
            if (std::isfinite(tr->length())) ++loaded;
        } catch (const TrackFileError&) {
            ++rejected;
        } catch (...) {
            ++other;
        }
    }
    CHECK_EQ(other, 0);
    CHECK(loaded > 0);
    CHECK(rejected > 0);
    std::filesystem::remove(path);
}

AC_TEST(csv_reader_and_errors) {
    const std::string path = temp_path("centre.csv");
    {
        std::ofstream f(path);
        f << "# x_m,y_m,w_tr_right_m,w_tr_left_m\n";
        for (int i = 0; i < 360; i += 5) {
            const double a = i * kPi / 180;
            f << 100 * std::cos(a) << "," << 100 * std::sin(a) << ",4.0,6.0\n";
        }
    }
    auto t = load_track(path);
    CHECK_NEAR(t->length(), 2 * kPi * 100, 0.5);
    // Counter-clockwise on the map (x, y) stays a left-turning loop after (x, y) → (x, −z).
    CHECK_NEAR(t->total_turning(), 2 * kPi, 1e-9);
    CHECK_NEAR(t->at(0).width_left, 6.0, 1e-9);
    CHECK_NEAR(t->at(0).width_right, 4.0, 1e-9);
    CHECK(t->name() == std::filesystem::path(path).stem().string());
    {
        std::ofstream f(path);
        f << "# x_m,y_m,w_tr_right_m,w_tr_left_m\n1,2,3,4\n5,6,7\n";
    }
    std::string e = error_of([&] { read_centreline_csv(path); });
    CHECK(contains(e, path));
    CHECK(contains(e, "line 3"));
    CHECK(contains(e, "4 comma-separated numbers"));
    {
        std::ofstream f(path);
        f << "1,2,3,4\n1,2,x,4\n";
    }
    CHECK(contains(error_of([&] { read_centreline_csv(path); }), "line 2"));
    {
        std::ofstream f(path);
        f << "# only a header\n";
    }
    CHECK(contains(error_of([&] { read_centreline_csv(path); }), "at least 4"));
    std::filesystem::remove(path);
    CHECK(contains(error_of([] { load_track("no_such_track_or_file"); }), "not a built-in track"));
}

AC_TEST(bad_vertices_are_rejected) {
    std::vector<CentreVertex> v(3);
    CHECK_THROWS(Track(v, TrackMeta{}));
    std::vector<CentreVertex> w;
    for (int i = 0; i < 8; ++i) {
        CentreVertex c;
        c.x = 10 * std::cos(i * kPi / 4);
        c.z = 10 * std::sin(i * kPi / 4);
        w.push_back(c);
    }
    w[3].width_left = -1;
    CHECK(contains(error_of([&] { Track(w, TrackMeta{}); }), "vertex 3"));
    w[3].width_left = 5;
    w[4] = w[3];
    CHECK(contains(error_of([&] { Track(w, TrackMeta{}); }), "repeats"));
}

namespace {

// A loop of n vertices (x, z) = f(i), widths w/w.
template <typename F>
std::vector<CentreVertex> loop(int n, F f, double w = 5.0) {
    std::vector<CentreVertex> v;
    for (int i = 0; i < n; ++i) {
        CentreVertex c;
        f(i, c.x, c.z);
        c.width_left = c.width_right = w;
        v.push_back(c);
    }
    return v;
}

std::vector<CentreVertex> circle(double radius, int n, double w = 5.0) {
    return loop(n, [&](int i, double& x, double& z) {
        x = radius * std::cos(2 * kPi * i / n);
        z = radius * std::sin(2 * kPi * i / n);
    }, w);
}

std::string build_error(const std::vector<CentreVertex>& v, TrackBuildOptions options = {}) {
    return error_of([&] { Track(v, TrackMeta{}, options); });
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

const char* kSquareCsv = "# x_m,y_m,w_tr_right_m,w_tr_left_m\n0,0,5,5\n100,0,5,5\n100,100,5,5\n0,100,5,5\n";

}  // namespace

AC_TEST(degenerate_geometry_is_rejected_with_the_reason) {
    CHECK(contains(build_error(circle(10, 3)), "at least 4"));
    // Too short: a 1 m square (it used to kill the process with SIGFPE in the ray casts) and a 40 m one.
    CHECK(contains(build_error(circle(0.2, 8)), "shorter than the 50 m"));
    CHECK(contains(build_error(circle(6.0, 16, 1.0)), "check the units"));
    // Collinear: the spline runs out and back along one line.
    const auto line = loop(4, [](int i, double& x, double& z) {
        x = 200.0 * i;
        z = 0;
    });
    CHECK(contains(build_error(line), "one straight line"));
    // Consecutive vertices closer than the model resolves.
    auto dense = circle(100, 200);
    CentreVertex extra = dense[10];
    extra.x += 0.01;
    dense.insert(dense.begin() + 11, extra);
    const std::string e = build_error(dense);
    CHECK(contains(e, "vertex 11"));
    CHECK(contains(e, "closer than the 0.05 m"));
    // Self-overlap: a circle driven twice round (a slow spiral, so no vertex repeats).
    const auto twice = loop(400, [](int i, double& x, double& z) {
        const double a = 4 * kPi * i / 400;
        const double r = 100 + 0.002 * i;
        x = r * std::cos(a);
        z = r * std::sin(a);
    });
    CHECK(contains(build_error(twice), "runs over itself"));
    // A crossing at an angle (a figure of eight, as Suzuka's bridge) is a valid lap.
    const auto eight = loop(200, [](int i, double& x, double& z) {
        const double a = 2 * kPi * i / 200;
        x = 300 * std::sin(a);
        z = 150 * std::sin(2 * a);
    });
    CHECK(build_error(eight).empty());
    // Parallel legs closer than the half-width overlap; farther apart they are two roads.
    auto hairpin = [](double gap) {
        std::vector<CentreVertex> v;
        for (int i = 0; i <= 40; ++i) v.push_back(CentreVertex{10.0 * i, 0, 0, 5, 5});
        for (int i = 1; i <= 8; ++i) {  // round the end
            const double a = kPi * i / 9;
            v.push_back(CentreVertex{400 + 0.5 * gap * std::sin(a), 0.5 * gap * (1 - std::cos(a)), 0, 5, 5});
        }
        for (int i = 40; i >= 0; --i) v.push_back(CentreVertex{10.0 * i, gap, 0, 5, 5});
        for (int i = 1; i <= 8; ++i) {
            const double a = kPi * i / 9;
            v.push_back(CentreVertex{-0.5 * gap * std::sin(a), gap - 0.5 * gap * (1 - std::cos(a)), 0, 5, 5});
        }
        return v;
    };
    CHECK(contains(build_error(hairpin(4.0)), "one straight line"));
    CHECK(build_error(hairpin(30.0)).empty());
}

AC_TEST(degenerate_files_name_the_file) {
    const std::string path = temp_path("short.csv");
    write_text(path, "0,0,5,5\n1,0,5,5\n1,1,5,5\n0,1,5,5\n");
    std::string e = error_of([&] { load_track(path); });
    CHECK(contains(e, path));
    CHECK(contains(e, "shorter than the 50 m"));
    bool typed = false;
    try {
        load_track(path);
    } catch (const TrackFileError& err) {
        typed = err.file() == path;
    }
    CHECK(typed);
    write_text(path, "0,0,5,5\n2,0,5,5\n4,0,5,5\n6,0,5,5\n");  // the collinear 6 m "track" of the issue
    CHECK(contains(error_of([&] { load_track(path); }), path));
    std::filesystem::remove(path);
    const std::string other = temp_path("track.txt");
    write_text(other, "hello");
    e = error_of([&] { load_track(other); });
    CHECK(contains(e, other));
    CHECK(contains(e, "unrecognised track file"));
    std::filesystem::remove(other);
}

AC_TEST(the_shortest_track_casts_rays_at_every_spacing) {
    for (double spacing : {0.06, 1.0, 20.0}) {
        TrackBuildOptions o;
        o.sample_spacing = spacing;
        const Track t(circle(9.0, 24, 2.0), TrackMeta{}, o);  // 56.5 m around
        CHECK(t.length() > kMinLapLength);
        BatchGeometryConfig config;
        config.ray_angles = {-1.0, 0.0, 1.0};
        config.lookahead_distances = {10.0, 100.0};
        double x = 9.0, z = 0.0, heading = 0.0, s = std::numeric_limits<double>::quiet_NaN();
        double rays[3] = {-1, -1, -1};
        BatchGeometryOutput out;
        out.s = &s;
        out.ray_distance = rays;
        t.batch_geometry(config, 1, &x, &z, &heading, nullptr, out);
        for (double r : rays) CHECK(r > 0 && r < 10.0);
        CHECK(t.ray_to_edge(x, z, 0.0, 50.0) > 0);
    }
}

AC_TEST(csv_encodings) {
    const std::string path = temp_path("enc.csv");
    auto load_bytes = [&](const std::string& bytes) {
        write_text(path, bytes);
        return error_of([&] { CHECK_NEAR(load_centreline_csv(path)->length(), 400.0, 40.0); });
    };
    const std::string ascii = kSquareCsv;
    CHECK(load_bytes(ascii).empty());
    CHECK(load_bytes("\xEF\xBB\xBF" + ascii).empty());  // UTF-8 with a byte-order mark (Excel, Notepad)
    std::string le = "\xFF\xFE", be = "\xFE\xFF", bare;
    for (char c : ascii) {
        le += std::string{c, '\0'};
        be += std::string{'\0', c};
        bare += std::string{c, '\0'};
    }
    CHECK(load_bytes(le).empty());  // UTF-16 with a byte-order mark ("Unicode" in Windows tools)
    CHECK(load_bytes(be).empty());
    std::string e = load_bytes(bare);  // UTF-16 without the mark
    CHECK(contains(e, path));
    CHECK(contains(e, "UTF-16"));
    CHECK(load_bytes("# caf\xE9 (Latin-1 comment)\n" + ascii).empty());  // comments may hold any bytes
    e = load_bytes(ascii + "0\xE9,50,5,5\n");
    CHECK(contains(e, path));
    CHECK(contains(e, "line 6"));
    CHECK(contains(e, "0xE9"));
    CHECK(contains(e, "UTF-8"));
    std::filesystem::remove(path);
}

AC_TEST_MAIN("track")
