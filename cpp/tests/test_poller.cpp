// TelemetryPoller: deterministic poll_once() semantics (new frames, missed packetIds, restarts,
// pauses, dropped frames, graphics snapshot), and a three-thread stress test (seqlocked writer,
// poller thread, consumer) run under ThreadSanitizer: every frame untorn, every gap counted.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "ac_core/core/clock.hpp"
#include "ac_core/realtime/poller.hpp"
#include "check.hpp"

using namespace ac_core;

namespace {

struct alignas(64) PageMemory {
    uint8_t bytes[kBridgePageSize];
};

// A physics page whose fields are all derived from its packetId: a frame mixing two writes shows.
PhysicsPage physics_for(int32_t id) {
    PhysicsPage p{};
    p.packetId = id;
    p.gas = float(id % 1000) / 1000.0f;
    p.speedKmh = float(id % 100000);
    p.rpms = id * 3;
    for (int i = 0; i < 4; ++i) p.wheelSlip[i] = float(id % 5000) + float(i);
    p.tyreTempO[3] = float(id % 7777);
    return p;
}

bool physics_is_consistent(const PhysicsPage& p) {
    const PhysicsPage e = physics_for(p.packetId);
    return std::memcmp(&p, &e, sizeof p) == 0;
}

GraphicsPage graphics_for(int32_t id, int32_t status = 2) {
    GraphicsPage g{};
    g.packetId = id;
    g.status = status;
    g.completedLaps = id;
    return g;
}

PollerConfig fast_config(std::size_t capacity = 64) {
    PollerConfig c;
    c.ring_capacity = capacity;
    c.pause_after_s = 0.02;
    c.stale_after_s = 0.2;
    return c;
}

}  // namespace

AC_TEST(config_errors_name_the_field) {
    PageMemory phys{}, gfx{};
    PollerConfig bad;
    bad.ring_capacity = 1000;
    try {
        TelemetryPoller p(phys.bytes, sizeof phys.bytes, gfx.bytes, sizeof gfx.bytes, bad);
        CHECK(false);
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("ring_capacity") != std::string::npos);
    }
    CHECK_THROWS(TelemetryPoller(phys.bytes, 100, gfx.bytes, sizeof gfx.bytes, PollerConfig{}));
    CHECK_THROWS(TelemetryPoller(nullptr, 0, nullptr, 0, PollerConfig{}));
}

AC_TEST(one_frame_per_new_packet_id_with_gaps_counted) {
    PageMemory phys{}, gfx{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    SeqlockPageWriter gw(gfx.bytes, sizeof gfx.bytes, PageKind::Graphics);
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, gfx.bytes, sizeof gfx.bytes, fast_config());
    PhysicsPage p = physics_for(10);
    GraphicsPage g = graphics_for(5);
    pw.publish(&p);
    gw.publish(&g);
    CHECK(poller.poll_once());   // first sight of the page
    CHECK(!poller.poll_once());  // same packetId: nothing new
    p = physics_for(11);
    pw.publish(&p);
    CHECK(poller.poll_once());
    p = physics_for(14);  // 12 and 13 went by unseen
    pw.publish(&p);
    CHECK(poller.poll_once());
    TelemetryFrame frames[8];
    CHECK_EQ(poller.drain(frames, 8), std::size_t(3));
    CHECK_EQ(frames[0].physics_packet_id, 10);
    CHECK_EQ(frames[0].graphics_packet_id, 5);
    CHECK_EQ(frames[0].graphics.status, 2);
    CHECK_EQ(frames[1].missed_packets, 0u);
    CHECK_EQ(frames[2].physics_packet_id, 14);
    CHECK_EQ(frames[2].missed_packets, 2u);
    CHECK_EQ(frames[2].frame_index, uint64_t(2));
    CHECK(frames[2].time_ns >= frames[1].time_ns);
    CHECK(physics_is_consistent(frames[2].physics));
    TelemetryFrame latest{};
    CHECK(poller.latest(latest));
    CHECK_EQ(latest.physics_packet_id, 14);
    const PollerStats s = poller.stats();
    CHECK_EQ(s.frames, uint64_t(3));
    CHECK_EQ(s.missed_packets, uint64_t(2));
    CHECK_EQ(s.dropped, uint64_t(0));
    CHECK_EQ(s.last_packet_id, 14);
}

