// Track model of the built-in AC stand-in: a closed centre line with left/right widths, elevation
// and run-off, arc-length queries, fast projection, ray casts to the edges and batched geometry.
//
// Conventions (used everywhere: C++, Python, files)
// -------------------------------------------------
// * World frame as AC: y is up, the horizontal plane is x/z. The frame is taken as right-handed
//   (x × y = z). A track vertex is (x, z) horizontal + y elevation, metres.
// * Heading ψ (yaw about +y), for the car and for the track: the forward unit vector in the
//   horizontal plane is (x, z) = (sin ψ, cos ψ), i.e. ψ = atan2(fx, fz); ψ = 0 faces +z.
//   In this frame ψ grows when turning LEFT (counter-clockwise seen from above, +y).
// * Left of a direction f = (fx, fz) is (fz, −fx) (= up × forward). Positive lateral offset = left
//   of the driving direction; positive curvature κ = dψ/ds = a left turn (1/m).
// * Car frame (look-ahead points): (forward, left) in metres from the car position.
// * Angles relative to the car (rays, heading error) are positive to the left: heading error =
//   ψ_car − ψ_track wrapped to (−π, π].
// * Arc length s ∈ [0, length) is the horizontal arc length of the centre line: s = 0 is the
//   start/finish line, s grows in the driving direction.
//   Every s-taking query accepts any real s and wraps it.
// * Widths width_left/right are distances from the centre line to the track edge (> 0). Beyond each
//   edge: a kerb band (SurfaceConfig::kerb_width), then run-off (grass/gravel) up to the barrier,
//   runoff_left/right metres beyond the edge (can vary along the lap).
// * The TUMFTM CSV's (x_m, y_m) map plane is mapped to x = x_m, z = −y_m, which keeps its
//   left/right (its driving direction and w_tr_left/right stay on the same physical side).
// * Whether AC's own world frame is right- or left-handed is not documented; fast_lane.ai points
//   are taken as they are in this frame and sideLeft/sideRight as left/right of the driving
//   direction in it (see docs/track.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ac_core {

// A malformed, truncated or unreadable track file. what() names the file, the location (byte offset
// or line) and what was expected.
class TrackFileError : public std::runtime_error {
public:
    TrackFileError(const std::string& file, const std::string& location, const std::string& problem);
    const std::string& file() const noexcept { return file_; }
    const std::string& location() const noexcept { return location_; }

private:
    std::string file_;
    std::string location_;
};

// Degenerate geometry limits (Track::Track rejects what falls below them).
// Shortest lap: no circuit is near it (karting tracks run 300 m and more); below it the car (4-5 m)
// is a tenth of the lap, and a track given in the wrong unit (km read as m) is caught.
inline constexpr double kMinLapLength = 50.0;
// Closest two consecutive vertices may be: the finest sample spacing the model resamples at. A
// shorter step carries no geometry the model resolves but bends the spline through it sharply.
inline constexpr double kMinVertexStep = 0.05;

// Surface class of a point, from the lateral offset at its s.
enum class Surface : std::uint8_t { Track = 0, Kerb = 1, Runoff = 2, Barrier = 3 };
inline constexpr std::size_t kSurfaceCount = 4;
const char* surface_name(Surface surface) noexcept;

struct SurfaceConfig {
    double kerb_width = 1.0;               // m of kerb band beyond each track edge
    double default_runoff = 15.0;          // m from the edge to the barrier where the track gives none
    // Grip multiplier per Surface (index = Surface value). Barrier: contact means a collision; the
    // multiplier only matters for a car resting against it.
    std::array<double, kSurfaceCount> grip = {1.0, 0.9, 0.55, 0.3};
};

// One centre-line vertex as authored or read from a file. The loop is closed implicitly (the last
// vertex connects to the first; a duplicated closing vertex is dropped).
struct CentreVertex {
    double x = 0, z = 0;              // horizontal world position, m
    double y = 0;                     // elevation, m
    double width_left = 5, width_right = 5;  // centre → edge, m
    double runoff_left = std::numeric_limits<double>::quiet_NaN();   // edge → barrier, m; NaN: default
    double runoff_right = std::numeric_limits<double>::quiet_NaN();
};

struct TrackMeta {
    std::string name = "track";                 // AC's track name, e.g. "spa"
    // Lap fractions where sector 2 and sector 3 begin (sector 1 begins at s = 0).
    std::array<double, 2> sector_starts = {1.0 / 3.0, 2.0 / 3.0};
    double pit_exit_s = 0;                      // m along the lap where the pit lane rejoins
    double pit_exit_lateral = 0;                // lateral offset there, m (+ = left)
};

struct TrackBuildOptions {
    double sample_spacing = 1.0;  // m between the resampled points the queries run on
    SurfaceConfig surfaces{};
};

