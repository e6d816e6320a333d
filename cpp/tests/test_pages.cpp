// Every field's offset against a table transcribed by hand from research/ac_shared_memory_spec.md
// (not generated from pages.hpp), plus the generated field tables' consistency; and page ownership
// on POSIX: an owner removes only its own page, leftovers of dead owners are replaced, live ones kept.
#include <cstring>
#include <string>

#include "ac_core/core/pages.hpp"
#include "ac_core/core/shared_page.hpp"
#include "check.hpp"
#include "test_util.hpp"

#ifndef _WIN32
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace ac_core;

namespace {
struct SpecRow {
    const char* name;
    uint32_t offset;
    uint32_t size;
};

// Spec §3, rows 0-71.
const SpecRow kPhysicsSpec[] = {
    {"packetId", 0, 4}, {"gas", 4, 4}, {"brake", 8, 4}, {"fuel", 12, 4}, {"gear", 16, 4}, {"rpms", 20, 4},
    {"steerAngle", 24, 4}, {"speedKmh", 28, 4}, {"velocity", 32, 12}, {"accG", 44, 12}, {"wheelSlip", 56, 16},
    {"wheelLoad", 72, 16}, {"wheelsPressure", 88, 16}, {"wheelAngularSpeed", 104, 16}, {"tyreWear", 120, 16},
    {"tyreDirtyLevel", 136, 16}, {"tyreCoreTemperature", 152, 16}, {"camberRAD", 168, 16},
    {"suspensionTravel", 184, 16}, {"drs", 200, 4}, {"tc", 204, 4}, {"heading", 208, 4}, {"pitch", 212, 4},
    {"roll", 216, 4}, {"cgHeight", 220, 4}, {"carDamage", 224, 20}, {"numberOfTyresOut", 244, 4},
    {"pitLimiterOn", 248, 4}, {"abs", 252, 4}, {"kersCharge", 256, 4}, {"kersInput", 260, 4},
    {"autoShifterOn", 264, 4}, {"rideHeight", 268, 8}, {"turboBoost", 276, 4}, {"ballast", 280, 4},
    {"airDensity", 284, 4}, {"airTemp", 288, 4}, {"roadTemp", 292, 4}, {"localAngularVel", 296, 12},
    {"finalFF", 308, 4}, {"performanceMeter", 312, 4}, {"engineBrake", 316, 4}, {"ersRecoveryLevel", 320, 4},
    {"ersPowerLevel", 324, 4}, {"ersHeatCharging", 328, 4}, {"ersIsCharging", 332, 4}, {"kersCurrentKJ", 336, 4},
    {"drsAvailable", 340, 4}, {"drsEnabled", 344, 4}, {"brakeTemp", 348, 16}, {"clutch", 364, 4},
    {"tyreTempI", 368, 16}, {"tyreTempM", 384, 16}, {"tyreTempO", 400, 16}, {"isAIControlled", 416, 4},
    {"tyreContactPoint", 420, 48}, {"tyreContactNormal", 468, 48}, {"tyreContactHeading", 516, 48},
    {"brakeBias", 564, 4}, {"localVelocity", 568, 12}, {"P2PActivations", 580, 4}, {"P2PStatus", 584, 4},
    {"currentMaxRpm", 588, 4}, {"mz", 592, 16}, {"fx", 608, 16}, {"fy", 624, 16}, {"slipRatio", 640, 16},
    {"slipAngle", 656, 16}, {"tcinAction", 672, 4}, {"absInAction", 676, 4}, {"suspensionDamage", 680, 16},
    {"tyreTemp", 696, 16},
};
// Spec §4.
const SpecRow kGraphicsSpec[] = {
    {"packetId", 0, 4}, {"status", 4, 4}, {"session", 8, 4}, {"currentTime", 12, 30}, {"lastTime", 42, 30},
    {"bestTime", 72, 30}, {"split", 102, 30}, {"completedLaps", 132, 4}, {"position", 136, 4},
    {"iCurrentTime", 140, 4}, {"iLastTime", 144, 4}, {"iBestTime", 148, 4}, {"sessionTimeLeft", 152, 4},
    {"distanceTraveled", 156, 4}, {"isInPit", 160, 4}, {"currentSectorIndex", 164, 4}, {"lastSectorTime", 168, 4},
    {"numberOfLaps", 172, 4}, {"tyreCompound", 176, 66}, {"replayTimeMultiplier", 244, 4},
    {"normalizedCarPosition", 248, 4}, {"carCoordinates", 252, 12}, {"penaltyTime", 264, 4}, {"flag", 268, 4},
    {"idealLineOn", 272, 4}, {"isInPitLane", 276, 4}, {"surfaceGrip", 280, 4}, {"mandatoryPitDone", 284, 4},
    {"windSpeed", 288, 4}, {"windDirection", 292, 4},
};
// Spec §5, with trackConfiguration[33].
const SpecRow kStaticSpec[] = {
    {"smVersion", 0, 30}, {"acVersion", 30, 30}, {"numberOfSessions", 60, 4}, {"numCars", 64, 4},
    {"carModel", 68, 66}, {"track", 134, 66}, {"playerName", 200, 66}, {"playerSurname", 266, 66},
    {"playerNick", 332, 66}, {"sectorCount", 400, 4}, {"maxTorque", 404, 4}, {"maxPower", 408, 4},
    {"maxRpm", 412, 4}, {"maxFuel", 416, 4}, {"suspensionMaxTravel", 420, 16}, {"tyreRadius", 436, 16},
    {"maxTurboBoost", 452, 4}, {"deprecated_1", 456, 4}, {"deprecated_2", 460, 4}, {"penaltiesEnabled", 464, 4},
    {"aidFuelRate", 468, 4}, {"aidTireRate", 472, 4}, {"aidMechanicalDamage", 476, 4},
    {"aidAllowTyreBlankets", 480, 4}, {"aidStability", 484, 4}, {"aidAutoClutch", 488, 4}, {"aidAutoBlip", 492, 4},
    {"hasDRS", 496, 4}, {"hasERS", 500, 4}, {"hasKERS", 504, 4}, {"kersMaxJ", 508, 4},
    {"engineBrakeSettingsCount", 512, 4}, {"ersPowerControllerCount", 516, 4}, {"trackSPlineLength", 520, 4},
    {"trackConfiguration", 524, 66}, {"ersMaxJ", 592, 4}, {"isTimedRace", 596, 4}, {"hasExtraLap", 600, 4},
    {"carSkin", 604, 66}, {"reversedGridPositions", 672, 4}, {"PitWindowStart", 676, 4}, {"PitWindowEnd", 680, 4},
};

template <std::size_t N>
void check_table(const FieldInfo* fields, std::size_t count, const SpecRow (&spec)[N]) {
    CHECK_EQ(count, N);
    for (std::size_t i = 0; i < N && i < count; ++i) {
        if (std::strcmp(fields[i].name, spec[i].name) != 0) {
            std::printf("  field %zu: table says %s, spec says %s\n", i, fields[i].name, spec[i].name);
            CHECK(false);
        }
        CHECK_EQ(fields[i].offset, spec[i].offset);
        CHECK_EQ(fields[i].byte_size(), spec[i].size);
    }
}
}  // namespace

