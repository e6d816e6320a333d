// SpscRing, the seqlock primitives and SeqlockSlot: single-thread semantics, and two-thread stress tests with checksummed
// items (run under ThreadSanitizer): nothing lost that was not counted as dropped, nothing torn.
#include <array>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "ac_core/core/seqlock.hpp"
#include "ac_core/realtime/spsc_ring.hpp"
#include "check.hpp"

using namespace ac_core;

namespace {

// 128 bytes: an index, a checksum and a body derived from the index.
struct Item {
    uint64_t index;
    uint64_t checksum;
    std::array<uint32_t, 28> body;
};

Item make_item(uint64_t index) {
    Item it{};
    it.index = index;
    uint64_t sum = index * 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < it.body.size(); ++i) {
        it.body[i] = uint32_t(index * 31u + i * 7u);
        sum ^= uint64_t(it.body[i]) << (i % 32);
    }
    it.checksum = sum;
    return it;
}

bool item_is_intact(const Item& it) { return make_item(it.index).checksum == it.checksum && make_item(it.index).body == it.body; }

}  // namespace

AC_TEST(capacity_must_be_a_power_of_two) {
    CHECK_THROWS(SpscRing<int>(0));
    CHECK_THROWS(SpscRing<int>(1));
    CHECK_THROWS(SpscRing<int>(6));
    SpscRing<int> ring(8);
    CHECK_EQ(ring.capacity(), std::size_t(8));
}

AC_TEST(fifo_order_full_and_empty) {
    SpscRing<int> ring(4);
    int out = -1;
    CHECK(!ring.try_pop(out));
    for (int i = 0; i < 4; ++i) CHECK(ring.try_push(i));
    CHECK(!ring.try_push(99));  // full: rejected, nothing overwritten
    CHECK_EQ(ring.size(), std::size_t(4));
    for (int i = 0; i < 4; ++i) {
        CHECK(ring.try_pop(out));
        CHECK_EQ(out, i);
    }
    CHECK(!ring.try_pop(out));
    CHECK(ring.empty());
}

AC_TEST(wraps_around_many_times) {
    SpscRing<uint64_t> ring(8);
    uint64_t next_out = 0;
    for (uint64_t i = 0; i < 1000; ++i) {
        CHECK(ring.try_push(i));
        if (i % 3 == 2) {
            uint64_t v;
            while (ring.try_pop(v)) {
                CHECK_EQ(v, next_out);
                next_out++;
            }
        }
    }
    uint64_t buf[8];
    const std::size_t n = ring.pop_many(buf, 8);
    for (std::size_t i = 0; i < n; ++i) CHECK_EQ(buf[i], next_out + i);
    CHECK_EQ(next_out + n, uint64_t(1000));
}

AC_TEST(pop_many_respects_max) {
    SpscRing<int> ring(16);
    for (int i = 0; i < 10; ++i) ring.try_push(i);
    int buf[4];
    CHECK_EQ(ring.pop_many(buf, 4), std::size_t(4));
    CHECK_EQ(buf[3], 3);
    CHECK_EQ(ring.size(), std::size_t(6));
}

// Producer pushes 2 M checksummed items into a small ring and counts every failed push as a drop
// (the poller's policy); the consumer checks order, integrity and that received + dropped = made.
AC_TEST(two_threads_lose_nothing_uncounted_and_tear_nothing) {
    constexpr uint64_t kItems = 2'000'000;
    SpscRing<Item> ring(256);
    std::atomic<bool> producer_done{false};
    uint64_t dropped = 0;
    std::thread producer([&] {
        for (uint64_t i = 0; i < kItems; ++i) {
            if (!ring.try_push(make_item(i))) dropped++;
        }
        producer_done.store(true, std::memory_order_release);
    });
    uint64_t received = 0, torn = 0, out_of_order = 0, gaps = 0;
    uint64_t expected_next = 0;
    Item batch[32];
    for (;;) {
        const bool done = producer_done.load(std::memory_order_acquire);
        const std::size_t n = ring.pop_many(batch, 32);
        for (std::size_t k = 0; k < n; ++k) {
            const Item& it = batch[k];
            if (!item_is_intact(it)) torn++;
            if (it.index < expected_next) out_of_order++;
            gaps += it.index - expected_next;  // items the producer dropped
            expected_next = it.index + 1;
            received++;
        }
        if (n == 0 && done && ring.empty()) break;
    }
    producer.join();
    gaps += kItems - expected_next;
    CHECK_EQ(torn, uint64_t(0));
    CHECK_EQ(out_of_order, uint64_t(0));
    CHECK_EQ(received + dropped, kItems);
    CHECK_EQ(gaps, dropped);
    std::printf("  ring stress: %llu received, %llu dropped (counted)\n", (unsigned long long)received,
                (unsigned long long)dropped);
}