// Everything about the track at one s (linear interpolation between the fine samples; heading,
// curvature and grade come from the smooth fitted curve).
struct TrackSample {
    double s = 0;
    double x = 0, z = 0, y = 0;           // centre-line position; y = elevation
    double heading = 0;                   // ψ of the driving direction
    double curvature = 0;                 // 1/m, + = left turn
    double width_left = 0, width_right = 0;
    double runoff_left = 0, runoff_right = 0;
    double grade = 0;                     // dy/ds (0.17 = 17 % climb)
    double vertical_curvature = 0;        // d²y/ds², 1/m (> 0 = compression, as at Eau Rouge)
};

struct Projection {
    double s = 0;          // arc length of the closest centre-line point
    double lateral = 0;    // signed offset from the centre line, + = left
    double heading = 0;    // track heading ψ at s
    bool used_global = false;  // true when the hint was missing or bad and a global search ran
};

// World-frame query answered for a wheel or car position.
struct SurfaceHit {
    Projection where;
    Surface surface = Surface::Track;
    double grip = 1.0;
    double elevation = 0;  // centre-line elevation at s (flat cross-section)
};

enum class LookaheadLine : std::uint8_t { Centre = 0, LeftEdge = 1, RightEdge = 2 };

// Fixed configuration of the batched per-step geometry; build once, reuse every step.
struct BatchGeometryConfig {
    std::vector<double> lookahead_distances;   // m along the track from the car's s (M values)
    std::vector<LookaheadLine> lookahead_lines = {LookaheadLine::Centre};  // L lines
    std::vector<double> ray_angles;            // rad from the car heading, + = left (R values)
    double ray_max_range = 200.0;              // m; rays that hit nothing report this
};

// Caller-owned outputs, row-major, N cars. A null pointer skips that output.
struct BatchGeometryOutput {
    double* s = nullptr;                    // [N] (may alias the s_hint input: in-place warm start)
    double* lateral = nullptr;              // [N]
    double* heading_error = nullptr;        // [N] ψ_car − ψ_track in (−π, π]
    double* curvature = nullptr;            // [N] at the car's s
    double* lookahead_points = nullptr;     // [N][L][M][2] (forward, left) in the car frame
    double* lookahead_curvature = nullptr;  // [N][M]
    double* ray_distance = nullptr;         // [N][R] to the first track edge, ≤ ray_max_range;
                                            //        0 when the car is off the track
};

class Track {
public:
    // Fits a periodic cubic spline through the vertices (≥ 4, distinct, closed implicitly) and
    // resamples it by arc length. Throws std::invalid_argument on bad input (NaN, widths ≤ 0,
    // duplicate points, too few points, sector fractions not increasing in (0, 1)) and on degenerate
    // geometry: consecutive vertices closer than 0.05 m, a lap under 50 m, vertices on one straight
    // line, a cusp, or a lap that retraces or overlaps itself (crossings at an angle are allowed).
    // The file loaders turn these into TrackFileError naming the file (docs/track.md).
    Track(const std::vector<CentreVertex>& vertices, TrackMeta meta, TrackBuildOptions options = {});

    const TrackMeta& meta() const noexcept { return meta_; }
    const std::string& name() const noexcept { return meta_.name; }
    const SurfaceConfig& surfaces() const noexcept { return surfaces_; }
    double length() const noexcept { return length_; }
    double sample_spacing() const noexcept { return spacing_; }
    std::size_t sample_count() const noexcept { return x_.size(); }

    // s wrapped into [0, length).
    double wrap(double s) const noexcept;
    // Shortest signed distance from s_from to s_to along the lap, in (−length/2, length/2].
    double delta_s(double s_from, double s_to) const noexcept;
    // Sector index 0, 1 or 2 at s.
    int sector_at(double s) const noexcept;
    // Lap fraction where sector k (0..2) begins.
    double sector_start(int k) const;

    TrackSample at(double s) const noexcept;
    double elevation(double s) const noexcept;
    double grade(double s) const noexcept;
    double curvature(double s) const noexcept;
    double heading(double s) const noexcept;
    // World position (x, z) at s and lateral offset (+ = left), elevation of the centre line at s.
    void position(double s, double lateral, double& x, double& z, double& y) const noexcept;

    // Closest centre-line point. With a finite s_hint (the last known s) a local search runs from
    // it; when the hint is NaN, or the local answer lies further from the centre line than the
    // barrier there (the hint was wrong), a global search runs. Correct across the s = 0 wrap.
    Projection project(double x, double z, double s_hint = std::numeric_limits<double>::quiet_NaN()) const noexcept;
    Projection project_global(double x, double z) const noexcept;

    // Surface class and grip at (s, lateral).
    Surface surface_at(double s, double lateral) const noexcept;
    double grip(Surface surface) const noexcept { return surfaces_.grip[static_cast<std::size_t>(surface)]; }
    SurfaceHit surface_at_position(double x, double z, double s_hint = std::numeric_limits<double>::quiet_NaN()) const noexcept;

    // Distance from (x, z) along the horizontal direction `ray_heading` (a ψ) to the first crossing
    // of either track edge, clipped to max_range; 0 when (x, z) is off the track. s_hint as project().
    double ray_to_edge(double x, double z, double ray_heading, double max_range,
                       double s_hint = std::numeric_limits<double>::quiet_NaN()) const noexcept;

