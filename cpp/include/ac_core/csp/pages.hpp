// Custom Shaders Patch (CSP) "Custom AI" shared-memory pages: an external process drives car N of
// an Assetto Corsa session through them (CSP >= 0.1.78; time_scale needs >= 0.2.8).
//
//   AcTools.CSP.NewBehaviour.CustomAI.CarControls<N>.v0   written by us, read by CSP at 333 Hz
//   AcTools.CSP.NewBehaviour.CustomAI.Car<N>.v0           written by CSP (per physics tick)
//   AcTools.CSP.NewBehaviour.CustomAI.CarPublic<N>.v0     written by CSP (per graphics frame)
//   AcTools.CSP.NewBehaviour.CustomAI.SimState.v0 / .v1   written by us: pause, time scale ...
//
// Layout: CSP's structs are "aligned by 4 bytes" with 1-byte bools. Natural alignment of these
// members is exactly that (the widest member is 4 bytes), so the structs below use NO #pragma pack.
// pack(1) would be wrong: in the car page a pad byte follows the three bools at 640..642, and
// pack(1) would shift lap_time_ms and everything after it by one byte. Every offset is pinned by a
// static_assert to the number computed from CSP's documented structs.
//
// Bools are `uint8_t` here, not `bool`: a byte of shared memory written by another program may hold
// any value, and loading a value other than 0/1 as a C++ bool is undefined behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>

