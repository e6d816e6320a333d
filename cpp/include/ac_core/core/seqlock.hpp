// The seqlock protocol, written once: every seqlocked structure of the project (the poller's latest
// frame, the AC pages' trailer, the CSP pages' trailer, the pad page) calls these primitives.
//
// A seq word guards a block of data with one writer at a time (Boehm 2012, fig. 6):
//   writer: seq odd (relaxed) → release fence → store the data words → seq even (release).
//   reader: seq (acquire), even → copy the data words → acquire fence → seq again (relaxed);
//           the copy counts when the two reads are equal.
// The seq word is a plain uint32_t inside a struct whose layout is fixed (shared memory), accessed
// only through the atomic word operations of word_copy.hpp. Data words are copied with relaxed
// atomics too, so a reader racing a write is well-defined and TSan-clean; the seq check decides
// whether the copy is kept. Readers never block the writer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/word_copy.hpp"

namespace ac_core {

// ---- writer -------------------------------------------------------------------------------------

// Makes `seq` odd: a write is in progress. Data stores after this call are ordered after it.
inline void seqlock_write_begin(uint32_t* seq) noexcept {
    store_word_relaxed(seq, load_word_relaxed(seq) + 1);
    std::atomic_thread_fence(std::memory_order_release);
}

// Makes `seq` even again (release): the data stores before this call are published with it.
inline void seqlock_write_end(uint32_t* seq) noexcept { store_word_release(seq, load_word_relaxed(seq) + 1); }

// One seqlocked write: `store_words()` stores the data (relaxed word stores). It must not throw: a
// write that stopped half-way has to stay marked in progress, never be published as consistent.
template <typename StoreWords>
void seqlock_write(uint32_t* seq, StoreWords&& store_words) noexcept {
    seqlock_write_begin(seq);
    store_words();
    seqlock_write_end(seq);
}

// ---- reader -------------------------------------------------------------------------------------

// One read attempt: true when `copy_words()` (relaxed word loads into private memory) ran entirely
// between two equal, even values of `seq`, i.e. the copy is untorn. No retry, no pause.
template <typename CopyWords>
bool seqlock_try_read(const uint32_t* seq, CopyWords&& copy_words) noexcept {
    const uint32_t s1 = load_word_acquire(seq);
    if ((s1 & 1u) != 0) return false;  // a write is in progress
    copy_words();
    std::atomic_thread_fence(std::memory_order_acquire);
    return load_word_relaxed(seq) == s1;
}

struct SeqlockReadResult {
    bool ok = false;
    uint32_t retries = 0;  // attempts thrown away (raced a write); max_retries + 1 when !ok
};

// Up to 1 + max_retries attempts, pausing the core briefly (cpu_relax) after each failed one.
template <typename CopyWords>
SeqlockReadResult seqlock_read(const uint32_t* seq, CopyWords&& copy_words, uint32_t max_retries) noexcept {
    SeqlockReadResult result;
    for (uint32_t attempt = 0; attempt <= max_retries; ++attempt) {
        if (seqlock_try_read(seq, copy_words)) {
            result.ok = true;
            result.retries = attempt;
            return result;
        }
        cpu_relax();
    }
    result.retries = max_retries + 1;
    return result;
}

// Completed writes so far (0 = never written); a write in progress is not counted.
inline uint32_t seqlock_version(const uint32_t* seq) noexcept { return load_word_acquire(seq) / 2; }

// ---- a slot in process memory -------------------------------------------------------------------

// One value of type T behind a seqlock, in process memory (the poller's "latest frame").
template <typename T>
class SeqlockSlot {
    static_assert(std::is_trivially_copyable_v<T>, "seqlock values are copied word by word");
    static_assert(sizeof(T) % 4 == 0 && alignof(T) >= 4, "seqlock values must be whole 32-bit words");

public:
    // Writer (one thread only).
    void store(const T& value) noexcept {
        seqlock_write(&seq_, [&] { copy_words_to_shared(&value_, &value, sizeof(T)); });
    }

    // Any thread. Returns false only if `max_retries` copies in a row raced a write.
    bool load(T& out, uint32_t max_retries = 1000) const noexcept {
        return seqlock_read(&seq_, [&] { copy_words_from_shared(&out, &value_, sizeof(T)); }, max_retries).ok;
    }

    // Number of completed stores (0 = never written).
    uint32_t version() const noexcept { return seqlock_version(&seq_); }

private:
    // The seq word and the value on separate cache lines: readers polling seq do not share a line
    // with the words the writer is storing.
    alignas(kCacheLine) uint32_t seq_ = 0;
    alignas(kCacheLine) T value_{};
};

}  // namespace ac_core
