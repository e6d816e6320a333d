// Control feeders: validation/clamping, vJoy encoding and every VJoyFeeder start-up error (against
// the fake DLL table), uinput event encoding (decoded back from a pipe), and the pad feeder.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ac_core/controls/pad.hpp"
#include "ac_core/controls/pad_feeder.hpp"
#include "ac_core/controls/uinput_feeder.hpp"
#include "ac_core/controls/vjoy_fake.hpp"
#include "ac_core/controls/vjoy_feeder.hpp"
#include "check.hpp"
#include "test_util.hpp"

#ifdef __linux__
#include <fcntl.h>
#include <linux/input.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

using namespace ac_core;

namespace {

bool message_has(const std::exception& e, const char* text) { return std::string(e.what()).find(text) != std::string::npos; }

template <typename Fn>
VJoyError::Code vjoy_error_of(Fn&& fn, std::string* message = nullptr) {
    try {
        fn();
    } catch (const VJoyError& e) {
        if (message) *message = e.what();
        return e.code();
    }
    return VJoyError::Code(-1);
}

using ac_test::unique_prefix;

}  // namespace

AC_TEST(sanitize_clamps_and_counts) {
    FeederStats stats;
    ControlInput in{1.5, -0.2, 0.5, 2.0, 0x1FF};
    const ControlInput out = sanitize_controls(in, stats);
    CHECK_EQ(out.steer, 1.0);
    CHECK_EQ(out.throttle, 0.0);
    CHECK_EQ(out.brake, 0.5);
    CHECK_EQ(out.clutch, 1.0);
    CHECK_EQ(out.buttons, 0xFFu);  // only 8 buttons exist
    CHECK_EQ(stats.clamped_values, uint64_t(3));
}

AC_TEST(nan_and_infinity_are_rejected_naming_the_field) {
    FeederStats stats;
    try {
        sanitize_controls(ControlInput{0.0, std::nan(""), 0.0, 0.0, 0}, stats);
        CHECK(false);
    } catch (const ControlError& e) {
        CHECK(message_has(e, "throttle"));
        CHECK(message_has(e, "NaN"));
    }
    CHECK_THROWS(sanitize_controls(ControlInput{std::numeric_limits<double>::infinity(), 0, 0, 0, 0}, stats));
    CHECK_EQ(stats.rejected, uint64_t(2));
}

AC_TEST(vjoy_scaling_hits_the_ends_and_the_centre) {
    const VJoyAxisRange r{0, 32767};
    CHECK_EQ(vjoy_scale_bipolar(-1.0, r), 0);
    CHECK_EQ(vjoy_scale_bipolar(1.0, r), 32767);
    CHECK_EQ(vjoy_scale_bipolar(0.0, r), 16384);  // 16383.5 rounds away from zero
    CHECK_EQ(vjoy_scale_unipolar(0.0, r), 0);
    CHECK_EQ(vjoy_scale_unipolar(1.0, r), 32767);
    const VJoyAxisRange sdk{1, 0x8000};
    CHECK_EQ(vjoy_scale_bipolar(-1.0, sdk), 1);
    CHECK_EQ(vjoy_scale_bipolar(1.0, sdk), 0x8000);
}

AC_TEST(vjoy_encoding_fills_the_mapped_fields_and_buttons) {
    JoystickPositionV2 pos{};
    VJoyRanges ranges;
    ranges.steer = ranges.throttle = ranges.brake = ranges.clutch = VJoyAxisRange{0, 1000};
    encode_vjoy(ControlInput{0.5, 0.25, 1.0, 0.0, kPadGearUp | kPadDrsToggle}, VJoyAxisMap{}, ranges, 8, pos);
    CHECK_EQ(pos.wAxisX, 750);
    CHECK_EQ(pos.wAxisY, 250);
    CHECK_EQ(pos.wAxisZ, 1000);
    CHECK_EQ(pos.wAxisXRot, 0);
    CHECK_EQ(pos.lButtons, int32_t(kPadGearUp | kPadDrsToggle));
    encode_vjoy(ControlInput{0, 0, 0, 0, 0xFF}, VJoyAxisMap{}, ranges, 3, pos);
    CHECK_EQ(pos.lButtons, 0x7);  // a device with 3 buttons gets only 3
    // Byte-level check of the layout the driver reads: wAxisX at 16, lButtons at 76.
    uint8_t raw[sizeof pos];
    std::memcpy(raw, &pos, sizeof pos);
    int32_t x, buttons;
    std::memcpy(&x, raw + 16, 4);
    std::memcpy(&buttons, raw + 76, 4);
    CHECK_EQ(x, 500);
    CHECK_EQ(buttons, 0x7);
}

