// CSP Custom AI: page layouts against a table written from the research file, page names, checked
// reads, the session against the simulator's CSP side (controls, buttons, teleports, pause-stepping,
// time scale, heartbeat stall guard), the watchdog, and each error.
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "ac_core/core/clock.hpp"
#include "ac_core/csp/feeder.hpp"
#include "ac_core/csp/page_io.hpp"
#include "ac_core/csp/pages.hpp"
#include "ac_core/csp/session.hpp"
#include "ac_core/csp/watchdog.hpp"
#include "ac_core/core/shared_page.hpp"
#include "ac_core/sim/realtime_runner.hpp"
#include "ac_core/track/track.hpp"
#include "check.hpp"
#include "test_util.hpp"

using namespace ac_core;

namespace {

struct Expected {
    const char* name;
    uint32_t offset;
    uint32_t size;
};

// Written from research/csp_custom_ai.md §4 (offsets computed there with natural alignment), not
// from the structs.
constexpr Expected kControls[] = {
    {"gas", 0, 4}, {"brake", 4, 4}, {"clutch", 8, 4}, {"steer", 12, 4}, {"handbrake", 16, 4}, {"gear_up", 20, 1},
    {"gear_dn", 21, 1}, {"drs", 22, 1}, {"kers", 23, 1}, {"brake_balance_up", 24, 1}, {"brake_balance_dn", 25, 1},
    {"abs_up", 26, 1}, {"abs_dn", 27, 1}, {"tc_up", 28, 1}, {"tc_dn", 29, 1}, {"turbo_up", 30, 1},
    {"turbo_dn", 31, 1}, {"engine_brake_up", 32, 1}, {"engine_brake_dn", 33, 1}, {"mguk_delivery_up", 34, 1},
    {"mguk_delivery_dn", 35, 1}, {"mguk_recovery_up", 36, 1}, {"mguk_recovery_dn", 37, 1}, {"mguh_mode", 38, 1},
    {"headlights", 39, 1}, {"teleport_to", 40, 1}, {"autoclutch_on_start", 41, 1}, {"autoclutch_on_change", 42, 1},
    {"autoblip_active", 43, 1}, {"teleport_pos", 44, 12}, {"teleport_dir", 56, 12}, {"autoshift_active", 68, 1},
};
constexpr Expected kCar[] = {
    {"packet_id", 0, 4}, {"gas", 4, 4}, {"brake", 8, 4}, {"clutch", 12, 4}, {"steer", 16, 4}, {"handbrake", 20, 4},
    {"fuel", 24, 4}, {"gear", 28, 4}, {"rpm", 32, 4}, {"speed_kmh", 36, 4}, {"velocity", 40, 12}, {"acc_g", 52, 12},
    {"look", 64, 12}, {"up", 76, 12}, {"position", 88, 12}, {"local_velocity", 100, 12},
    {"local_angular_velocity", 112, 12}, {"cg_height", 124, 4}, {"car_damage", 128, 20}, {"wheels", 148, 480},
    {"turbo_boost", 628, 4}, {"final_ff", 632, 4}, {"final_pure_ff", 636, 4}, {"pit_limiter", 640, 1},
    {"abs_in_action", 641, 1}, {"traction_control_in_action", 642, 1}, {"lap_time_ms", 644, 4},
    {"best_lap_time_ms", 648, 4}, {"drivetrain_torque", 652, 4}, {"spline_position", 656, 4},
    {"collision_depth", 660, 4}, {"collision_counter", 664, 4}, {"wheels_valid_surface", 668, 4},
};
constexpr Expected kWheel[] = {
    {"position", 0, 12}, {"contact_point", 12, 12}, {"contact_normal", 24, 12}, {"look", 36, 12}, {"side", 48, 12},
    {"velocity", 60, 12}, {"slip_ratio", 72, 4}, {"load", 76, 4}, {"pressure", 80, 4}, {"angular_velocity", 84, 4},
    {"wear", 88, 4}, {"dirty_level", 92, 4}, {"core_temperature", 96, 4}, {"camber_rad", 100, 4},
    {"disc_temperature", 104, 4}, {"slip", 108, 4}, {"slip_angle_deg", 112, 4}, {"nd_slip", 116, 4},
};
constexpr Expected kPublic[] = {
    {"packet_id", 0, 4}, {"steer", 4, 4}, {"rpm", 8, 4}, {"spline_position", 12, 4}, {"speed_kmh", 16, 4},
    {"velocity", 20, 12}, {"acc_g", 32, 12}, {"look", 44, 12}, {"up", 56, 12}, {"position", 68, 12},
    {"car_damage", 80, 20}, {"is_braking", 100, 1},
};
constexpr Expected kSimState[] = {
    {"pause", 0, 1}, {"restart_session", 1, 1}, {"disable_collisions", 2, 1}, {"extra_sleep_ms", 3, 1},
    {"time_scale", 4, 4},
};

template <std::size_t N>
void check_table(const Expected (&expected)[N], const CspFieldInfo* fields, std::size_t count) {
    CHECK_EQ(count, N);
    for (std::size_t i = 0; i < N && i < count; ++i) {
        if (std::strcmp(fields[i].name, expected[i].name) != 0) {
            std::printf("  field %zu: '%s', expected '%s'\n", i, fields[i].name, expected[i].name);
            CHECK(false);
        }
        CHECK_EQ(fields[i].offset, expected[i].offset);
        CHECK_EQ(fields[i].byte_size(), expected[i].size);
    }
}

// The built-in simulator serving CSP pages in a thread, as `ac-core sim --protocol csp` does.
struct SimThread {
    std::unique_ptr<sim::RealtimeRunner> runner;
    std::thread thread;
    std::atomic<bool> stop{false};