namespace ac_core {

// ---- CarControls<N>.v0 (the app writes, CSP reads) --------------------------------------------
struct CspCarControls {
    float gas;        // 0..1
    float brake;      // 0..1
    float clutch;     // 0..1; AC's convention (1 = engaged, pedal up) — see docs/csp.md
    float steer;      // -1..+1, + = right turn
    float handbrake;  // 0..1
    uint8_t gear_up;  // buttons: 1 = pressed
    uint8_t gear_dn;
    uint8_t drs;
    uint8_t kers;
    uint8_t brake_balance_up;
    uint8_t brake_balance_dn;
    uint8_t abs_up;
    uint8_t abs_dn;
    uint8_t tc_up;
    uint8_t tc_dn;
    uint8_t turbo_up;
    uint8_t turbo_dn;
    uint8_t engine_brake_up;
    uint8_t engine_brake_dn;
    uint8_t mguk_delivery_up;
    uint8_t mguk_delivery_dn;
    uint8_t mguk_recovery_up;
    uint8_t mguk_recovery_dn;
    uint8_t mguh_mode;
    uint8_t headlights;
    uint8_t teleport_to;  // CspTeleport
    uint8_t autoclutch_on_start;
    uint8_t autoclutch_on_change;
    uint8_t autoblip_active;
    float teleport_pos[3];  // world x, y (up), z
    float teleport_dir[3];  // facing direction (inverted before CSP 0.1.79)
    uint8_t autoshift_active;
};

enum class CspTeleport : uint8_t { None = 0, Pits = 1, Position = 2 };

// ---- Car<N>.v0 (CSP writes) ---------------------------------------------------------------------
struct CspWheelData {
    float position[3];
    float contact_point[3];
    float contact_normal[3];
    float look[3];
    float side[3];
    float velocity[3];
    float slip_ratio;
    float load;
    float pressure;
    float angular_velocity;
    float wear;
    float dirty_level;
    float core_temperature;
    float camber_rad;
    float disc_temperature;
    float slip;
    float slip_angle_deg;
    float nd_slip;
};

struct CspCarData {
    int32_t packet_id;  // +1 per update (one physics tick, 333 Hz)
    float gas;
    float brake;
    float clutch;
    float steer;  // steering angle in degrees (not normalised)
    float handbrake;
    float fuel;
    int32_t gear;  // 0 = R, 1 = N, 2 = 1st ...
    float rpm;
    float speed_kmh;
    float velocity[3];
    float acc_g[3];  // [0] lateral, [2] longitudinal
    float look[3];   // forward unit vector
    float up[3];
    float position[3];  // world x, y (up), z
    float local_velocity[3];
    float local_angular_velocity[3];
    float cg_height;
    float car_damage[5];
    CspWheelData wheels[4];  // FL, FR, RL, RR
    float turbo_boost;
    float final_ff;
    float final_pure_ff;
    uint8_t pit_limiter;
    uint8_t abs_in_action;
    uint8_t traction_control_in_action;
    // (one pad byte: natural alignment of the next uint32)
    uint32_t lap_time_ms;
    uint32_t best_lap_time_ms;
    float drivetrain_torque;
    float spline_position;  // 0..1 along the AI spline
    float collision_depth;
    uint32_t collision_counter;
    uint32_t wheels_valid_surface;  // bit n = wheel n on a valid surface (CSP >= 0.1.79)
};

// ---- CarPublic<N>.v0 (CSP writes, every car, per graphics frame) --------------------------------
struct CspCarPublicData {
    int32_t packet_id;
    float steer;
    float rpm;
    float spline_position;
    float speed_kmh;
    float velocity[3];
    float acc_g[3];
    float look[3];
    float up[3];
    float position[3];
    float car_damage[5];
    uint8_t is_braking;
};

// ---- SimState.v0 / .v1 (the app writes) ---------------------------------------------------------
struct CspSimStateV0 {
    uint8_t pause;               // 1 = simulation held
    uint8_t restart_session;     // 1 = restart the session (AC opens a modal menu: avoid)
    uint8_t disable_collisions;  // 1 = no collisions between cars
    uint8_t extra_sleep_ms;      // 0..255 ms added to slow the simulation
};

struct CspSimStateV1 {
    uint8_t pause;
    uint8_t restart_session;
    uint8_t disable_collisions;
    uint8_t extra_sleep_ms;
    float time_scale;  // CSP >= 0.2.8: 1 = real time
};

// ---- sizes and offsets, pinned to CSP's documented layout ---------------------------------------
inline constexpr std::size_t kCspControlsSize = 72;
inline constexpr std::size_t kCspWheelSize = 120;
inline constexpr std::size_t kCspCarSize = 672;
inline constexpr std::size_t kCspCarPublicSize = 104;
inline constexpr std::size_t kCspSimStateV0Size = 4;
inline constexpr std::size_t kCspSimStateV1Size = 8;

// CSP 0.1.78's CarControls struct ended before autoshift_active, which 0.1.79 appended under the same
// ".v0" name: a 68-byte page is a complete page of that header, the smallest one accepted (docs/csp.md).
inline constexpr std::size_t kCspControlsSizeV078 = 68;

static_assert(sizeof(CspCarControls) == kCspControlsSize);
static_assert(offsetof(CspCarControls, autoshift_active) == kCspControlsSizeV078);
static_assert(sizeof(CspWheelData) == kCspWheelSize);
static_assert(sizeof(CspCarData) == kCspCarSize);
static_assert(sizeof(CspCarPublicData) == kCspCarPublicSize);
static_assert(sizeof(CspSimStateV0) == kCspSimStateV0Size);
static_assert(sizeof(CspSimStateV1) == kCspSimStateV1Size);
static_assert(std::is_standard_layout_v<CspCarControls> && std::is_trivially_copyable_v<CspCarControls>);
static_assert(std::is_standard_layout_v<CspCarData> && std::is_trivially_copyable_v<CspCarData>);
static_assert(std::is_standard_layout_v<CspCarPublicData> && std::is_trivially_copyable_v<CspCarPublicData>);

static_assert(offsetof(CspCarControls, steer) == 12);
static_assert(offsetof(CspCarControls, handbrake) == 16);
static_assert(offsetof(CspCarControls, gear_up) == 20);
static_assert(offsetof(CspCarControls, gear_dn) == 21);
static_assert(offsetof(CspCarControls, drs) == 22);
static_assert(offsetof(CspCarControls, mguh_mode) == 38);
static_assert(offsetof(CspCarControls, headlights) == 39);
static_assert(offsetof(CspCarControls, teleport_to) == 40);
static_assert(offsetof(CspCarControls, autoclutch_on_start) == 41);
static_assert(offsetof(CspCarControls, autoblip_active) == 43);
static_assert(offsetof(CspCarControls, teleport_pos) == 44);  // no padding before it: 20 + 24 bytes
static_assert(offsetof(CspCarControls, teleport_dir) == 56);
static_assert(offsetof(CspCarControls, autoshift_active) == 68);

static_assert(offsetof(CspWheelData, contact_point) == 12);
static_assert(offsetof(CspWheelData, velocity) == 60);
static_assert(offsetof(CspWheelData, slip_ratio) == 72);
static_assert(offsetof(CspWheelData, angular_velocity) == 84);
static_assert(offsetof(CspWheelData, core_temperature) == 96);
static_assert(offsetof(CspWheelData, camber_rad) == 100);
static_assert(offsetof(CspWheelData, slip_angle_deg) == 112);
static_assert(offsetof(CspWheelData, nd_slip) == 116);

static_assert(offsetof(CspCarData, gas) == 4);
static_assert(offsetof(CspCarData, steer) == 16);
static_assert(offsetof(CspCarData, fuel) == 24);
static_assert(offsetof(CspCarData, gear) == 28);
static_assert(offsetof(CspCarData, speed_kmh) == 36);
static_assert(offsetof(CspCarData, velocity) == 40);
static_assert(offsetof(CspCarData, acc_g) == 52);
static_assert(offsetof(CspCarData, look) == 64);
static_assert(offsetof(CspCarData, up) == 76);
static_assert(offsetof(CspCarData, position) == 88);
static_assert(offsetof(CspCarData, local_velocity) == 100);
static_assert(offsetof(CspCarData, local_angular_velocity) == 112);
static_assert(offsetof(CspCarData, cg_height) == 124);
static_assert(offsetof(CspCarData, car_damage) == 128);
static_assert(offsetof(CspCarData, wheels) == 148);
static_assert(offsetof(CspCarData, turbo_boost) == 628);
static_assert(offsetof(CspCarData, final_pure_ff) == 636);
static_assert(offsetof(CspCarData, pit_limiter) == 640);
static_assert(offsetof(CspCarData, traction_control_in_action) == 642);
static_assert(offsetof(CspCarData, lap_time_ms) == 644);  // pack(1) would put it at 643
static_assert(offsetof(CspCarData, best_lap_time_ms) == 648);
static_assert(offsetof(CspCarData, spline_position) == 656);
static_assert(offsetof(CspCarData, collision_counter) == 664);
static_assert(offsetof(CspCarData, wheels_valid_surface) == 668);

static_assert(offsetof(CspCarPublicData, spline_position) == 12);
static_assert(offsetof(CspCarPublicData, velocity) == 20);
static_assert(offsetof(CspCarPublicData, acc_g) == 32);
static_assert(offsetof(CspCarPublicData, position) == 68);
static_assert(offsetof(CspCarPublicData, car_damage) == 80);
static_assert(offsetof(CspCarPublicData, is_braking) == 100);

static_assert(offsetof(CspSimStateV0, extra_sleep_ms) == 3);
static_assert(offsetof(CspSimStateV1, time_scale) == 4);

// ---- field tables (for NumPy dtypes and the layout tests) ---------------------------------------
enum class CspFieldType : uint8_t { Int32, UInt32, Float32, Bool8, UInt8, Wheel };

struct CspFieldInfo {
    const char* name;
    uint32_t offset;
    CspFieldType type;
    uint16_t count;  // 1 for scalars, the array extent otherwise
    constexpr uint32_t element_size() const {
        switch (type) {
            case CspFieldType::Bool8:
            case CspFieldType::UInt8: return 1;
            case CspFieldType::Wheel: return uint32_t(kCspWheelSize);
            default: return 4;
        }
    }
    constexpr uint32_t byte_size() const { return element_size() * count; }
};

namespace csp_detail {
template <typename T> struct Elem { using type = T; };
template <typename T, std::size_t N> struct Elem<T[N]> { using type = typename Elem<T>::type; };
template <typename T> constexpr CspFieldType type_of() {
    using E = typename Elem<T>::type;
    if constexpr (std::is_same_v<E, float>) return CspFieldType::Float32;
    else if constexpr (std::is_same_v<E, int32_t>) return CspFieldType::Int32;
    else if constexpr (std::is_same_v<E, uint32_t>) return CspFieldType::UInt32;
    else if constexpr (std::is_same_v<E, CspWheelData>) return CspFieldType::Wheel;
    else {
        static_assert(std::is_same_v<E, uint8_t>, "CSP fields are float, int32, uint32, byte or wheel");
        return CspFieldType::UInt8;
    }
}
template <typename T> constexpr uint16_t count_of() { return std::rank_v<T> >= 1 ? uint16_t(std::extent_v<T, 0>) : 1; }
}  // namespace csp_detail

// Bools and bytes share uint8_t in the structs; the table says which is which.
#define AC_CORE_CSP_FIELD(S, m) \
    CspFieldInfo { #m, uint32_t(offsetof(S, m)), csp_detail::type_of<decltype(S::m)>(), csp_detail::count_of<decltype(S::m)>() }
#define AC_CORE_CSP_BOOL(S, m) CspFieldInfo { #m, uint32_t(offsetof(S, m)), CspFieldType::Bool8, 1 }

#define F(m) AC_CORE_CSP_FIELD(CspCarControls, m)
#define B(m) AC_CORE_CSP_BOOL(CspCarControls, m)
inline constexpr CspFieldInfo kCspControlsFields[] = {
    F(gas), F(brake), F(clutch), F(steer), F(handbrake), B(gear_up), B(gear_dn), B(drs), B(kers),
    B(brake_balance_up), B(brake_balance_dn), B(abs_up), B(abs_dn), B(tc_up), B(tc_dn), B(turbo_up), B(turbo_dn),
    B(engine_brake_up), B(engine_brake_dn), B(mguk_delivery_up), B(mguk_delivery_dn), B(mguk_recovery_up),
    B(mguk_recovery_dn), F(mguh_mode), B(headlights), F(teleport_to), B(autoclutch_on_start),
    B(autoclutch_on_change), B(autoblip_active), F(teleport_pos), F(teleport_dir), B(autoshift_active),
};
#undef F
#undef B
#define F(m) AC_CORE_CSP_FIELD(CspWheelData, m)
inline constexpr CspFieldInfo kCspWheelFields[] = {
    F(position), F(contact_point), F(contact_normal), F(look), F(side), F(velocity), F(slip_ratio), F(load),
    F(pressure), F(angular_velocity), F(wear), F(dirty_level), F(core_temperature), F(camber_rad),
    F(disc_temperature), F(slip), F(slip_angle_deg), F(nd_slip),
};
#undef F
#define F(m) AC_CORE_CSP_FIELD(CspCarData, m)
#define B(m) AC_CORE_CSP_BOOL(CspCarData, m)
inline constexpr CspFieldInfo kCspCarFields[] = {
    F(packet_id), F(gas), F(brake), F(clutch), F(steer), F(handbrake), F(fuel), F(gear), F(rpm), F(speed_kmh),
    F(velocity), F(acc_g), F(look), F(up), F(position), F(local_velocity), F(local_angular_velocity),
    F(cg_height), F(car_damage), F(wheels), F(turbo_boost), F(final_ff), F(final_pure_ff), B(pit_limiter),
    B(abs_in_action), B(traction_control_in_action), F(lap_time_ms), F(best_lap_time_ms), F(drivetrain_torque),
    F(spline_position), F(collision_depth), F(collision_counter), F(wheels_valid_surface),
};
#undef F
#undef B
#define F(m) AC_CORE_CSP_FIELD(CspCarPublicData, m)
inline constexpr CspFieldInfo kCspCarPublicFields[] = {
    F(packet_id), F(steer), F(rpm), F(spline_position), F(speed_kmh), F(velocity), F(acc_g), F(look), F(up),
    F(position), F(car_damage), AC_CORE_CSP_BOOL(CspCarPublicData, is_braking),
};
#undef F
#define F(m) AC_CORE_CSP_FIELD(CspSimStateV1, m)
#define B(m) AC_CORE_CSP_BOOL(CspSimStateV1, m)
inline constexpr CspFieldInfo kCspSimStateV1Fields[] = {
    B(pause), B(restart_session), B(disable_collisions), F(extra_sleep_ms), F(time_scale),
};
#undef F
#undef B
#undef AC_CORE_CSP_FIELD
#undef AC_CORE_CSP_BOOL

enum class CspPageKind : uint8_t { CarControls, Car, CarPublic, SimStateV0, SimStateV1 };

struct CspPageSpec {
    CspPageKind kind;
    const char* stem;  // the mapping name between the namespace and the version: "Car" -> Car0.v0
    bool per_car;      // "<stem><N>.v0" rather than "<stem>.vX"
    std::size_t size;
    const CspFieldInfo* fields;  // the v0 sim state shares the v1 table's first four fields
    std::size_t field_count;
};

inline constexpr CspPageSpec kCspPageSpecs[] = {
    {CspPageKind::CarControls, "CarControls", true, kCspControlsSize, kCspControlsFields, std::size(kCspControlsFields)},
    {CspPageKind::Car, "Car", true, kCspCarSize, kCspCarFields, std::size(kCspCarFields)},
    {CspPageKind::CarPublic, "CarPublic", true, kCspCarPublicSize, kCspCarPublicFields, std::size(kCspCarPublicFields)},
    {CspPageKind::SimStateV0, "SimState", false, kCspSimStateV0Size, kCspSimStateV1Fields, 4},
    {CspPageKind::SimStateV1, "SimState", false, kCspSimStateV1Size, kCspSimStateV1Fields, std::size(kCspSimStateV1Fields)},
};

constexpr const CspPageSpec& csp_page_spec(CspPageKind kind) { return kCspPageSpecs[static_cast<int>(kind)]; }

// Compile-time proof that a table covers its struct in order with only alignment padding between
// fields (at most 3 bytes, before a 4-byte member) and at the end.
constexpr bool csp_table_is_contiguous(const CspFieldInfo* f, std::size_t n, std::size_t struct_size) {
    for (std::size_t i = 1; i < n; ++i) {
        const uint32_t end = f[i - 1].offset + f[i - 1].byte_size();
        if (f[i].offset < end || f[i].offset > end + 3) return false;
        if (f[i].offset % (f[i].element_size() >= 4 ? 4u : 1u) != 0) return false;
    }
    const uint32_t last_end = f[n - 1].offset + f[n - 1].byte_size();
    return last_end <= struct_size && struct_size - last_end <= 3;
}
static_assert(csp_table_is_contiguous(kCspControlsFields, std::size(kCspControlsFields), kCspControlsSize));
static_assert(csp_table_is_contiguous(kCspWheelFields, std::size(kCspWheelFields), kCspWheelSize));
static_assert(csp_table_is_contiguous(kCspCarFields, std::size(kCspCarFields), kCspCarSize));
static_assert(csp_table_is_contiguous(kCspCarPublicFields, std::size(kCspCarPublicFields), kCspCarPublicSize));
static_assert(csp_table_is_contiguous(kCspSimStateV1Fields, std::size(kCspSimStateV1Fields), kCspSimStateV1Size));

}  // namespace ac_core
