// The project's reader against pages made by someone else, under wine/Windows.
//
// Standalone:             a page nobody created gives SharedPageError(NotFound) with a message
//                         that says what to start, and looking for it creates nothing.
// --events <base>:        started by win_ac_writer.exe (the AC stand-in) before the game's pages
//                         exist; checks they are missing, tells the writer, waits for the pages,
//                         then opens them read-only with SharedPage::open_existing and reads them
//                         with PageReader, checking every value the writer put at the spec offsets.
#include <windows.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "ac_core/core/pages.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/core/snapshot.hpp"
#include "ac_stand_in.hpp"
#include "check.hpp"

using namespace ac_core;
namespace stand_in = ac_stand_in;

namespace {

std::wstring g_event_base;  // set by --events

bool raw_mapping_exists(const std::string& name) {
    const std::wstring wname = L"Local\\" + std::wstring(name.begin(), name.end());
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, wname.c_str());
    if (h == nullptr) return false;
    CloseHandle(h);
    return true;
}

// Opens a page that must not exist; checks the error and that nothing was created.
void check_missing(const std::string& name) {
    bool not_found = false;
    try {
        SharedPage page = SharedPage::open_existing(name);
        std::printf("  open_existing(%s) unexpectedly succeeded (%zu bytes)\n", name.c_str(), page.size());
    } catch (const SharedPageError& e) {
        not_found = e.code() == SharedPageError::Code::NotFound;
        const std::string message = e.what();
        CHECK(message.find("Local\\" + name) != std::string::npos);     // names the page
        CHECK(message.find("start Assetto Corsa") != std::string::npos);  // and what to start
        CHECK(message.find("simshmbridge") != std::string::npos);
    }
    CHECK(not_found);
    CHECK(!SharedPage::exists(name));
    CHECK(!raw_mapping_exists(name));  // independent of the project's code
}

std::u16string text(const char16_t* field) { return std::u16string(field); }
std::u16string text(const wchar_t* literal) {
    return std::u16string(reinterpret_cast<const char16_t*>(literal));  // wchar_t is UTF-16 on Windows
}

bool view_is_read_only(const SharedPage& page) {
    MEMORY_BASIC_INFORMATION info{};
    VirtualQuery(page.data(), &info, sizeof(info));
    return info.Protect == PAGE_READONLY;
}

}  // namespace

AC_TEST(missing_page_is_not_found_and_never_created) {
    check_missing("acct_wine_missing_" + std::to_string(GetCurrentProcessId()));
}