AC_TEST(full_ring_drops_new_frames_but_latest_stays_current) {
    PageMemory phys{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, nullptr, 0, fast_config(4));
    for (int32_t id = 1; id <= 10; ++id) {
        PhysicsPage p = physics_for(id);
        pw.publish(&p);
        CHECK(poller.poll_once());
    }
    CHECK_EQ(poller.stats().dropped, uint64_t(6));
    CHECK_EQ(poller.pending(), std::size_t(4));
    TelemetryFrame f{};
    CHECK(poller.pop(f));
    CHECK_EQ(f.physics_packet_id, 1);  // the oldest frames are kept: drops are the newest
    CHECK((f.flags & kFrameGraphicsStale) != 0u);
    CHECK(poller.latest(f));
    CHECK_EQ(f.physics_packet_id, 10);
    CHECK_EQ(f.frame_index, uint64_t(9));
}

AC_TEST(restart_pause_and_resume_are_reported) {
    PageMemory phys{}, gfx{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    SeqlockPageWriter gw(gfx.bytes, sizeof gfx.bytes, PageKind::Graphics);
    GraphicsPage g = graphics_for(1);
    gw.publish(&g);
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, gfx.bytes, sizeof gfx.bytes, fast_config());
    PhysicsPage p = physics_for(500);
    pw.publish(&p);
    CHECK(poller.poll_once());
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // > pause_after (20 ms)
    CHECK(!poller.poll_once());
    CHECK(poller.stats().liveness == Liveness::Paused);
    CHECK_EQ(poller.stats().pauses, uint64_t(1));
    p = physics_for(3);  // the counter went back: a new session
    pw.publish(&p);
    CHECK(poller.poll_once());
    TelemetryFrame f{};
    CHECK(poller.latest(f));
    CHECK((f.flags & kFrameAfterPause) != 0u);
    CHECK_EQ(f.missed_packets, 0u);
    const PollerStats s = poller.stats();
    CHECK_EQ(s.restarts, uint64_t(1));
    CHECK_EQ(s.resumes, uint64_t(1));
    CHECK(s.liveness == Liveness::Live);
}

AC_TEST(wait_for_packet_wakes_on_a_new_frame_and_times_out_otherwise) {
    PageMemory phys{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    PhysicsPage p = physics_for(1);
    pw.publish(&p);
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, nullptr, 0, fast_config());
    poller.start();
    CHECK(poller.wait_for_packet(0, 2.0).value_or(-1) == 1);
    CHECK(!poller.wait_for_packet(1, 0.03).has_value());  // nothing new
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        PhysicsPage q = physics_for(2);
        pw.publish(&q);
    });
    CHECK(poller.wait_for_packet(1, 5.0).value_or(-1) == 2);
    writer.join();
    poller.stop();
    CHECK(!poller.running());
    CHECK(!poller.wait_for_packet(2, -1.0).has_value());  // stopped: never blocks forever
}

// Writer publishes 60k physics pages (seqlocked) at 25 kHz; the poller thread follows; the
// consumer drains. Every frame must be untorn, frame indices and packetIds must account exactly for
// drops and missed packets.
struct StressShape {
    int32_t writes;           // packets the writer publishes
    int64_t pace_ns;          // writer: time between packets
    std::size_t ring;         // ring capacity
    double idle_sleep_s;      // poller: sleep between polls
    int consumer_sleep_ms;    // consumer: sleep between drains (0 = yield only)
};

