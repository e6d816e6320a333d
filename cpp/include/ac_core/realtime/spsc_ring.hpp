// A bounded lock-free single-producer single-consumer ring (after rigtorp/SPSCQueue).
//
// Invariants:
//  * exactly one thread calls try_push, exactly one (possibly other) thread calls try_pop/front;
//  * head_ (next slot to read) is written only by the consumer, tail_ (next slot to write) only by
//    the producer; both count up forever (uint64_t never wraps in practice) and index slots with
//    `& mask_`, so capacity is a power of two and full/empty need no spare slot;
//  * a slot is written before the producer's release store of tail_ and read after the consumer's
//    acquire load of it, so slot contents need no atomics (and TSan sees the happens-before);
//  * each side keeps a cached copy of the other side's index and re-reads the shared one only when
//    the cache says full/empty: in steady state a push or pop touches no cache line the other
//    thread writes;
//  * head_, tail_ and the two caches live on separate cache lines (no false sharing).
//
// Overflow policy: the ring never overwrites. A push into a full ring fails and the caller counts
// the drop (the telemetry poller counts "dropped" frames and numbers every frame, so a consumer sees
// the gap). Dropping the oldest would need the producer to move head_, which only the consumer owns.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ac_core/core/clock.hpp"

namespace ac_core {

template <typename T>
class SpscRing {
    static_assert(std::is_trivially_copyable_v<T>, "ring slots are copied with plain assignment");

public:
    explicit SpscRing(std::size_t capacity) : capacity_(capacity), mask_(capacity - 1) {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw std::invalid_argument("ring capacity must be a power of two >= 2, got " + std::to_string(capacity));
        slots_.reset(new T[capacity]);
    }

    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    // Producer. Returns false (and stores nothing) when the ring is full.
    bool try_push(const T& value) noexcept {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - producer_head_cache_ >= capacity_) {
            producer_head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - producer_head_cache_ >= capacity_) return false;
        }
        slots_[tail & mask_] = value;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer. Returns false when the ring is empty.
    bool try_pop(T& out) noexcept {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head == consumer_tail_cache_) {
            consumer_tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head == consumer_tail_cache_) return false;
        }
        out = slots_[head & mask_];
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Consumer: pops up to `max` items into `out[0..)`, returns how many. One index update for all.
    std::size_t pop_many(T* out, std::size_t max) noexcept {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        consumer_tail_cache_ = tail_.load(std::memory_order_acquire);
        std::size_t n = std::size_t(consumer_tail_cache_ - head);
        if (n > max) n = max;
        for (std::size_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & mask_];
        head_.store(head + n, std::memory_order_release);
        return n;
    }

    // Either side: items currently queued (a snapshot; exact only when the other side is idle).
    std::size_t size() const noexcept {
        const uint64_t head = head_.load(std::memory_order_acquire);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        return tail >= head ? std::size_t(tail - head) : 0;
    }
    bool empty() const noexcept { return size() == 0; }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    const std::size_t capacity_;
    const uint64_t mask_;
    std::unique_ptr<T[]> slots_;  // its own allocation: never shares a line with the indices
    alignas(kCacheLine) std::atomic<uint64_t> tail_{0};   // producer writes
    uint64_t producer_head_cache_ = 0;                    // producer's view of head_
    alignas(kCacheLine) std::atomic<uint64_t> head_{0};   // consumer writes
    uint64_t consumer_tail_cache_ = 0;                    // consumer's view of tail_
    char padding_[kCacheLine - sizeof(std::atomic<uint64_t>) - sizeof(uint64_t)];
};

}  // namespace ac_core