    explicit SimThread(const std::string& prefix, const std::string& lap_start = "flying") {
        sim::SimOptions so;
        so.lap_start = lap_start;
        sim::RunnerOptions ro;
        ro.prefix = prefix;
        ro.pad = false;
        ro.csp = true;
        ro.csp_prefix = prefix;
        runner = std::make_unique<sim::RealtimeRunner>(builtin_track("spa"), sim::VehicleParams{}, so, ro);
        thread = std::thread([this] {
            while (!stop.load()) runner->run_for(0.02);
        });
    }
    ~SimThread() { join(); }
    void join() {
        stop.store(true);
        runner->stop();
        if (thread.joinable()) thread.join();
    }
};

CspSessionOptions session_options(const std::string& prefix) {
    CspSessionOptions o;
    o.prefix = prefix;
    return o;
}

}  // namespace

AC_TEST(layouts_match_the_documented_offsets) {
    check_table(kControls, kCspControlsFields, std::size(kCspControlsFields));
    check_table(kCar, kCspCarFields, std::size(kCspCarFields));
    check_table(kWheel, kCspWheelFields, std::size(kCspWheelFields));
    check_table(kPublic, kCspCarPublicFields, std::size(kCspCarPublicFields));
    check_table(kSimState, kCspSimStateV1Fields, std::size(kCspSimStateV1Fields));
    CHECK_EQ(sizeof(CspCarControls), std::size_t(72));
    CHECK_EQ(sizeof(CspCarData), std::size_t(672));
    CHECK_EQ(sizeof(CspCarPublicData), std::size_t(104));
    CHECK_EQ(sizeof(CspSimStateV0), std::size_t(4));
    CHECK_EQ(sizeof(CspSimStateV1), std::size_t(8));
    CHECK_EQ(csp_page_spec(CspPageKind::SimStateV0).size, std::size_t(4));
}

AC_TEST(page_names_follow_csp) {
    CHECK(csp_page_name(CspPageKind::CarControls, 0) == std::string("AcTools.CSP.NewBehaviour.CustomAI.CarControls0.v0"));
    CHECK(csp_page_name(CspPageKind::Car, 12) == std::string("AcTools.CSP.NewBehaviour.CustomAI.Car12.v0"));
    CHECK(csp_page_name(CspPageKind::CarPublic, 1, "p_") == std::string("p_AcTools.CSP.NewBehaviour.CustomAI.CarPublic1.v0"));
    CHECK(csp_page_name(CspPageKind::SimStateV0, 5) == std::string("AcTools.CSP.NewBehaviour.CustomAI.SimState.v0"));
    CHECK(csp_page_name(CspPageKind::SimStateV1) == std::string("AcTools.CSP.NewBehaviour.CustomAI.SimState.v1"));
    CHECK_THROWS(csp_page_name(CspPageKind::Car, -1));
}

