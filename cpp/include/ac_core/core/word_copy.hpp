// Word-wise copies of memory that another thread or process writes concurrently.
//
// A plain memcpy of memory under concurrent writes is a data race in the C++ memory model (and
// ThreadSanitizer says so). Copying 32-bit words with relaxed atomic loads/stores has the same cost
// on x86/ARM (plain moves) and is well-defined; consistency comes from the surrounding protocol
// (packetId check or seqlock), never from the copy itself. All AC pages are multiples of 4 bytes and
// mapped at page-aligned addresses.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ac_core {

inline uint32_t load_word_relaxed(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(static_cast<const uint32_t*>(p), __ATOMIC_RELAXED);
#else
    return *static_cast<const volatile uint32_t*>(p);
#endif
}

inline uint32_t load_word_acquire(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(static_cast<const uint32_t*>(p), __ATOMIC_ACQUIRE);
#else
    uint32_t v = *static_cast<const volatile uint32_t*>(p);  // MSVC volatile loads have acquire semantics
    std::atomic_thread_fence(std::memory_order_acquire);
    return v;
#endif
}

inline void store_word_relaxed(void* p, uint32_t v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(static_cast<uint32_t*>(p), v, __ATOMIC_RELAXED);
#else
    *static_cast<volatile uint32_t*>(p) = v;
#endif
}

inline void store_word_release(void* p, uint32_t v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(static_cast<uint32_t*>(p), v, __ATOMIC_RELEASE);
#else
    std::atomic_thread_fence(std::memory_order_release);
    *static_cast<volatile uint32_t*>(p) = v;
#endif
}

// Copies `bytes` (a multiple of 4) from shared memory to private memory.
inline void copy_words_from_shared(void* dst, const void* src, std::size_t bytes) noexcept {
    auto* d = static_cast<uint32_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    for (std::size_t i = 0; i < bytes / 4; ++i) d[i] = load_word_relaxed(s + 4 * i);
}

// Copies `bytes` (a multiple of 4) from private memory into shared memory.
inline void copy_words_to_shared(void* dst, const void* src, std::size_t bytes) noexcept {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint32_t*>(src);
    for (std::size_t i = 0; i < bytes / 4; ++i) store_word_relaxed(d + 4 * i, s[i]);
}

}  // namespace ac_core