AC_TEST(vjoy_feeder_writes_everything_with_one_update) {
    fake_vjoy_reset();
    fake_vjoy_state().axis_min = 0;
    fake_vjoy_state().axis_max = 32767;
    {
        VJoyFeeder feeder(fake_vjoy_api(), 1);
        CHECK_EQ(fake_vjoy_state().acquired_device, 1u);
        CHECK_EQ(feeder.ranges().steer.max, 32767);
        CHECK_EQ(feeder.button_count(), 8u);
        feeder.write(ControlInput{-1.0, 1.0, 0.0, 0.5, kPadGearDown});
        CHECK_EQ(fake_vjoy_state().update_calls, uint64_t(1));
        CHECK_EQ(fake_vjoy_state().set_axis_calls, uint64_t(0));
        CHECK_EQ(fake_vjoy_state().position.bDevice, 1);
        CHECK_EQ(fake_vjoy_state().position.wAxisX, 0);
        CHECK_EQ(fake_vjoy_state().position.wAxisY, 32767);
        CHECK_EQ(fake_vjoy_state().position.wAxisXRot, 16384);
        CHECK_EQ(fake_vjoy_state().position.lButtons, int32_t(kPadGearDown));
        CHECK_THROWS(feeder.write(ControlInput{0, 0, std::nan(""), 0, 0}));
        CHECK_EQ(fake_vjoy_state().update_calls, uint64_t(1));  // the NaN never went out
        CHECK_EQ(feeder.stats().rejected, uint64_t(1));
    }
    // The destructor centres the wheel, lifts the pedals and gives the device back.
    CHECK_EQ(fake_vjoy_state().acquired_device, 0u);
    CHECK_EQ(fake_vjoy_state().position.wAxisY, 0);
    CHECK_EQ(fake_vjoy_state().position.wAxisX, 16384);
}

AC_TEST(vjoy_feeder_start_up_errors_say_what_to_do) {
    std::string msg;
    fake_vjoy_reset();
    fake_vjoy_state().enabled = false;
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 1); }, &msg) == VJoyError::Code::DriverDisabled);
    CHECK(msg.find("Configure vJoy") != std::string::npos);

    fake_vjoy_reset();
    fake_vjoy_state().dll_version = 0x0218;
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 1); }, &msg) == VJoyError::Code::VersionMismatch);
    CHECK(msg.find("0x0218") != std::string::npos && msg.find("0x0219") != std::string::npos);

    fake_vjoy_reset();
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 2); }, &msg) == VJoyError::Code::DeviceMissing);
    CHECK(msg.find("device 2") != std::string::npos);
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 17); }) == VJoyError::Code::DeviceMissing);

    fake_vjoy_reset();
    fake_vjoy_state().status = kVjdBusy;
    fake_vjoy_state().owner_pid = 4242;
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 1); }, &msg) == VJoyError::Code::DeviceBusy);
    CHECK(msg.find("pid 4242") != std::string::npos);

    fake_vjoy_reset();
    fake_vjoy_state().axis_mask = 0x03;  // X and Y only: no brake axis
    CHECK(vjoy_error_of([] { VJoyFeeder f(fake_vjoy_api(), 1); }, &msg) == VJoyError::Code::AxisMissing);
    CHECK(msg.find("Z axis") != std::string::npos);
    CHECK_EQ(fake_vjoy_state().acquired_device, 0u);  // released again after the failed start

    fake_vjoy_reset();
    VJoyApi incomplete = fake_vjoy_api();
    incomplete.UpdateVJD = nullptr;
    CHECK(vjoy_error_of([&] { VJoyFeeder f(incomplete, 1); }, &msg) == VJoyError::Code::MissingExport);
    CHECK(msg.find("UpdateVJD") != std::string::npos);

    fake_vjoy_reset();
    VJoyFeeder feeder(fake_vjoy_api(), 1);
    fake_vjoy_state().fail_update = true;
    CHECK(vjoy_error_of([&] { feeder.write(ControlInput{}); }) == VJoyError::Code::UpdateFailed);
    fake_vjoy_state().fail_update = false;
}