// A blocking variant: the producer retries until accepted, so every item must arrive.
AC_TEST(two_threads_deliver_everything_when_the_producer_waits) {
    constexpr uint64_t kItems = 1'000'000;
    SpscRing<uint64_t> ring(64);
    std::thread producer([&] {
        for (uint64_t i = 0; i < kItems; ++i)
            while (!ring.try_push(i * 3 + 1)) std::this_thread::yield();
    });
    uint64_t next = 0, wrong = 0, v = 0;
    while (next < kItems) {
        if (ring.try_pop(v)) {
            if (v != next * 3 + 1) wrong++;
            next++;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
    CHECK_EQ(wrong, uint64_t(0));
    CHECK(ring.empty());
}

// The primitives on a bare seq word, as the page writers and readers use them: a reader never
// accepts a copy taken while a write is in progress, nor one that a write overlapped.
AC_TEST(seqlock_primitives_reject_copies_a_write_overlaps) {
    uint32_t seq = 0;
    uint32_t data = 0;
    auto copy = [&](uint32_t& out) { return [&] { out = load_word_relaxed(&data); }; };
    uint32_t got = 99;
    CHECK(seqlock_try_read(&seq, copy(got)));
    CHECK_EQ(got, 0u);

    seqlock_write_begin(&seq);  // a field-by-field write in progress
    store_word_relaxed(&data, 7);
    bool copied = false;
    CHECK(!seqlock_try_read(&seq, [&] { copied = true; }));
    CHECK(!copied);  // an odd seq is refused before any word is read
    const SeqlockReadResult busy = seqlock_read(&seq, copy(got), 3);
    CHECK(!busy.ok);
    CHECK_EQ(busy.retries, 4u);
    seqlock_write_end(&seq);
    CHECK_EQ(seqlock_version(&seq), 1u);

    // A write that lands inside the copy: the re-check sees the new seq and throws the copy away.
    CHECK(!seqlock_try_read(&seq, [&] {
        got = load_word_relaxed(&data);
        seqlock_write(&seq, [&] { store_word_relaxed(&data, 8); });
    }));
    const SeqlockReadResult ok = seqlock_read(&seq, copy(got), 3);
    CHECK(ok.ok);
    CHECK_EQ(ok.retries, 0u);
    CHECK_EQ(got, 8u);
    CHECK_EQ(seqlock_version(&seq), 2u);
}

AC_TEST(seqlock_slot_never_returns_a_torn_value) {
    SeqlockSlot<Item> slot;
    Item out{};
    CHECK_EQ(slot.version(), 0u);
    std::atomic<bool> done{false};
    constexpr uint64_t kWrites = 300'000;
    std::thread writer([&] {
        for (uint64_t i = 1; i <= kWrites; ++i) slot.store(make_item(i));
        done.store(true, std::memory_order_release);
    });
    uint64_t reads = 0, torn = 0, last = 0, backwards = 0;
    while (!done.load(std::memory_order_acquire)) {
        if (!slot.load(out)) continue;
        if (slot.version() == 0 || out.index == 0) continue;
        reads++;
        if (!item_is_intact(out)) torn++;
        if (out.index < last) backwards++;
        last = out.index;
    }
    writer.join();
    CHECK(slot.load(out));
    CHECK_EQ(out.index, kWrites);
    CHECK_EQ(torn, uint64_t(0));
    CHECK_EQ(backwards, uint64_t(0));
    CHECK_EQ(slot.version(), uint32_t(kWrites));
}

AC_TEST_MAIN("ring")
