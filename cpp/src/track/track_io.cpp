// Track files: AC's fast_lane.ai (version 7, read and written) and TUMFTM centre-line CSVs.
//
// fast_lane.ai layout (little-endian int32/float32), as read by Content Manager's actools and
// AssettoServer: header {version = 7, N, lapTime, sampleCount}; N ideal points {x, y, z, length, id};
// int32 M (= N) then M extras of 18 floats {speed, gas, brake, obsoleteLatG, radius, sideLeft,
// sideRight, camber, direction, normal xyz, length, forward xyz, tag, grade}; an optional grid follows
// (not needed here, not parsed).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "ac_core/track/track.hpp"

namespace ac_core {

namespace {

constexpr std::int32_t kFastLaneVersion = 7;
constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kPointBytes = 20;
constexpr std::size_t kExtraFloats = 18;
constexpr std::size_t kExtraBytes = kExtraFloats * 4;
constexpr double kClosedLoopGap = 50.0;  // m; AssettoServer's test for a closed spline

std::vector<unsigned char> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw TrackFileError(path, "open", "cannot open the file for reading (missing or no permission)");
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::uint32_t get_u32(const std::vector<unsigned char>& b, std::size_t off) {
    return std::uint32_t(b[off]) | (std::uint32_t(b[off + 1]) << 8) | (std::uint32_t(b[off + 2]) << 16) |
           (std::uint32_t(b[off + 3]) << 24);
}
std::int32_t get_i32(const std::vector<unsigned char>& b, std::size_t off) {
    const std::uint32_t u = get_u32(b, off);
    std::int32_t v;
    std::memcpy(&v, &u, 4);
    return v;
}
float get_f32(const std::vector<unsigned char>& b, std::size_t off) {
    const std::uint32_t u = get_u32(b, off);
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}

std::string at_byte(std::size_t off) { return "byte offset " + std::to_string(off); }

// Folder name of the track: …/tracks/<track>[/<layout>]/ai/fast_lane.ai, else the file stem.
std::string name_from_path(const std::string& path) {
    std::vector<std::string> parts;
    std::string cur;
    for (char ch : path) {
        if (ch == '/' || ch == '\\') {
            if (!cur.empty()) parts.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) parts.push_back(cur);
    if (parts.empty()) return "track";
    const std::size_t n = parts.size();
    if (n >= 3 && parts[n - 2] == "ai") {
        if (n >= 5 && parts[n - 5] == "tracks") return parts[n - 4];  // tracks/<track>/<layout>/ai
        return parts[n - 3];
    }
    std::string stem = parts.back();
    const std::size_t dot = stem.rfind('.');
    if (dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
    return stem;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void append_utf8(std::string& out, std::uint32_t u) {
    if (u < 0x80) {
        out.push_back(char(u));
    } else if (u < 0x800) {
        out.push_back(char(0xC0 | (u >> 6)));
        out.push_back(char(0x80 | (u & 0x3F)));
    } else if (u < 0x10000) {
        out.push_back(char(0xE0 | (u >> 12)));
        out.push_back(char(0x80 | ((u >> 6) & 0x3F)));
        out.push_back(char(0x80 | (u & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (u >> 18)));
        out.push_back(char(0x80 | ((u >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((u >> 6) & 0x3F)));
        out.push_back(char(0x80 | (u & 0x3F)));
    }
}

// UTF-16 (after its byte-order mark) as UTF-8; an unpaired surrogate becomes U+FFFD.
std::string utf16_to_utf8(const std::vector<unsigned char>& b, bool little_endian) {
    auto unit = [&](std::size_t i) {
        return little_endian ? std::uint32_t(b[i] | (b[i + 1] << 8)) : std::uint32_t((b[i] << 8) | b[i + 1]);
    };
    std::string out;
    out.reserve(b.size() / 2);
    for (std::size_t i = 2; i + 1 < b.size(); i += 2) {
        std::uint32_t u = unit(i);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < b.size() && unit(i + 2) >= 0xDC00 && unit(i + 2) <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
            i += 2;
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            u = 0xFFFD;
        }
        append_utf8(out, u);
    }
    return out;
}

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
std::size_t invalid_utf8_at(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > s.size()) return i;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
        i += len;
    }
    return std::string::npos;
}

// A CSV's text as UTF-8: a UTF-8 byte-order mark is dropped, UTF-16 with a byte-order mark (what
// Windows tools call "Unicode") is converted; NUL bytes without a mark are named as what they likely are.
std::string csv_text(const std::string& path) {
    const std::vector<unsigned char> b = read_all(path);
    if (b.size() >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) return std::string(b.begin() + 3, b.end());
    if (b.size() >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
        if (b.size() % 2 != 0)
            throw TrackFileError(path, at_byte(b.size() - 1),
                                 "UTF-16 text (byte-order mark) with an odd number of bytes: the file is truncated; "
                                 "save it again, preferably as UTF-8");
        return utf16_to_utf8(b, b[0] == 0xFF);
    }
    const auto nul = std::find(b.begin(), b.end(), 0);
    if (nul != b.end())
        throw TrackFileError(path, at_byte(std::size_t(nul - b.begin())),
                             "NUL byte: this is UTF-16 text without a byte-order mark or not text at all; save the "
                             "centre line as UTF-8 (or ASCII) CSV");
    return std::string(b.begin(), b.end());
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) out.push_back(char((v >> (8 * k)) & 0xFFu));
}
void put_i32(std::string& out, std::int32_t v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    put_u32(out, u);
}
void put_f32(std::string& out, double v) {
    const float f = float(v);
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    put_u32(out, u);
}

}  // namespace

std::vector<CentreVertex> read_fast_lane_ai(const std::string& path) {
    const std::vector<unsigned char> b = read_all(path);
    if (b.size() < kHeaderBytes)
        throw TrackFileError(path, at_byte(0),
                             "file is " + std::to_string(b.size()) +
                                 " bytes; a fast_lane.ai starts with a 16-byte header (version, point count, lap "
                                 "time, sample count)");
    const std::int32_t version = get_i32(b, 0);
    if (version != kFastLaneVersion)
        throw TrackFileError(path, at_byte(0),
                             "version " + std::to_string(version) +
                                 ", expected 7 (Assetto Corsa fast_lane.ai); is this an AI spline file?");
    const std::int32_t count = get_i32(b, 4);
    if (count < 4 || count > 10'000'000)
        throw TrackFileError(path, at_byte(4),
                             "point count " + std::to_string(count) + ", expected between 4 and 10000000");
    const std::size_t n = std::size_t(count);
    const std::size_t points_end = kHeaderBytes + n * kPointBytes;
    if (b.size() < points_end)
        throw TrackFileError(path, at_byte(b.size()),
                             "file ends inside the ideal-point block: " + std::to_string(n) + " points need bytes " +
                                 std::to_string(kHeaderBytes) + ".." + std::to_string(points_end));
    if (b.size() < points_end + 4)
        throw TrackFileError(path, at_byte(points_end),
                             "file ends before the extra-data block (int32 count, then sideLeft/sideRight per "
                             "point); the track widths are missing");
    const std::int32_t extra_count = get_i32(b, points_end);
    if (extra_count != count)
        throw TrackFileError(path, at_byte(points_end),
                             "extra-data count " + std::to_string(extra_count) + ", expected the point count " +
                                 std::to_string(count));
    const std::size_t extras_begin = points_end + 4;
    const std::size_t extras_end = extras_begin + n * kExtraBytes;
    if (b.size() < extras_end)
        throw TrackFileError(path, at_byte(b.size()),
                             "file ends inside the extra-data block: " + std::to_string(n) + " records of 72 bytes "
                                 "need bytes " + std::to_string(extras_begin) + ".." + std::to_string(extras_end));

    std::vector<CentreVertex> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t p = kHeaderBytes + i * kPointBytes;
        const std::size_t e = extras_begin + i * kExtraBytes;
        CentreVertex v;
        v.x = get_f32(b, p);
        v.y = get_f32(b, p + 4);
        v.z = get_f32(b, p + 8);
        v.width_left = get_f32(b, e + 5 * 4);
        v.width_right = get_f32(b, e + 6 * 4);
        if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z))
            throw TrackFileError(path, at_byte(p), "point " + std::to_string(i) + " has a non-finite position");
        if (!(v.width_left > 0) || !(v.width_right > 0) || !std::isfinite(v.width_left) ||
            !std::isfinite(v.width_right))
            throw TrackFileError(path, at_byte(e + 5 * 4),
                                 "point " + std::to_string(i) + " has sideLeft " + std::to_string(v.width_left) +
                                     " and sideRight " + std::to_string(v.width_right) +
                                     "; expected finite widths > 0 m");
        // AC splines can repeat a point; a step shorter than the model resolves carries no geometry.
        if (!out.empty() && std::hypot(v.x - out.back().x, v.z - out.back().z) < kMinVertexStep) continue;
        out.push_back(v);
    }
    if (out.size() < 4) throw TrackFileError(path, at_byte(kHeaderBytes), "fewer than 4 distinct points");
    // Drop trailing points that sit on the first one: the lap closes implicitly.
    double mean_step = 0;
    for (std::size_t i = 1; i < out.size(); ++i)
        mean_step += std::hypot(out[i].x - out[i - 1].x, out[i].z - out[i - 1].z);
    mean_step /= double(out.size() - 1);
    while (out.size() > 4 &&
           std::hypot(out.back().x - out.front().x, out.back().z - out.front().z) < 0.5 * mean_step)
        out.pop_back();
    const double gap = std::hypot(out.back().x - out.front().x, out.back().z - out.front().z);
    if (gap > kClosedLoopGap)
        throw TrackFileError(path, at_byte(kHeaderBytes),
                             "first and last points are " + std::to_string(gap) +
                                 " m apart; a closed lap is expected (is this a pit_lane.ai?)");
    return out;
}