AC_TEST(reader_uses_packet_id_on_foreign_pages_and_seqlock_on_ours) {
    alignas(64) static uint8_t foreign[kCspCarSize];
    std::memset(foreign, 0, sizeof foreign);
    CspCarData d{};
    d.packet_id = 41;
    d.speed_kmh = 123.5f;
    d.lap_time_ms = 61234;
    std::memcpy(foreign, &d, sizeof d);
    CspPageReader reader(foreign, sizeof foreign, CspPageKind::Car);
    CHECK(!reader.seqlocked());
    CspCarData out{};
    CspReadResult r = reader.read(&out);
    CHECK(r.ok);
    CHECK_EQ(r.packet_id, 41);
    CHECK_EQ(out.speed_kmh, 123.5f);
    CHECK_EQ(out.lap_time_ms, 61234u);
    CHECK_THROWS(CspPageReader(foreign, 100, CspPageKind::Car));

    alignas(64) static uint8_t own[kCspOwnPageSize];
    std::memset(own, 0, sizeof own);
    CspPageWriter writer(own, sizeof own, CspPageKind::Car);
    d.packet_id = 42;
    writer.publish(&d);
    CspPageReader own_reader(own, sizeof own, CspPageKind::Car);
    CHECK(own_reader.seqlocked());
    r = own_reader.read(&out);
    CHECK(r.ok && r.packet_id == 42);
    CHECK_EQ(own_reader.packet_id(), 42);
    writer.detach();
    CHECK(!own_reader.seqlocked());
    CHECK_THROWS(CspPageWriter(own, 1024, CspPageKind::Car));
}

AC_TEST(session_without_csp_names_the_three_reasons) {
    const std::string prefix = ac_test::unique_prefix("cspnf");
    CspSession s(session_options(prefix));
    {
        // The controls page exists (CSP would now take the car), with safe values. (The handle is
        // closed at the end of this block: on Windows it would keep the section alive.)
        SharedPage controls = SharedPage::open_existing(s.page_name(CspPageKind::CarControls));
        CspCarControls c{};
        CspPageReader(controls.data(), controls.size(), CspPageKind::CarControls).read(&c);
        CHECK_EQ(c.brake, 1.0f);
        CHECK_EQ(c.gas, 0.0f);
        CHECK_EQ(int(c.autoclutch_on_start), 1);
        CHECK_EQ(int(c.autoshift_active), 1);
    }
    CHECK(SharedPage::exists(s.page_name(CspPageKind::SimStateV1)));
    bool thrown = false;
    try {
        s.wait_for_car(0.1);
    } catch (const CspError& e) {
        thrown = e.code() == CspError::Code::CarNotFound;
        const std::string m = e.what();
        CHECK(m.find("new_behaviour.ini") != std::string::npos);
        CHECK(m.find("surfaces.ini") != std::string::npos);
        CHECK(m.find("cannot be controlled") != std::string::npos);
    }
    CHECK(thrown);
    CHECK_THROWS(s.read_car(*std::make_unique<CspCarData>()));
    CHECK_THROWS(s.write_drive(CspDrive{std::nanf(""), 0, 0, 1, 0}));
    CHECK_THROWS(s.set_control_byte("teleport_to", 1));
    CHECK_THROWS(s.set_control_byte("no_such_button", 1));
    CHECK_THROWS(s.set_control_byte("drs", 2));
    CHECK_THROWS(s.set_extra_sleep_ms(256));
    CHECK_THROWS(s.set_time_scale(0.0f));
    s.close();
    CHECK(s.closed());
    CHECK(!SharedPage::exists(s.page_name(CspPageKind::CarControls)));
    CHECK_THROWS(s.write_drive(CspDrive{}));

    CspSessionOptions v0 = session_options(prefix);
    v0.sim_state_version = 0;
    CspSession old(v0);
    CHECK(SharedPage::exists(old.page_name(CspPageKind::SimStateV0)));
    CHECK_THROWS(old.set_time_scale(2.0f));
    CspSessionOptions bad = session_options(prefix);
    bad.sim_state_version = 2;
    CHECK_THROWS(CspSession{bad});
}