AC_TEST(scenario_pages_created_by_the_game_after_the_reader_started) {
    // 1. Before the game: every page is missing, and stays missing while this process lives.
    for (const char* name : {"acpmf_physics", "acpmf_graphics", "acpmf_static"}) check_missing(name);
    HANDLE missing_checked = OpenEventW(EVENT_MODIFY_STATE, FALSE, (g_event_base + stand_in::kMissingCheckedSuffix).c_str());
    HANDLE pages_ready = OpenEventW(SYNCHRONIZE, FALSE, (g_event_base + stand_in::kPagesReadySuffix).c_str());
    CHECK(missing_checked != nullptr && pages_ready != nullptr);
    if (missing_checked == nullptr || pages_ready == nullptr) return;
    SetEvent(missing_checked);
    CHECK_EQ(WaitForSingleObject(pages_ready, 60000), DWORD(WAIT_OBJECT_0));

    // 2. The game is up: open read-only, as a reader must.
    SharedPage physics_page = SharedPage::open_existing("acpmf_physics");
    SharedPage graphics_page = SharedPage::open_existing("acpmf_graphics");
    SharedPage static_page = SharedPage::open_existing("acpmf_static");
    CHECK(!physics_page.is_owner() && !physics_page.writable());
    CHECK_THROWS(physics_page.mutable_data());
    CHECK(view_is_read_only(physics_page) && view_is_read_only(graphics_page) && view_is_read_only(static_page));
    // Windows reports the view's size rounded up to the page granularity, never less than AC's struct.
    CHECK(physics_page.size() >= kPhysicsSize);
    CHECK(graphics_page.size() >= kGraphicsSize);
    CHECK(static_page.size() >= kStaticSize);
    require_minimal_page(physics_page, PageKind::Physics);
    require_minimal_page(graphics_page, PageKind::Graphics);
    require_minimal_page(static_page, PageKind::Static);

    // 3. Static and graphics pages: every value the stand-in wrote at the spec offsets.
    PageReader static_reader(static_page, PageKind::Static);
    CHECK(static_reader.protocol() == SnapshotProtocol::StableCopy);
    StaticPage st{};
    CHECK(static_reader.read(&st).ok);
    CHECK(text(st.smVersion) == text(stand_in::kSmVersion));
    CHECK_EQ(st.numCars, stand_in::kNumCars);
    CHECK(text(st.carModel) == text(stand_in::kCarModel));
    CHECK(text(st.track) == text(stand_in::kTrack));
    CHECK_EQ(st.maxRpm, stand_in::kMaxRpm);
    CHECK_EQ(st.trackSPlineLength, stand_in::kTrackSplineLength);
    CHECK(text(st.trackConfiguration) == text(stand_in::kTrackConfiguration));
    CHECK(text(st.carSkin) == text(stand_in::kCarSkin));
    CHECK_EQ(st.PitWindowEnd, stand_in::kPitWindowEnd);

    PageReader graphics_reader(graphics_page, PageKind::Graphics);
    CHECK(graphics_reader.protocol() == SnapshotProtocol::PacketId);  // AC's own page: no seqlock trailer
    GraphicsPage gr{};
    const SnapshotResult gres = graphics_reader.read(&gr);
    CHECK(gres.ok);
    CHECK_EQ(gres.packet_id, 1);
    CHECK_EQ(gr.status, stand_in::kStatusLive);
    CHECK(text(gr.currentTime) == text(stand_in::kCurrentTime));
    CHECK_EQ(gr.completedLaps, stand_in::kCompletedLaps);
    CHECK_EQ(gr.normalizedCarPosition, stand_in::kNormalizedCarPosition);
    for (int i = 0; i < 3; ++i) CHECK_EQ(gr.carCoordinates[i], stand_in::kCarCoordinates[i]);
    CHECK_EQ(gr.windDirection, stand_in::kWindDirection);

    // 4. Physics while the stand-in publishes steps: every snapshot is checked, ids never go back,
    //    and the step's value matches its id (n, or n + 1 if the next step landed mid-copy).
    PageReader physics_reader(physics_page, PageKind::Physics);
    CHECK(physics_reader.protocol() == SnapshotProtocol::PacketId);
    CHECK_EQ(physics_reader.available_bytes(), kPhysicsSize);
    PhysicsPage ph{};
    std::set<int32_t> ids;
    int32_t last_id = 0;
    int bad_snapshots = 0, id_went_back = 0, value_mismatch = 0;
    const DWORD give_up = GetTickCount() + 20000;
    while (ids.size() < 50 && GetTickCount() < give_up) {
        const SnapshotResult r = physics_reader.read(&ph);
        if (!r.ok) { ++bad_snapshots; continue; }
        if (r.packet_id < last_id) ++id_went_back;
        last_id = r.packet_id;
        if (r.packet_id >= stand_in::kLiveFirstPacketId) {
            ids.insert(r.packet_id);
            if (ph.speedKmh != float(r.packet_id) && ph.speedKmh != float(r.packet_id + 1)) ++value_mismatch;
        }
    }
    CHECK(ids.size() >= 50);  // the page is live and the reader sees it move
    CHECK_EQ(bad_snapshots, 0);
    CHECK_EQ(id_went_back, 0);
    CHECK_EQ(value_mismatch, 0);
    CHECK_EQ(ph.gas, stand_in::kGas);
    CHECK_EQ(ph.brake, stand_in::kBrake);
    CHECK_EQ(ph.gear, stand_in::kGear);
    CHECK_EQ(ph.rpms, stand_in::kRpms);
    CHECK_EQ(ph.steerAngle, stand_in::kSteerAngle);
    for (int i = 0; i < 3; ++i) CHECK_EQ(ph.velocity[i], stand_in::kVelocity[i]);
    CHECK_EQ(ph.heading, stand_in::kHeading);
    for (int i = 0; i < 3; ++i) CHECK_EQ(ph.localVelocity[i], stand_in::kLocalVelocity[i]);
    for (int i = 0; i < 4; ++i) CHECK_EQ(ph.tyreTemp[i], stand_in::kTyreTemp[i]);
    const SnapshotStats& stats = physics_reader.stats();
    std::printf("  reader: %llu physics snapshots, %llu retries, %llu failures, %zu distinct live ids\n",
                (unsigned long long)stats.snapshots, (unsigned long long)stats.retries,
                (unsigned long long)stats.failures, ids.size());
    CloseHandle(missing_checked);
    CloseHandle(pages_ready);
}

int main(int argc, char** argv) {
    bool scenario = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
            const std::string base = argv[++i];
            g_event_base.assign(base.begin(), base.end());
            scenario = true;
        } else {
            std::printf("usage: win_ac_reader.exe [--events <base>]  (unknown argument '%s')\n", argv[i]);
            return 2;
        }
    }
    // Standalone runs the missing-page test; --events runs the writer's scenario.
    auto& tests = ac_test::Registry::get().tests;
    std::vector<std::pair<std::string, std::function<void()>>> selected;
    for (auto& t : tests) {
        if ((t.first.rfind("scenario_", 0) == 0) == scenario) selected.push_back(t);
    }
    tests = selected;
    return ac_test::run_all(scenario ? "wine_ac_reader_scenario" : "wine_ac_reader");
}