std::shared_ptr<const Track> load_fast_lane_ai(const std::string& path, const TrackBuildOptions& options) {
    TrackMeta meta;
    meta.name = name_from_path(path);
    std::vector<CentreVertex> v = read_fast_lane_ai(path);
    try {
        return std::make_shared<const Track>(v, meta, options);
    } catch (const std::invalid_argument& e) {
        throw TrackFileError(path, "geometry", e.what());
    }
}

void write_fast_lane_ai(const Track& track, const std::string& path, double spacing) {
    if (!(spacing > 0.05)) throw std::invalid_argument("fast_lane.ai spacing must be > 0.05 m");
    const std::size_t n = std::max<std::size_t>(4, std::size_t(std::llround(track.length() / spacing)));
    const double step = track.length() / double(n);
    std::string out;
    out.reserve(kHeaderBytes + n * (kPointBytes + kExtraBytes) + 8);
    put_i32(out, kFastLaneVersion);
    put_i32(out, std::int32_t(n));
    put_i32(out, 0);  // lapTime
    put_i32(out, 0);  // sampleCount
    std::vector<TrackSample> samples(n);
    for (std::size_t i = 0; i < n; ++i) samples[i] = track.at(double(i) * step);
    for (std::size_t i = 0; i < n; ++i) {
        put_f32(out, samples[i].x);
        put_f32(out, samples[i].y);
        put_f32(out, samples[i].z);
        put_f32(out, samples[i].s);
        put_i32(out, std::int32_t(i));
    }
    put_i32(out, std::int32_t(n));
    for (std::size_t i = 0; i < n; ++i) {
        const TrackSample& t = samples[i];
        const double fx = std::sin(t.heading), fz = std::cos(t.heading);
        const double norm = std::sqrt(1.0 + t.grade * t.grade);
        const double radius = std::fabs(t.curvature) > 1e-3 ? std::min(1.0 / std::fabs(t.curvature), 1000.0) : 1000.0;
        put_f32(out, 0.0);  // speed: no AI speed profile is known here
        put_f32(out, 0.0);  // gas
        put_f32(out, 0.0);  // brake
        put_f32(out, 0.0);  // obsoleteLatG
        put_f32(out, radius);
        put_f32(out, t.width_left);
        put_f32(out, t.width_right);
        put_f32(out, 0.0);  // camber: the model has a flat cross-section
        put_f32(out, 1.0);  // direction
        put_f32(out, -t.grade * fx / norm);  // surface normal, tilted with the grade only
        put_f32(out, 1.0 / norm);
        put_f32(out, -t.grade * fz / norm);
        put_f32(out, t.s);
        put_f32(out, fx / norm);  // forward vector along the slope
        put_f32(out, t.grade / norm);
        put_f32(out, fz / norm);
        put_f32(out, 0.0);  // tag
        put_f32(out, t.grade);
    }
    put_i32(out, 0);  // no grid
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error(path + ": cannot open for writing");
    f.write(out.data(), std::streamsize(out.size()));
    f.close();
    if (!f) throw std::runtime_error(path + ": write failed (disk full?)");
}