    // Batched per-step geometry for N cars (no allocation). Inputs [N]: x, z, heading ψ, s_hint
    // (NaN = unknown; may alias out.s). Throws std::invalid_argument for a bad config or a car with a
    // non-finite position or heading (naming the car).
    void batch_geometry(const BatchGeometryConfig& config, std::size_t n, const double* x, const double* z,
                        const double* heading, const double* s_hint, const BatchGeometryOutput& out) const;

    // The fine samples (uniform spacing in s, closed: sample i is at s = i * spacing).
    const std::vector<double>& sample_x() const noexcept { return x_; }
    const std::vector<double>& sample_z() const noexcept { return z_; }
    const std::vector<double>& sample_y() const noexcept { return y_; }
    // Total signed heading change over one lap (2π for a counter-clockwise loop, −2π clockwise).
    double total_turning() const noexcept;

private:
    std::size_t index_of(double s_wrapped, double& frac) const noexcept;
    void check_overlap() const;  // throws std::invalid_argument where the lap retraces itself
    Projection project_local(double x, double z, std::size_t start, bool& ok) const noexcept;
    Projection refine(double x, double z, std::size_t i) const noexcept;
    // Where a ray cast starts: the nearest ray vertex and the track tangent (sin ψ, cos ψ) there.
    struct RayOrigin {
        std::size_t vertex = 0;
        double tangent_x = 0, tangent_z = 1;
    };
    RayOrigin ray_origin(const Projection& p) const noexcept;
    double ray_cast(double px, double pz, double dx, double dz, const RayOrigin& origin, double max_range) const noexcept;

    TrackMeta meta_;
    SurfaceConfig surfaces_;
    double length_ = 0;
    double spacing_ = 1;
    // Fine samples (structure of arrays). heading_ is unwrapped (continuous) along the lap.
    std::vector<double> x_, z_, y_, heading_, curvature_, width_left_, width_right_, runoff_left_,
        runoff_right_, grade_, vcurv_;
    // Unit left normals (cos ψ, −sin ψ) of the samples, for offsets and look-ahead edge points.
    std::vector<double> nx_, nz_;
    // Edge polylines (same sampling) for the ray casts.
    std::vector<double> left_x_, left_z_, right_x_, right_z_;
    double max_half_width_ = 0;
    double reach_factor_ = 1;      // bound on ds/dt for a path inside the track (inside of corners)
    std::size_t ray_stride_ = 1;   // samples between the edge vertices the ray casts test
    // Ray-cast edge vertices (every ray_stride_-th sample) as float, padded by ray_pad_ vertices on
    // both sides with the wrapped-around ones so that any window around the lap is contiguous.
    std::vector<float> ray_lx_, ray_lz_, ray_rx_, ray_rz_;
    std::size_t ray_vertices_ = 0, ray_pad_ = 0;
};

// ---- Tracks and files --------------------------------------------------------------------------

// Names accepted by builtin_track(): {"spa"}.
std::vector<std::string> builtin_track_names();
// A built-in track, authored in the project from public facts (see cpp/src/track_spa.cpp).
// Throws std::invalid_argument naming the known tracks for an unknown name.
std::shared_ptr<const Track> builtin_track(const std::string& name, const TrackBuildOptions& options = {});
// The authored vertex table of a built-in track (before spline fitting), and its metadata.
std::vector<CentreVertex> builtin_track_vertices(const std::string& name, TrackMeta* meta = nullptr);

// AC's content/tracks/<track>/ai/fast_lane.ai (version 7). Points' y is elevation; widths from the
// extra block (sideLeft, sideRight). Meta name defaults to the track folder name (…/<name>/ai/ or
// …/<name>/<layout>/ai/). Throws TrackFileError on a malformed or truncated file.
std::shared_ptr<const Track> load_fast_lane_ai(const std::string& path, const TrackBuildOptions& options = {});
std::vector<CentreVertex> read_fast_lane_ai(const std::string& path);
// Writes a version-7 fast_lane.ai from the track's samples taken every `spacing` m (with the extra
// block: radius, sideLeft/Right, normal, length, forward vector, grade; no grid).
void write_fast_lane_ai(const Track& track, const std::string& path, double spacing = 2.0);

// A TUMFTM centre-line CSV: "# x_m,y_m,w_tr_right_m,w_tr_left_m" then rows; no elevation (y = 0).
// Meta name defaults to the file stem. Throws TrackFileError naming the line on a bad row.
std::shared_ptr<const Track> load_centreline_csv(const std::string& path, const TrackBuildOptions& options = {});
std::vector<CentreVertex> read_centreline_csv(const std::string& path);

// A built-in name, or a path to a fast_lane.ai (by ".ai" extension or version-7 magic) or a .csv.
// Throws std::invalid_argument for an unknown name, TrackFileError for an unrecognised file type.
std::shared_ptr<const Track> load_track(const std::string& name_or_path, const TrackBuildOptions& options = {});

}  // namespace ac_core
