// A single-writer seqlock slot holding one value in process memory (the poller's "latest frame").
//
// Writer: seq odd (relaxed) → release fence → store the value word by word → seq even (release).
// Reader: seq (acquire) → copy words → acquire fence → seq again; accept when even and unchanged
// (Boehm 2012, fig. 6). Words are copied with relaxed atomics (word_copy.hpp), so a reader racing a
// write is well-defined and TSan-clean; the seq check decides whether the copy is kept.
// Readers never block the writer; a reader retries while a write is in progress.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/word_copy.hpp"

namespace ac_core {

template <typename T>
class SeqlockSlot {
    static_assert(std::is_trivially_copyable_v<T>, "seqlock values are copied word by word");
    static_assert(sizeof(T) % 4 == 0 && alignof(T) >= 4, "seqlock values must be whole 32-bit words");

public:
    // Writer (one thread only).
    void store(const T& value) noexcept {
        const uint32_t s = seq_.load(std::memory_order_relaxed);
        seq_.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        copy_words_to_shared(&value_, &value, sizeof(T));
        seq_.store(s + 2, std::memory_order_release);
    }

    // Any thread. Returns false only if `max_retries` copies in a row raced a write.
    bool load(T& out, uint32_t max_retries = 1000) const noexcept {
        for (uint32_t attempt = 0; attempt <= max_retries; ++attempt) {
            const uint32_t s1 = seq_.load(std::memory_order_acquire);
            if ((s1 & 1u) == 0) {
                copy_words_from_shared(&out, &value_, sizeof(T));
                std::atomic_thread_fence(std::memory_order_acquire);
                if (seq_.load(std::memory_order_relaxed) == s1) return true;
            }
            cpu_relax();
        }
        return false;
    }

    // Number of completed stores (0 = never written).
    uint32_t version() const noexcept { return seq_.load(std::memory_order_acquire) / 2; }

private:
    alignas(kCacheLine) std::atomic<uint32_t> seq_{0};
    alignas(kCacheLine) T value_{};
};

}  // namespace ac_core