std::vector<CentreVertex> read_centreline_csv(const std::string& path) {
    std::istringstream in(csv_text(path));
    std::vector<CentreVertex> out;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;  // comments may hold any bytes
        const std::size_t bad_byte = invalid_utf8_at(line);
        if (bad_byte != std::string::npos) {
            char hex[8];
            std::snprintf(hex, sizeof(hex), "0x%02X", unsigned(static_cast<unsigned char>(line[bad_byte])));
            throw TrackFileError(path, "line " + std::to_string(line_no),
                                 std::string("byte ") + hex + " at column " + std::to_string(bad_byte + 1) +
                                     " is not UTF-8 text (a Latin-1 or ANSI file?); save the file as UTF-8 and keep "
                                     "the rows to plain numbers x_m,y_m,w_tr_right_m,w_tr_left_m");
        }
        double vals[4];
        std::size_t got = 0;
        const char* c = line.c_str() + first;
        bool bad = false;
        while (*c && !bad) {
            if (got == 4) {
                bad = true;
                break;
            }
            char* end = nullptr;
            vals[got] = std::strtod(c, &end);
            if (end == c || !std::isfinite(vals[got])) {
                bad = true;
                break;
            }
            ++got;
            c = end;
            while (*c == ' ' || *c == '\t') ++c;
            if (*c == ',') {
                ++c;
                if (!*c) bad = true;  // trailing comma: a value is missing
            } else if (*c) {
                bad = true;
            }
        }
        if (bad || got != 4)
            throw TrackFileError(path, "line " + std::to_string(line_no),
                                 "expected 4 comma-separated numbers x_m,y_m,w_tr_right_m,w_tr_left_m, got '" +
                                     line.substr(0, 80) + "'");
        if (!(vals[2] > 0) || !(vals[3] > 0))
            throw TrackFileError(path, "line " + std::to_string(line_no), "track widths must be > 0 m");
        CentreVertex v;
        v.x = vals[0];
        v.z = -vals[1];  // map plane (x, y) → world (x, −z): keeps left and right (see track.hpp)
        v.y = 0.0;
        v.width_right = vals[2];
        v.width_left = vals[3];
        out.push_back(v);
    }
    if (out.size() < 4)
        throw TrackFileError(path, "line " + std::to_string(line_no),
                             "found " + std::to_string(out.size()) +
                                 " data rows; a centre line needs at least 4 (x_m,y_m,w_tr_right_m,w_tr_left_m)");
    return out;
}

