// Pad page seqlock: round trip, sequence numbering, detach, applied echo, PadLink discovery, and a
// two-thread torture test (run under TSan) that no torn control set is ever accepted.
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ac_core/core/clock.hpp"
#include "ac_core/controls/pad.hpp"
#include "check.hpp"
#include "test_util.hpp"

#ifndef _WIN32
#include <unistd.h>
#endif

using namespace ac_core;

namespace {
struct alignas(64) PadMemory {
    uint8_t bytes[kPadPageSize];
};

using ac_test::unique_prefix;
}  // namespace

AC_TEST(write_then_read_round_trips) {
    PadMemory mem{};
    PadWriter writer(mem.bytes, sizeof mem.bytes);
    PadReader reader(mem.bytes, sizeof mem.bytes);
    PadSnapshot snap;
    CHECK(reader.read(snap) == PadReadStatus::Ok);  // initialised, nothing written yet
    CHECK_EQ(snap.sequence, 0u);
    PadControls c{-0.5f, 0.75f, 0.25f, 1.0f, kPadGearUp | kPadRestartSession};
    CHECK_EQ(writer.write(c, 123456789012345), 1u);
    CHECK(reader.read(snap) == PadReadStatus::Ok);
    CHECK_EQ(snap.sequence, 1u);
    CHECK_EQ(snap.controls.steer, -0.5f);
    CHECK_EQ(snap.controls.throttle, 0.75f);
    CHECK_EQ(snap.controls.brake, 0.25f);
    CHECK_EQ(snap.controls.clutch, 1.0f);
    CHECK_EQ(snap.controls.buttons, uint32_t(kPadGearUp | kPadRestartSession));
    CHECK_EQ(snap.write_time_ns, int64_t(123456789012345));
    CHECK(snap.writer_pid != 0u);
    CHECK_EQ(writer.write(c, 1), 2u);
    const auto* page = reinterpret_cast<const PadPage*>(mem.bytes);
    CHECK_EQ(page->magic, kPadMagic);
    CHECK_EQ(page->seq % 2, 0u);
}

AC_TEST(uninitialised_or_detached_page_has_no_writer) {
    PadMemory mem{};
    PadReader reader(mem.bytes, sizeof mem.bytes);
    PadSnapshot snap;
    CHECK(reader.read(snap) == PadReadStatus::NoWriter);
    PadWriter writer(mem.bytes, sizeof mem.bytes);
    writer.write(PadControls{}, 0);
    CHECK(reader.read(snap) == PadReadStatus::Ok);
    writer.detach();
    CHECK(reader.read(snap) == PadReadStatus::NoWriter);
}

AC_TEST(too_small_memory_is_rejected_with_a_clear_error) {
    PadMemory mem{};
    CHECK_THROWS(PadWriter(mem.bytes, 16));
    CHECK_THROWS(PadReader(nullptr, kPadPageSize));
}

AC_TEST(applied_echo_is_one_store) {
    PadMemory mem{};
    PadWriter writer(mem.bytes, sizeof mem.bytes);
    PadReader reader(mem.bytes, sizeof mem.bytes);
    reader.store_applied(7, -3);
    CHECK_EQ(writer.applied().sequence, 7u);
    CHECK_EQ(writer.applied().packet_id, -3);
    const auto* page = reinterpret_cast<const PadPage*>(mem.bytes);
    CHECK_EQ(page->applied_sequence, 7u);
    CHECK_EQ(page->applied_packet_id, -3);
}

AC_TEST(new_writer_continues_the_sequence) {
    PadMemory mem{};
    {
        PadWriter first(mem.bytes, sizeof mem.bytes);
        first.write(PadControls{}, 0);
        first.write(PadControls{}, 0);
    }
    PadWriter second(mem.bytes, sizeof mem.bytes);
    CHECK_EQ(second.write(PadControls{}, 0), 3u);
}

// Every write stores steer = k, throttle = k + 1, brake = k + 2, clutch = k + 3, buttons = k and
// sequence = k: a reader that accepts a mix of two writes would see the relations broken.
AC_TEST(concurrent_reader_never_sees_a_torn_write) {
    PadMemory mem{};
    PadWriter writer(mem.bytes, sizeof mem.bytes);
    PadReader reader(mem.bytes, sizeof mem.bytes, 1000000);
    std::atomic<bool> done{false};
    constexpr uint32_t kWrites = 200000;
    std::thread producer([&] {
        for (uint32_t k = 1; k <= kWrites; ++k) {
            const float f = float(k % 1000000);
            writer.write(PadControls{f, f + 1, f + 2, f + 3, k}, int64_t(k));
        }
        done.store(true, std::memory_order_release);
    });
    uint64_t torn = 0, ok = 0;
    uint32_t last = 0;
    bool monotonic = true;
    while (!done.load(std::memory_order_acquire) || last < kWrites) {
        PadSnapshot s;
        if (reader.read(s) != PadReadStatus::Ok || s.sequence == 0) continue;  // 0: nothing written yet
        ok++;
        const float f = float(s.controls.buttons % 1000000);
        if (s.controls.steer != f || s.controls.throttle != f + 1 || s.controls.brake != f + 2 ||
            s.controls.clutch != f + 3 || s.sequence != s.controls.buttons || s.write_time_ns != int64_t(s.sequence))
            torn++;
        if (s.sequence < last) monotonic = false;
        last = s.sequence;
    }
    producer.join();
    CHECK_EQ(torn, uint64_t(0));
    CHECK(monotonic);
    CHECK(ok > 0);
    CHECK_EQ(last, kWrites);
}

AC_TEST(link_finds_the_page_follows_it_and_lets_go_when_the_writer_leaves) {
    const std::string prefix = unique_prefix("padlink");
    PadLink link(prefix, 0.0);
    PadSnapshot snap;
    CHECK(!link.poll(snap));  // no page yet
    CHECK(!link.attached());
    {
        SharedPage page = SharedPage::create(pad_page_name(prefix), kPadPageSize, 0600, true);
        PadWriter writer(page.mutable_data(), page.size());
        writer.write(PadControls{0.25f, 0.5f, 0.0f, 0.0f, 0}, steady_now_ns());
        CHECK(link.poll(snap));
        CHECK(link.attached());
        CHECK_EQ(snap.controls.throttle, 0.5f);
        link.store_applied(snap.sequence, 42);
        CHECK_EQ(writer.applied().sequence, snap.sequence);
        CHECK_EQ(writer.applied().packet_id, 42);
        writer.detach();
        CHECK(!link.poll(snap));
        CHECK(!link.attached());
    }
    CHECK(!SharedPage::exists(pad_page_name(prefix)));
}

AC_TEST_MAIN("pad")