AC_TEST(controls_buttons_and_pause_stepping_through_the_simulator) {
    const std::string prefix = ac_test::unique_prefix("cspsim");
    SimThread sim(prefix);
    auto session = std::make_shared<CspSession>(session_options(prefix));
    session->wait_for_car(5.0);
    // Slow time (30 ms ticks) leaves the pause a wide window even under sanitizers on a loaded machine.
    session->set_time_scale(0.1f);
    session->write_drive(CspDrive{0.25f, 0.8f, 0.0f, 1.0f, 0.0f});
    for (int i = 0; i < 4; ++i) {
        const CspStepResult r = session->step_paused(3, 5.0);
        CHECK_EQ(r.ticks, 3u);
        const int32_t frozen = session->packet_id();
        sleep_ns(70'000'000);  // paused: no tick in over 2 tick periods
        CHECK_EQ(session->packet_id(), frozen);
    }
    CspCarData car{};
    CHECK(session->read_car(car).ok);
    CHECK(car.gas > 0.7f);
    CHECK(car.steer > 0.0f);  // + = right, in degrees
    CHECK(session->press_button("drs", 2, 5.0).ticks >= 3u);
    // the feeder's clutch is the pedal
    CspFeeder feeder(session);
    feeder.write(ControlInput{-0.5, 0.3, 0.1, 0.0, 0});
    CHECK_EQ(session->staged_drive().clutch, 1.0f);
    CHECK_EQ(session->staged_drive().steer, -0.5f);
    session->step_paused(2, 5.0);
    session->close();
    sleep_ns(100'000'000);  // the simulator reads the pages once per tick period
    sim.join();
    const sim::CspServerStats& st = sim.runner->csp()->stats();
    CHECK(st.attaches >= 1u);
    std::size_t drs = 0;
    while (std::string(kCspControlsFields[drs].name) != "drs") ++drs;
    CHECK_EQ(st.edges[drs], 1u);
    CHECK_EQ(st.last_controls.brake, 1.0f);  // close() left the car braking
    CHECK_EQ(st.last_controls.gas, 0.0f);
    CHECK_EQ(st.last_sim_state.time_scale, 1.0f);
}

AC_TEST(teleports_move_the_car_and_restore_the_pause) {
    const std::string prefix = ac_test::unique_prefix("csptp");
    SimThread sim(prefix);
    CspSession session(session_options(prefix));
    session.wait_for_car(5.0);
    session.set_time_scale(4.0f);
    session.set_paused(true);
    auto track = builtin_track("spa");
    double x, z, y;
    track->position(2000.0, 0.0, x, z, y);
    const double h = track->heading(2000.0);
    const float pos[3] = {float(x), float(y), float(z)};
    const float dir[3] = {float(std::sin(h)), 0.0f, float(std::cos(h))};
    session.teleport(pos, dir, 5.0);
    CHECK(session.paused());
    CspCarData car{};
    CHECK(session.read_car(car).ok);
    CHECK(std::hypot(double(car.position[0]) - x, double(car.position[2]) - z) < 1.0);
    CHECK(car.speed_kmh < 2.0f);
    CHECK(double(car.look[0]) * dir[0] + double(car.look[2]) * dir[2] > 0.99);
    session.teleport_to_pits(5.0);
    const float zero[3] = {0, 0, 0};
    CHECK_THROWS(session.teleport(pos, zero, 1.0));
    // A position far off the track cannot be reached: the car lands on the track, not there.
    const float far[3] = {float(x) + 5000.0f, float(y), float(z) + 5000.0f};
    bool not_moved = false;
    try {
        session.teleport(far, dir, 0.3);
    } catch (const CspError& e) {
        not_moved = e.code() == CspError::Code::NotMoved;
    }
    CHECK(not_moved);
    session.close();
    sim.join();
    CHECK_EQ(sim.runner->csp()->stats().teleports_position, 2u);
    CHECK_EQ(sim.runner->csp()->stats().teleports_pits, 1u);
}