AC_TEST(vjoy_library_reports_a_missing_dll) {
    std::string msg;
    CHECK(vjoy_error_of([] { VJoyLibrary::load("/nonexistent/vJoyInterface.dll"); }, &msg) ==
          VJoyError::Code::NotInstalled);
    CHECK(msg.find("vJoyInterface.dll") != std::string::npos);
}

AC_TEST(uinput_frame_has_four_axes_changed_buttons_and_a_syn_report) {
    using namespace input_codes;
    UinputLayout layout;
    UinputEvent ev[kMaxUinputFrameEvents];
    std::size_t n = encode_uinput_frame(ControlInput{-1.0, 0.5, 1.0, 0.0, kPadGearUp}, layout, 0, true, ev);
    CHECK_EQ(n, std::size_t(4 + 8 + 1));  // first frame: every button
    CHECK(ev[0].type == kEvAbs && ev[0].code == kAbsX && ev[0].value == -32767);
    CHECK(ev[1].code == kAbsY && ev[1].value == 16384);
    CHECK(ev[2].code == kAbsZ && ev[2].value == 32767);
    CHECK(ev[3].code == kAbsRx && ev[3].value == 0);
    CHECK(ev[4].type == kEvKey && ev[4].code == kBtnTrigger && ev[4].value == 1);
    CHECK(ev[5].code == 0x121 && ev[5].value == 0);
    CHECK(ev[n - 1].type == kEvSyn && ev[n - 1].code == kSynReport);
    n = encode_uinput_frame(ControlInput{0, 0, 0, 0, kPadGearDown}, layout, kPadGearUp, false, ev);
    CHECK_EQ(n, std::size_t(4 + 2 + 1));  // only the two buttons that changed
    CHECK(ev[0].value == 0);              // steer centre
    CHECK(ev[4].code == kBtnTrigger && ev[4].value == 0);
    CHECK(ev[5].code == 0x121 && ev[5].value == 1);
}

#ifdef __linux__
AC_TEST(uinput_feeder_sends_one_write_per_call_decoded_from_a_pipe) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    {
        auto feeder = UinputFeeder::attach_fd(fds[1]);
        feeder->write(ControlInput{1.0, 0.0, 0.25, 0.0, 0});
        input_event records[32];
        const ssize_t got = read(fds[0], records, sizeof records);
        CHECK_EQ(got, ssize_t(13 * sizeof(input_event)));
        CHECK(records[0].type == EV_ABS && records[0].code == ABS_X && records[0].value == 32767);
        CHECK(records[2].type == EV_ABS && records[2].code == ABS_Z && records[2].value == 8192);
        CHECK(records[12].type == EV_SYN && records[12].code == SYN_REPORT);
        feeder->write(ControlInput{0.0, 0.0, 0.0, 0.0, 0});  // no button changed: 4 axes + SYN
        CHECK_EQ(read(fds[0], records, sizeof records), ssize_t(5 * sizeof(input_event)));
        CHECK_THROWS(feeder->write(ControlInput{0.0, std::nan(""), 0.0, 0.0, 0}));
        CHECK_EQ(feeder->stats().writes, uint64_t(2));
    }
    close(fds[0]);
    close(fds[1]);  // attach_fd never owns the descriptor
}