std::shared_ptr<const Track> load_centreline_csv(const std::string& path, const TrackBuildOptions& options) {
    TrackMeta meta;
    meta.name = name_from_path(path);
    std::vector<CentreVertex> v = read_centreline_csv(path);
    try {
        return std::make_shared<const Track>(v, meta, options);
    } catch (const std::invalid_argument& e) {
        throw TrackFileError(path, "geometry", e.what());
    }
}

std::shared_ptr<const Track> load_track(const std::string& name_or_path, const TrackBuildOptions& options) {
    for (const std::string& name : builtin_track_names())
        if (name == name_or_path) return builtin_track(name, options);
    std::ifstream probe(name_or_path, std::ios::binary);
    if (!probe) {
        std::string names;
        for (const std::string& name : builtin_track_names()) names += (names.empty() ? "" : ", ") + name;
        throw std::invalid_argument("unknown track '" + name_or_path + "': not a built-in track (" + names +
                                    ") and no such file; pass a built-in name or a path to fast_lane.ai or a .csv");
    }
    unsigned char head[4] = {0, 0, 0, 0};
    probe.read(reinterpret_cast<char*>(head), 4);
    const bool has_magic = probe.gcount() == 4 && head[0] == 7 && head[1] == 0 && head[2] == 0 && head[3] == 0;
    const std::string low = lower(name_or_path);
    if (ends_with(low, ".ai") || (has_magic && !ends_with(low, ".csv"))) return load_fast_lane_ai(name_or_path, options);
    if (ends_with(low, ".csv")) return load_centreline_csv(name_or_path, options);
    throw TrackFileError(name_or_path, "type",
                         "unrecognised track file: expected an AC fast_lane.ai (version 7, or a .ai name) or a TUMFTM "
                         "centre-line .csv (x_m,y_m,w_tr_right_m,w_tr_left_m)");
}

}  // namespace ac_core