// Writer, poller and consumer on three threads: seqlocked packets at a given pace.
static void run_poller_stress(const StressShape& shape) {
    const int32_t kWrites = shape.writes;
    const int64_t pace_ns = shape.pace_ns;
    PageMemory phys{};
    SeqlockPageWriter pw(phys.bytes, sizeof phys.bytes, PageKind::Physics);
    PollerConfig cfg = fast_config(shape.ring);
    cfg.spin_s = 0.0;
    cfg.idle_sleep_s = shape.idle_sleep_s;
    cfg.pause_after_s = 1.0;
    cfg.stale_after_s = 5.0;
    TelemetryPoller poller(phys.bytes, sizeof phys.bytes, nullptr, 0, cfg);
    std::atomic<bool> writer_done{false};
    PhysicsPage first = physics_for(1);
    pw.publish(&first);
    poller.start();
    CHECK(poller.wait_for_packet(0, 10.0).value_or(-1) == 1);  // the poller has seen id 1 before the race starts
    std::thread writer([&] {
        for (int32_t id = 2; id <= kWrites; ++id) {
            PhysicsPage p = physics_for(id);
            pw.publish(&p);
            // Far faster than AC's 333 Hz: the poller turns most packets into frames and must count
            // the ones that race past it as missed packetIds.
            sleep_then_spin_until(steady_now_ns() + pace_ns, pace_ns);
        }
        writer_done.store(true, std::memory_order_release);
    });
    std::vector<TelemetryFrame> batch(64);
    uint64_t received = 0, torn = 0, index_gaps = 0, bad_missed = 0, not_increasing = 0;
    uint64_t next_index = 0;
    int32_t last_id = 0;
    auto consume = [&](std::size_t n) {
        for (std::size_t k = 0; k < n; ++k) {
            const TelemetryFrame& f = batch[k];
            if (!physics_is_consistent(f.physics) || f.physics.packetId != f.physics_packet_id) torn++;
            if (f.physics_packet_id <= last_id) not_increasing++;
            if (f.frame_index == next_index && received > 0 &&
                uint32_t(f.physics_packet_id - last_id - 1) != f.missed_packets)
                bad_missed++;  // consecutive frames: the packetId gap must equal missed_packets
            index_gaps += f.frame_index - next_index;
            next_index = f.frame_index + 1;
            last_id = f.physics_packet_id;
            received++;
        }
    };
    uint64_t rounds = 0;
    while (!writer_done.load(std::memory_order_acquire)) {
        consume(poller.drain(batch.data(), batch.size()));
        // The consumer sleeps between drains, and now and then long enough for the ring to fill up.
        if (shape.consumer_sleep_ms > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(++rounds % 64 == 0 ? 8 : shape.consumer_sleep_ms));
        else if (++rounds % 4096 == 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a rare stall: drops happen too
        else
            std::this_thread::yield();
    }
    writer.join();
    poller.wait_for_packet(kWrites - 1, 5.0);
    poller.stop();
    for (std::size_t n; (n = poller.drain(batch.data(), batch.size())) > 0;) consume(n);
    const PollerStats s = poller.stats();
    CHECK_EQ(torn, uint64_t(0));
    CHECK_EQ(not_increasing, uint64_t(0));
    CHECK_EQ(bad_missed, uint64_t(0));
    // Frames dropped after the last one received leave no gap between received indices: count them
    // from the poller's total (a full ring at the very end drops the newest frames).
    const uint64_t tail_drops = s.frames - next_index;
    CHECK_EQ(index_gaps + tail_drops, s.dropped);
    CHECK_EQ(received + s.dropped, s.frames);
    CHECK_EQ(last_id == kWrites || s.dropped > 0, true);
    CHECK_EQ(s.last_packet_id, kWrites);
    // Every packetId is accounted for: made into a frame, or counted as missed.
    CHECK_EQ(s.frames + s.missed_packets, uint64_t(kWrites));
    std::printf("  poller stress: %d packets, %llu frames, %llu received, %llu dropped, %llu missed, %llu torn retries\n",
                kWrites, (unsigned long long)s.frames, (unsigned long long)received, (unsigned long long)s.dropped,
                (unsigned long long)s.missed_packets, (unsigned long long)s.torn_retries);
}

AC_TEST(stress_writer_poller_consumer) {
    run_poller_stress({60'000, 40'000, 32, 0.00001, 1});  // a 25 kHz writer: most packets become frames
}

AC_TEST(stress_a_million_packets) {
    // A million packets at 250 kHz, a spinning poller and a consumer that drains as fast as it can:
    // hundreds of thousands of checksummed frames through the ring, with drops and missed packetIds,
    // every one of them accounted for and nothing torn.
    run_poller_stress({1'000'000, 4'000, 4096, 0.000001, 0});
}

AC_TEST_MAIN("poller")
