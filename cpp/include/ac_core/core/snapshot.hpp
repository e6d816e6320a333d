// Checked snapshots of AC pages, and the seqlocked writer the project's own producers use.
//
// AC writes its pages in place with no lock; `packetId` is the only change indicator. The reader
// copies the page between two packetId reads (acquire) and retries when they differ. That catches
// a write that bumps packetId during the copy, but cannot prove that a copy with equal ids is
// untorn (AC's field order within a step is undocumented). Pages written by this project carry a
// real seqlock in a trailer beyond the AC struct (invisible to other AC readers): when the reader
// finds that trailer it uses the seqlock, which does guarantee an untorn copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ac_core/core/pages.hpp"
#include "ac_core/core/shared_page.hpp"

namespace ac_core {

// Trailer at the end of a project-written page (kBridgePageSize bytes, as simshmbridge's pages).
struct PageTrailer {
    uint32_t magic;    // kTrailerMagic when a seqlock writer owns the page
    uint32_t version;  // kTrailerVersion
    uint32_t seq;      // seqlock counter: odd while a write is in progress
    uint32_t writer_pid;
};
inline constexpr uint32_t kTrailerMagic = 0x51534341u;  // "ACSQ" little-endian
inline constexpr uint32_t kTrailerVersion = 1;
inline constexpr std::size_t kTrailerOffset = kBridgePageSize - sizeof(PageTrailer);
static_assert(sizeof(PageTrailer) == 16);
static_assert(offsetof(PageTrailer, seq) == 8, "the seq word is part of the page protocol");
static_assert(kTrailerOffset >= kPhysicsSize && kTrailerOffset >= kGraphicsSize && kTrailerOffset >= kStaticSize);

enum class SnapshotProtocol : uint8_t { PacketId, Seqlock, StableCopy };

struct SnapshotStats {
    uint64_t snapshots = 0;  // successful snapshots
    uint64_t retries = 0;    // copies thrown away because the page changed during the copy
    uint64_t failures = 0;   // snapshots that gave up after max_retries
};

struct SnapshotResult {
    bool ok = false;
    int32_t packet_id = 0;  // physics/graphics packetId of the copy (0 for the static page)
    uint32_t retries = 0;
};

// Reads one page kind from a mapping (or any memory block, for tests and the in-process sim).
class PageReader {
public:
    PageReader(const uint8_t* data, std::size_t mapped_size, PageKind kind, uint32_t max_retries = 16);
    PageReader(const SharedPage& page, PageKind kind, uint32_t max_retries = 16)
        : PageReader(page.data(), page.size(), kind, max_retries) {}

    // Copies the page into `dst` (at least `struct_size()` bytes). Bytes of fields the mapping
    // does not cover (an older, shorter AC page) are zeroed; `available_bytes()` says how many
    // are real. Never reads beyond the mapping.
    SnapshotResult read(void* dst) noexcept;

    std::size_t struct_size() const noexcept { return spec_.size; }
    std::size_t available_bytes() const noexcept { return available_; }
    PageKind kind() const noexcept { return spec_.kind; }
    SnapshotProtocol protocol() const noexcept { return protocol_; }
    const SnapshotStats& stats() const noexcept { return stats_; }
    // Re-checks whether a seqlock writer owns the page (a page can be re-created by a new writer).
    void detect_protocol() noexcept;

private:
    const uint8_t* data_;
    std::size_t mapped_size_;
    std::size_t available_;
    const PageSpec& spec_;
    uint32_t max_retries_;
    SnapshotProtocol protocol_ = SnapshotProtocol::PacketId;
    SnapshotStats stats_;
};

// Publishes whole pages with a seqlock (the page must be kBridgePageSize bytes). AC-style readers
// see an ordinary page; PageReader uses the seqlock.
class SeqlockPageWriter {
public:
    SeqlockPageWriter(uint8_t* data, std::size_t mapped_size, PageKind kind);
    explicit SeqlockPageWriter(SharedPage& page, PageKind kind)
        : SeqlockPageWriter(page.mutable_data(), page.size(), kind) {}

    // Copies `src` (struct_size() bytes) into the page as one seqlocked write.
    void publish(const void* src) noexcept;
    // Field-by-field writes for producers that want them: begin(), write words, end().
    void begin() noexcept;
    void end() noexcept;
    uint8_t* page_data() noexcept { return data_; }
    std::size_t struct_size() const noexcept { return spec_.size; }
    uint32_t sequence() const noexcept;

private:
    uint8_t* data_;
    const PageSpec& spec_;
    PageTrailer* trailer_;
};

// Minimal page size check with a clear error: throws SharedPageError(TooSmall).
void require_minimal_page(const SharedPage& page, PageKind kind);

}  // namespace ac_core
