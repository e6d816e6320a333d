// Assetto Corsa shared-memory pages: SPageFilePhysics, SPageFileGraphic, SPageFileStatic.
//
// Layout follows the field-by-field spec (research/ac_shared_memory_spec.md): #pragma pack(4),
// int32/float fields, UTF-16 strings as char16_t (never wchar_t, which is 4 bytes on Linux).
// Fields were only ever appended by AC, so an older AC publishes a shorter page; see
// `kPhysicsMinimalSize` etc. and `FieldInfo::present_in()`.
//
// The structs are the single source of truth. The field tables below are generated from them
// with offsetof/sizeof (so they cannot disagree), and the static_asserts in this header pin every
// offset to the number in the spec (so the structs cannot drift from the spec).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>

namespace ac_core {

#pragma pack(push, 4)

struct PhysicsPage {
    int32_t packetId;
    float gas;
    float brake;
    float fuel;
    int32_t gear;  // 0 = R, 1 = N, 2 = 1st ...
    int32_t rpms;
    float steerAngle;
    float speedKmh;
    float velocity[3];  // world frame, y up, m/s
    float accG[3];      // car-local: [0] lateral, [1] vertical, [2] longitudinal, in g
    float wheelSlip[4];  // FL, FR, RL, RR (all [4] arrays)
    float wheelLoad[4];
    float wheelsPressure[4];
    float wheelAngularSpeed[4];
    float tyreWear[4];
    float tyreDirtyLevel[4];
    float tyreCoreTemperature[4];
    float camberRAD[4];
    float suspensionTravel[4];
    float drs;
    float tc;
    float heading;
    float pitch;
    float roll;
    float cgHeight;
    float carDamage[5];
    int32_t numberOfTyresOut;
    int32_t pitLimiterOn;
    float abs;
    float kersCharge;
    float kersInput;
    int32_t autoShifterOn;
    float rideHeight[2];
    // AC 1.5
    float turboBoost;
    float ballast;
    float airDensity;
    // AC 1.6
    float airTemp;
    float roadTemp;
    float localAngularVel[3];  // car-local; [1] = yaw rate
    float finalFF;
    // AC 1.7
    float performanceMeter;
    int32_t engineBrake;
    int32_t ersRecoveryLevel;
    int32_t ersPowerLevel;
    int32_t ersHeatCharging;
    int32_t ersIsCharging;
    float kersCurrentKJ;
    int32_t drsAvailable;
    int32_t drsEnabled;
    float brakeTemp[4];
    // AC 1.10
    float clutch;
    float tyreTempI[4];
    float tyreTempM[4];
    float tyreTempO[4];
    // AC 1.10.2
    int32_t isAIControlled;
    // AC 1.11
    float tyreContactPoint[4][3];  // world, [wheel][xyz]
    float tyreContactNormal[4][3];
    float tyreContactHeading[4][3];
    float brakeBias;
    // AC 1.12
    float localVelocity[3];  // car-local: [0] lateral, [1] vertical, [2] longitudinal, m/s
    // "Late tail": present in AC-derived headers, version not pinned down; treat as optional.
    int32_t P2PActivations;
    int32_t P2PStatus;
    float currentMaxRpm;
    float mz[4];
    float fx[4];
    float fy[4];
    float slipRatio[4];
    float slipAngle[4];
    int32_t tcinAction;
    int32_t absInAction;
    float suspensionDamage[4];
    float tyreTemp[4];
};

struct GraphicsPage {
    int32_t packetId;
    int32_t status;   // AcStatus
    int32_t session;  // AcSessionType
    char16_t currentTime[15];
    char16_t lastTime[15];
    char16_t bestTime[15];
    char16_t split[15];
    int32_t completedLaps;
    int32_t position;
    int32_t iCurrentTime;  // ms
    int32_t iLastTime;
    int32_t iBestTime;
    float sessionTimeLeft;  // ms
    float distanceTraveled;
    int32_t isInPit;
    int32_t currentSectorIndex;
    int32_t lastSectorTime;
    int32_t numberOfLaps;
    char16_t tyreCompound[33];
    float replayTimeMultiplier;
    float normalizedCarPosition;
    float carCoordinates[3];  // world, y up
    float penaltyTime;
    int32_t flag;  // AcFlagType
    int32_t idealLineOn;
    // AC 1.5
    int32_t isInPitLane;
    float surfaceGrip;
    // AC 1.13
    int32_t mandatoryPitDone;
    // late
    float windSpeed;
    float windDirection;
};

struct StaticPage {
    char16_t smVersion[15];
    char16_t acVersion[15];
    int32_t numberOfSessions;
    int32_t numCars;
    char16_t carModel[33];
    char16_t track[33];
    char16_t playerName[33];
    char16_t playerSurname[33];
    char16_t playerNick[33];
    int32_t sectorCount;
    float maxTorque;
    float maxPower;
    int32_t maxRpm;
    float maxFuel;
    float suspensionMaxTravel[4];
    float tyreRadius[4];
    // AC 1.5
    float maxTurboBoost;
    float deprecated_1;
    float deprecated_2;
    int32_t penaltiesEnabled;
    float aidFuelRate;
    float aidTireRate;
    float aidMechanicalDamage;
    int32_t aidAllowTyreBlankets;
    float aidStability;
    int32_t aidAutoClutch;
    int32_t aidAutoBlip;
    // AC 1.7.1
    int32_t hasDRS;
    int32_t hasERS;
    int32_t hasKERS;
    float kersMaxJ;
    int32_t engineBrakeSettingsCount;
    int32_t ersPowerControllerCount;
    // AC 1.7.2
    float trackSPlineLength;
    char16_t trackConfiguration[33];  // 33 units (the official header); some readers use 15
    // AC 1.10.2
    float ersMaxJ;
    // AC 1.13
    int32_t isTimedRace;
    int32_t hasExtraLap;
    char16_t carSkin[33];
    int32_t reversedGridPositions;
    int32_t PitWindowStart;
    int32_t PitWindowEnd;
};

#pragma pack(pop)

// Sizes of the final AC layout.
inline constexpr std::size_t kPhysicsSize = sizeof(PhysicsPage);           // 712 with the late tail
inline constexpr std::size_t kPhysicsCoreSize = 580;                       // through localVelocity (AC 1.12)
inline constexpr std::size_t kGraphicsSize = sizeof(GraphicsPage);         // 296
inline constexpr std::size_t kStaticSize = sizeof(StaticPage);             // 684
// The smallest page any AC version published ("orig", before 1.5). Anything shorter is not an
// AC page at all and is rejected.
inline constexpr std::size_t kPhysicsMinimalSize = 276;
inline constexpr std::size_t kGraphicsMinimalSize = 276;
inline constexpr std::size_t kStaticMinimalSize = 452;
// simshmbridge and the project's own writer use 2048-byte pages; every AC page fits.
inline constexpr std::size_t kBridgePageSize = 2048;

static_assert(kPhysicsSize == 712, "physics page must be 712 bytes with the late tail");
static_assert(kGraphicsSize == 296, "graphics page must be 296 bytes");
static_assert(kStaticSize == 684, "static page must be 684 bytes (trackConfiguration[33])");
static_assert(sizeof(char16_t) == 2, "UTF-16 code unit must be 2 bytes");
static_assert(std::is_standard_layout_v<PhysicsPage> && std::is_trivially_copyable_v<PhysicsPage>);
static_assert(std::is_standard_layout_v<GraphicsPage> && std::is_trivially_copyable_v<GraphicsPage>);
static_assert(std::is_standard_layout_v<StaticPage> && std::is_trivially_copyable_v<StaticPage>);

// Spot checks of the spec's offsets (every field is checked against the spec in
// cpp/tests/test_pages.cpp and tests/test_page_layout.py, from tables written independently).
static_assert(offsetof(PhysicsPage, speedKmh) == 28);
static_assert(offsetof(PhysicsPage, heading) == 208);
static_assert(offsetof(PhysicsPage, numberOfTyresOut) == 244);
static_assert(offsetof(PhysicsPage, localAngularVel) == 296);
static_assert(offsetof(PhysicsPage, clutch) == 364);
static_assert(offsetof(PhysicsPage, tyreContactPoint) == 420);
static_assert(offsetof(PhysicsPage, localVelocity) == 568);
static_assert(offsetof(PhysicsPage, P2PActivations) == 580);
static_assert(offsetof(PhysicsPage, tyreTemp) == 696);
static_assert(offsetof(GraphicsPage, currentTime) == 12);
static_assert(offsetof(GraphicsPage, completedLaps) == 132);
static_assert(offsetof(GraphicsPage, tyreCompound) == 176);
static_assert(offsetof(GraphicsPage, replayTimeMultiplier) == 244);
static_assert(offsetof(GraphicsPage, normalizedCarPosition) == 248);
static_assert(offsetof(GraphicsPage, carCoordinates) == 252);
static_assert(offsetof(GraphicsPage, isInPitLane) == 276);
static_assert(offsetof(GraphicsPage, windDirection) == 292);
static_assert(offsetof(StaticPage, carModel) == 68);
static_assert(offsetof(StaticPage, sectorCount) == 400);
static_assert(offsetof(StaticPage, tyreRadius) == 436);
static_assert(offsetof(StaticPage, trackSPlineLength) == 520);
static_assert(offsetof(StaticPage, trackConfiguration) == 524);
static_assert(offsetof(StaticPage, ersMaxJ) == 592);
static_assert(offsetof(StaticPage, carSkin) == 604);
static_assert(offsetof(StaticPage, PitWindowEnd) == 680);

// ---- AC enums (int32 in the pages) ----
enum class AcStatus : int32_t { Off = 0, Replay = 1, Live = 2, Pause = 3 };
enum class AcSessionType : int32_t {
    Unknown = -1, Practice = 0, Qualify = 1, Race = 2, Hotlap = 3, TimeAttack = 4, Drift = 5, Drag = 6
};
enum class AcFlagType : int32_t {
    None = 0, Blue = 1, Yellow = 2, Black = 3, White = 4, Checkered = 5, Penalty = 6
};

// ---- Field tables ----
enum class FieldType : uint8_t { Int32, Float32, Utf16 };

struct FieldInfo {
    const char* name;
    uint32_t offset;
    FieldType type;
    uint16_t dim0;  // 1 for scalars; outer extent for arrays
    uint16_t dim1;  // 1 unless a 2-D array ([4][3] wheel-major)
    // A field is present in a page of `page_size` bytes only if it lies wholly inside it.
    constexpr uint32_t byte_size() const { return uint32_t(dim0) * dim1 * (type == FieldType::Utf16 ? 2u : 4u); }
    constexpr bool present_in(std::size_t page_size) const { return offset + byte_size() <= page_size; }
};

namespace detail {
template <typename T> struct Elem { using type = T; };
template <typename T, std::size_t N> struct Elem<T[N]> { using type = typename Elem<T>::type; };
template <typename T> constexpr FieldType field_type_of() {
    using E = typename Elem<T>::type;
    if constexpr (std::is_same_v<E, char16_t>) return FieldType::Utf16;
    else if constexpr (std::is_same_v<E, float>) return FieldType::Float32;
    else { static_assert(std::is_same_v<E, int32_t>, "page fields are int32, float or char16_t"); return FieldType::Int32; }
}
template <typename T> constexpr uint16_t dim0_of() { return std::rank_v<T> >= 1 ? uint16_t(std::extent_v<T, 0>) : 1; }
template <typename T> constexpr uint16_t dim1_of() { return std::rank_v<T> >= 2 ? uint16_t(std::extent_v<T, 1>) : 1; }
}  // namespace detail

#define AC_CORE_FIELD(Page, member)                                                             \
    FieldInfo {                                                                                  \
        #member, uint32_t(offsetof(Page, member)), detail::field_type_of<decltype(Page::member)>(), \
            detail::dim0_of<decltype(Page::member)>(), detail::dim1_of<decltype(Page::member)>()    \
    }

#define F(m) AC_CORE_FIELD(PhysicsPage, m)
inline constexpr FieldInfo kPhysicsFields[] = {
    F(packetId), F(gas), F(brake), F(fuel), F(gear), F(rpms), F(steerAngle), F(speedKmh), F(velocity),
    F(accG), F(wheelSlip), F(wheelLoad), F(wheelsPressure), F(wheelAngularSpeed), F(tyreWear),
    F(tyreDirtyLevel), F(tyreCoreTemperature), F(camberRAD), F(suspensionTravel), F(drs), F(tc),
    F(heading), F(pitch), F(roll), F(cgHeight), F(carDamage), F(numberOfTyresOut), F(pitLimiterOn),
    F(abs), F(kersCharge), F(kersInput), F(autoShifterOn), F(rideHeight), F(turboBoost), F(ballast),
    F(airDensity), F(airTemp), F(roadTemp), F(localAngularVel), F(finalFF), F(performanceMeter),
    F(engineBrake), F(ersRecoveryLevel), F(ersPowerLevel), F(ersHeatCharging), F(ersIsCharging),
    F(kersCurrentKJ), F(drsAvailable), F(drsEnabled), F(brakeTemp), F(clutch), F(tyreTempI),
    F(tyreTempM), F(tyreTempO), F(isAIControlled), F(tyreContactPoint), F(tyreContactNormal),
    F(tyreContactHeading), F(brakeBias), F(localVelocity), F(P2PActivations), F(P2PStatus),
    F(currentMaxRpm), F(mz), F(fx), F(fy), F(slipRatio), F(slipAngle), F(tcinAction), F(absInAction),
    F(suspensionDamage), F(tyreTemp),
};
#undef F
#define F(m) AC_CORE_FIELD(GraphicsPage, m)
inline constexpr FieldInfo kGraphicsFields[] = {
    F(packetId), F(status), F(session), F(currentTime), F(lastTime), F(bestTime), F(split),
    F(completedLaps), F(position), F(iCurrentTime), F(iLastTime), F(iBestTime), F(sessionTimeLeft),
    F(distanceTraveled), F(isInPit), F(currentSectorIndex), F(lastSectorTime), F(numberOfLaps),
    F(tyreCompound), F(replayTimeMultiplier), F(normalizedCarPosition), F(carCoordinates),
    F(penaltyTime), F(flag), F(idealLineOn), F(isInPitLane), F(surfaceGrip), F(mandatoryPitDone),
    F(windSpeed), F(windDirection),
};
#undef F
#define F(m) AC_CORE_FIELD(StaticPage, m)
inline constexpr FieldInfo kStaticFields[] = {
    F(smVersion), F(acVersion), F(numberOfSessions), F(numCars), F(carModel), F(track), F(playerName),
    F(playerSurname), F(playerNick), F(sectorCount), F(maxTorque), F(maxPower), F(maxRpm), F(maxFuel),
    F(suspensionMaxTravel), F(tyreRadius), F(maxTurboBoost), F(deprecated_1), F(deprecated_2),
    F(penaltiesEnabled), F(aidFuelRate), F(aidTireRate), F(aidMechanicalDamage), F(aidAllowTyreBlankets),
    F(aidStability), F(aidAutoClutch), F(aidAutoBlip), F(hasDRS), F(hasERS), F(hasKERS), F(kersMaxJ),
    F(engineBrakeSettingsCount), F(ersPowerControllerCount), F(trackSPlineLength), F(trackConfiguration),
    F(ersMaxJ), F(isTimedRace), F(hasExtraLap), F(carSkin), F(reversedGridPositions), F(PitWindowStart),
    F(PitWindowEnd),
};
#undef F
#undef AC_CORE_FIELD

enum class PageKind : uint8_t { Physics, Graphics, Static };

struct PageSpec {
    PageKind kind;
    const char* suffix;  // mapping name without the prefix: "physics" -> acpmf_physics
    std::size_t size;
    std::size_t minimal_size;
    const FieldInfo* fields;
    std::size_t field_count;
};

inline constexpr PageSpec kPageSpecs[] = {
    {PageKind::Physics, "physics", kPhysicsSize, kPhysicsMinimalSize, kPhysicsFields, std::size(kPhysicsFields)},
    {PageKind::Graphics, "graphics", kGraphicsSize, kGraphicsMinimalSize, kGraphicsFields, std::size(kGraphicsFields)},
    {PageKind::Static, "static", kStaticSize, kStaticMinimalSize, kStaticFields, std::size(kStaticFields)},
};

constexpr const PageSpec& page_spec(PageKind kind) { return kPageSpecs[static_cast<int>(kind)]; }

// Compile-time proof that each table covers its struct: the last field ends at sizeof(struct)
// and fields are in increasing offset order without overlap.
constexpr bool table_is_contiguous(const FieldInfo* f, std::size_t n, std::size_t struct_size) {
    for (std::size_t i = 1; i < n; ++i) {
        uint32_t end = f[i - 1].offset + f[i - 1].byte_size();
        // Only 2 bytes of padding may follow an odd-length UTF-16 block (pack(4)).
        if (f[i].offset < end || f[i].offset > end + 2) return false;
    }
    uint32_t last_end = f[n - 1].offset + f[n - 1].byte_size();
    return last_end <= struct_size && struct_size - last_end <= 2;
}
static_assert(table_is_contiguous(kPhysicsFields, std::size(kPhysicsFields), kPhysicsSize));
static_assert(table_is_contiguous(kGraphicsFields, std::size(kGraphicsFields), kGraphicsSize));
static_assert(table_is_contiguous(kStaticFields, std::size(kStaticFields), kStaticSize));

}  // namespace ac_core