AC_TEST(physics_offsets_match_spec) { check_table(kPhysicsFields, std::size(kPhysicsFields), kPhysicsSpec); }
AC_TEST(graphics_offsets_match_spec) { check_table(kGraphicsFields, std::size(kGraphicsFields), kGraphicsSpec); }
AC_TEST(static_offsets_match_spec) { check_table(kStaticFields, std::size(kStaticFields), kStaticSpec); }

AC_TEST(sizes_match_spec) {
    CHECK_EQ(sizeof(PhysicsPage), std::size_t(712));
    CHECK_EQ(offsetof(PhysicsPage, localVelocity) + sizeof(float) * 3, std::size_t(580));
    CHECK_EQ(sizeof(GraphicsPage), std::size_t(296));
    CHECK_EQ(sizeof(StaticPage), std::size_t(684));
}

AC_TEST(presence_for_short_pages) {
    // An AC 1.12 physics page (580 bytes) has localVelocity but not the late tail.
    const FieldInfo* lv = nullptr;
    const FieldInfo* p2p = nullptr;
    for (const auto& f : kPhysicsFields) {
        if (std::strcmp(f.name, "localVelocity") == 0) lv = &f;
        if (std::strcmp(f.name, "P2PActivations") == 0) p2p = &f;
    }
    CHECK(lv != nullptr && lv->present_in(580));
    CHECK(p2p != nullptr && !p2p->present_in(580));
    CHECK(lv != nullptr && !lv->present_in(576));
}