AC_TEST(uinput_errors_say_what_is_wrong) {
    try {
        UinputFeeder f("/nonexistent/uinput");
        CHECK(false);
    } catch (const UinputError& e) {
        CHECK(message_has(e, "modprobe uinput"));
    }
    char path[] = "/tmp/ac_core_not_uinput_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    try {
        UinputFeeder f(path);
        CHECK(false);
    } catch (const UinputError& e) {
        CHECK(message_has(e, "not a uinput device"));
    }
    unlink(path);
}
#endif

AC_TEST(pad_feeder_creates_the_page_and_the_sim_side_reads_it) {
    const std::string prefix = unique_prefix("padfeeder");
    {
        PadFeeder feeder(prefix);
        CHECK(feeder.page_name() == prefix + "pad");
        feeder.write(ControlInput{0.5, 0.8, 0.0, 0.0, kPadRestartSession});
        PadLink link(prefix, 0.0);
        PadSnapshot snap;
        CHECK(link.poll(snap));
        CHECK_EQ(snap.sequence, 1u);
        CHECK_NEAR(snap.controls.steer, 0.5, 1e-7);
        CHECK_NEAR(snap.controls.throttle, 0.8, 1e-7);
        CHECK_EQ(snap.controls.buttons, uint32_t(kPadRestartSession));
        link.store_applied(snap.sequence, 77);
        CHECK_EQ(feeder.applied().packet_id, 77);
        CHECK_THROWS(PadFeeder(prefix, 0600, false));  // one feeder per page
        feeder.close();
        CHECK(!link.poll(snap));  // the feeder detached: the sim stops applying its controls
        CHECK_THROWS(feeder.write(ControlInput{}));
    }
    CHECK(!SharedPage::exists(pad_page_name(prefix)));
}

AC_TEST(pad_feeder_never_replaces_a_live_feeders_page) {
    const std::string prefix = unique_prefix("padlive");
    PadFeeder first(prefix);
    try {
        PadFeeder second(prefix);  // replace_stale=true, but the writer (this process) is alive
        CHECK(false);
    } catch (const SharedPageError& e) {
        CHECK(e.code() == SharedPageError::Code::AlreadyExists);
#ifndef _WIN32
        // POSIX checks the writer's pid; on Windows a named mapping dies with its last handle, so
        // the mapping's own "already exists" error is the one raised.
        CHECK(message_has(e, "live feeder"));
#endif
    }
    first.write(ControlInput{0.0, 0.3, 0.0, 0.0, 0});
    first.close();
    PadFeeder third(prefix);  // the page is gone after a clean close
    CHECK_EQ(third.sequence(), 0u);
}

#ifdef __linux__
AC_TEST(pad_feeder_replaces_the_page_of_a_crashed_feeder) {
    const std::string prefix = unique_prefix("padstale");
    const std::string os = SharedPage::os_name(pad_page_name(prefix));
    {
        // What a crashed feeder leaves: an initialised page whose writer pid no longer exists.
        const int fd = shm_open(os.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        CHECK(fd >= 0);
        CHECK(ftruncate(fd, off_t(kPadPageSize)) == 0);
        void* mem = mmap(nullptr, kPadPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(mem != MAP_FAILED);
        auto* page = static_cast<PadPage*>(mem);
        page->magic = kPadMagic;
        page->writer_pid = 0x7FFFFFF0u;  // beyond pid_max: certainly not running
        munmap(mem, kPadPageSize);
        close(fd);
    }
    PadFeeder feeder(prefix);
    feeder.write(ControlInput{0.1, 0.2, 0.0, 0.0, 0});
    CHECK_EQ(feeder.sequence(), 1u);
    feeder.close();
    CHECK(!SharedPage::exists(pad_page_name(prefix)));
}
#endif

AC_TEST_MAIN("feeders")