AC_TEST(heartbeat_brakes_a_stalled_caller_and_wait_ticks_runs_real_time) {
    const std::string prefix = ac_test::unique_prefix("csphb");
    SimThread sim(prefix);
    CspSessionOptions o = session_options(prefix);
    o.heartbeat_interval_s = 0.01;
    o.stall_timeout_s = 0.1;
    CspSession session(o);
    session.wait_for_car(5.0);
    session.set_time_scale(2.0f);
    session.write_drive(CspDrive{0.0f, 1.0f, 0.0f, 1.0f, 0.0f});
    const CspStepResult a = session.wait_ticks(5, 5.0);
    CHECK(a.ticks >= 5u);
    const uint32_t beat = session.heartbeat();
    sleep_ns(400'000'000);  // the caller "hangs" with the throttle open
    CHECK(session.heartbeat() > beat);
    CHECK(session.stats().stall_brakes >= 1u);
    SharedPage controls = SharedPage::open_existing(session.page_name(CspPageKind::CarControls));
    CspCarControls c{};
    CspPageReader(controls.data(), controls.size(), CspPageKind::CarControls).read(&c);
    CHECK_EQ(c.gas, 0.0f);
    CHECK_EQ(c.brake, 1.0f);
    session.write_drive(CspDrive{0.0f, 1.0f, 0.0f, 1.0f, 0.0f});  // the next write takes over again
    CspPageReader(controls.data(), controls.size(), CspPageKind::CarControls).read(&c);
    CHECK_EQ(c.gas, 1.0f);
    session.set_paused(true);  // paused: the page holds safe controls until the next resume
    CspPageReader(controls.data(), controls.size(), CspPageKind::CarControls).read(&c);
    CHECK_EQ(c.gas, 0.0f);
    CHECK_THROWS(session.wait_ticks(1, 1.0));  // real-time waiting needs a running simulation
    session.close();
    sim.join();
}

AC_TEST(watchdog_takes_over_a_silent_session_and_leaves_a_closed_one_alone) {
    const std::string prefix = ac_test::unique_prefix("cspwd");
    const std::string controls_name = csp_page_name(CspPageKind::CarControls, 0, prefix);
    {
        // A "session" whose heartbeat we control: full throttle, then silence.
        SharedPage page = SharedPage::create(controls_name, kCspOwnPageSize);
        SharedPage state = SharedPage::create(csp_page_name(CspPageKind::SimStateV1, 0, prefix), kCspOwnPageSize);
        CspPageWriter writer(page.mutable_data(), page.size(), CspPageKind::CarControls);
        CspPageWriter state_writer(state.mutable_data(), state.size(), CspPageKind::SimStateV1);
        CspCarControls c{};
        c.gas = 1.0f;
        c.steer = 0.4f;
        c.gear_up = 1;
        writer.publish(&c);
        const CspSimStateV1 paused_fast{1, 0, 0, 0, 8.0f};
        state_writer.publish(&paused_fast);
        CspWatchdogOptions o;
        o.prefix = prefix;
        o.timeout_s = 0.1;
        o.poll_s = 0.005;
        o.linger_s = 0.05;
        const CspWatchdogOutcome outcome = run_csp_watchdog(o);
        CHECK(outcome == CspWatchdogOutcome::OwnerStopped);
        CspCarControls after{};
        CspPageReader(page.data(), page.size(), CspPageKind::CarControls).read(&after);
        CHECK_EQ(after.gas, 0.0f);
        CHECK_EQ(after.brake, 1.0f);
        CHECK_EQ(after.steer, 0.0f);
        CHECK_EQ(int(after.gear_up), 1);  // buttons and assists are the session's
        CspSimStateV1 s{};
        CspPageReader(state.data(), state.size(), CspPageKind::SimStateV1).read(&s);
        CHECK_EQ(int(s.pause), 0);
        CHECK_EQ(s.time_scale, 1.0f);
        CHECK(csp_trailer(page.data(), page.size()) == nullptr);  // the watchdog detached
    }
    {
        CspSession session(session_options(prefix));
        std::atomic<int> outcome{-1};
        CspWatchdogOptions o;
        o.prefix = prefix;
        o.timeout_s = 5.0;
        o.poll_s = 0.005;
        std::thread t([&] { outcome = int(run_csp_watchdog(o)); });
        sleep_ns(50'000'000);
        session.close();
        t.join();
        CHECK_EQ(outcome.load(), int(CspWatchdogOutcome::OwnerDetached));
    }
    CspWatchdogOptions missing;
    missing.prefix = ac_test::unique_prefix("cspwdm");
    missing.attach_timeout_s = 0.05;
    missing.poll_s = 0.01;
    CHECK(run_csp_watchdog(missing) == CspWatchdogOutcome::PageMissing);
#ifdef _WIN32
    CHECK(process_alive(uint32_t(_getpid())));
#else
    CHECK(process_alive(uint32_t(getpid())));
#endif
}

AC_TEST_MAIN("test_csp")