AC_TEST(types_and_shapes) {
    CHECK(kPhysicsFields[0].type == FieldType::Int32);
    CHECK(kPhysicsFields[1].type == FieldType::Float32);
    for (const auto& f : kPhysicsFields) {
        if (std::strcmp(f.name, "tyreContactPoint") == 0) {
            CHECK_EQ(f.dim0, 4);
            CHECK_EQ(f.dim1, 3);
        }
    }
    CHECK(kStaticFields[0].type == FieldType::Utf16);
    CHECK_EQ(kStaticFields[0].dim0, 15);
}

#ifndef _WIN32

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string create_error(const std::string& name) {
    try {
        SharedPage::create(name, 4096, 0600, true);
    } catch (const SharedPageError& e) {
        return std::string(e.code() == SharedPageError::Code::AlreadyExists ? "AlreadyExists: " : "other: ") + e.what();
    }
    return "created";
}

std::string all_notes() {
    std::string text;
    for (const std::string& n : SharedPage::take_replacement_notes()) text += n + "\n";
    return text;
}

}  // namespace

AC_TEST(owner_removes_only_the_page_it_created) {
    const std::string name = ac_test::unique_prefix("own") + "physics";
    SharedPage old_owner = SharedPage::create(name, 4096);
    // Someone removes the name (by hand, or a newer simulator replacing a stalled one) and creates
    // a new page under it.
    CHECK(::shm_unlink(SharedPage::os_name(name).c_str()) == 0);
    SharedPage new_owner = SharedPage::create(name, 4096);
    new_owner.mutable_data()[0] = 42;
    old_owner.close();  // the stalled owner exits later: it must not remove the new page
    CHECK(SharedPage::exists(name));
    SharedPage reader = SharedPage::open_existing(name);
    CHECK_EQ(int(reader.data()[0]), 42);
    reader.close();
    new_owner.close();
    CHECK(!SharedPage::exists(name));
}

AC_TEST(a_live_owner_is_refused_even_with_replace_stale) {
    const std::string name = ac_test::unique_prefix("live") + "physics";
    SharedPage owner = SharedPage::create(name, 4096);
    const std::string e = create_error(name);
    CHECK(contains(e, "AlreadyExists"));
    CHECK(contains(e, "already in use by a running process"));
    CHECK(contains(e, "pid " + std::to_string(getpid())));
    CHECK(contains(e, "--prefix"));
    CHECK(SharedPage::exists(name));
    owner.close();
    CHECK(!SharedPage::exists(name));
}

AC_TEST(an_empty_leftover_is_replaced_with_a_note) {
    const std::string name = ac_test::unique_prefix("empty") + "physics";
    all_notes();
    const int fd = ::shm_open(SharedPage::os_name(name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);  // 0 bytes
    CHECK(fd >= 0);
    ::close(fd);
    CHECK_THROWS(SharedPage::create(name, 4096));  // without replace_stale: refused, as before
    {
        SharedPage page = SharedPage::create(name, 4096, 0600, true);
        CHECK_EQ(page.size(), std::size_t(4096));
        const std::string notes = all_notes();
        CHECK(contains(notes, "/dev/shm/" + name));
        CHECK(contains(notes, "0 bytes"));
    }
    CHECK(!SharedPage::exists(name));
}

AC_TEST(pages_of_a_killed_owner_are_replaced_and_of_a_stopped_one_kept) {
    const std::string name = ac_test::unique_prefix("child") + "physics";
    int ready[2];
    CHECK(::pipe(ready) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        SharedPage page = SharedPage::create(name, 4096);
        const char one = 1;
        (void)!::write(ready[1], &one, 1);
        ::raise(SIGSTOP);
        ::pause();
        ::_exit(0);
    }
    char got = 0;
    CHECK(::read(ready[0], &got, 1) == 1);
    int status = 0;
    ::waitpid(child, &status, WUNTRACED);
    CHECK(WIFSTOPPED(status));
    const std::string e = create_error(name);  // a stopped owner is alive: its page is kept
    CHECK(contains(e, "pid " + std::to_string(child) + ", stopped"));
    CHECK(SharedPage::exists(name));
    ::kill(child, SIGKILL);  // killed: no destructor ran, the page is left behind without an owner
    ::waitpid(child, &status, 0);
    CHECK(SharedPage::exists(name));
    all_notes();
    {
        SharedPage page = SharedPage::create(name, 4096, 0600, true);
        CHECK(contains(all_notes(), "no live owner"));
    }
    CHECK(!SharedPage::exists(name));
    ::close(ready[0]);
    ::close(ready[1]);
}

#endif

AC_TEST_MAIN("pages")
