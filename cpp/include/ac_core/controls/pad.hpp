// Both ends of the virtual pad page (pad_page.hpp): PadWriter (used by PadFeeder) and PadReader /
// PadLink (used by the built-in simulator's process loop as its "vJoy").
//
// Seqlock protocol (one writer per page, core/seqlock.hpp over the page's `seq` word): the writer
// stores the control words and bumps `sequence` inside one seqlocked write; the reader copies them
// in a seqlocked read. All shared words go through word_copy.hpp's atomic word accessors, so the
// protocol is free of data races (ThreadSanitizer-clean), not just "works on x86".
//
// The applied echo (`applied_sequence`, `applied_packet_id`) is written by the reader side only, as
// one 64-bit store, so a latency probe never sees the sequence of one control paired with the
// packetId of another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ac_core/controls/pad_page.hpp"
#include "ac_core/core/shared_page.hpp"

namespace ac_core {

inline constexpr const char* kDefaultPagePrefix = "acpmf_";

// "<prefix>pad", e.g. "acpmf_pad".
std::string pad_page_name(const std::string& prefix = kDefaultPagePrefix);

// The controls carried by one pad write. Ranges: steer [-1, 1], throttle/brake/clutch [0, 1];
// buttons are PadButton bits (level-triggered).
struct PadControls {
    float steer = 0.0f;
    float throttle = 0.0f;
    float brake = 0.0f;
    float clutch = 0.0f;
    uint32_t buttons = 0;
};

// One consistent copy of the pad page.
struct PadSnapshot {
    PadControls controls;
    uint32_t sequence = 0;    // the writer's write count; 0 = nothing written yet
    uint32_t writer_pid = 0;
    int64_t write_time_ns = 0;  // steady_now_ns() of the writer at the write
};

struct PadAppliedEcho {
    uint32_t sequence = 0;   // `sequence` of the last control the reader applied
    int32_t packet_id = 0;   // physics packetId at which it was applied
};

struct PadReadStats {
    uint64_t reads = 0;     // consistent copies
    uint64_t retries = 0;   // copies discarded because a write was in progress
    uint64_t failures = 0;  // reads that gave up after max_retries
};

// Writer side. Initialises the header (magic, version, pid) of the memory it is given.
class PadWriter {
public:
    // `data` must be at least sizeof(PadPage) bytes, 8-byte aligned (a mapping is page-aligned).
    PadWriter(uint8_t* data, std::size_t size);

    // Publishes one control set; returns its sequence number (1, 2, ...). Never blocks.
    uint32_t write(const PadControls& controls, int64_t write_time_ns) noexcept;
    uint32_t sequence() const noexcept;
    PadAppliedEcho applied() const noexcept;
    // Marks the page as having no writer (magic = 0): readers stop applying it and PadLink re-opens
    // the page by name, so a new feeder that re-creates the page is picked up.
    void detach() noexcept;

private:
    PadPage* page_;
    uint32_t sequence_ = 0;
};

enum class PadReadStatus : uint8_t {
    Ok,        // `out` holds a consistent copy
    NoWriter,  // the page has no live writer (magic not set, or the writer detached)
    Busy,      // the writer kept writing for max_retries attempts (never seen with one writer)
};

// Reader side over memory the caller maps (read-write if store_applied is used).
class PadReader {
public:
    PadReader(uint8_t* data, std::size_t size, uint32_t max_retries = 64);

    PadReadStatus read(PadSnapshot& out) noexcept;
    // The simulator records which control it applied and at which physics packetId (one store).
    void store_applied(uint32_t sequence, int32_t packet_id) noexcept;
    PadAppliedEcho applied() const noexcept;
    const PadReadStats& stats() const noexcept { return stats_; }

private:
    PadPage* page_;
    uint32_t max_retries_;
    PadReadStats stats_;
};

// What the simulator's process loop holds: opens "<prefix>pad" read-write once a feeder created it
// (re-trying at most every `retry_interval_s`), reads it, and lets go of it when the writer detaches
// so that a re-created page is found again. Not thread-safe: one loop owns it.
class PadLink {
public:
    explicit PadLink(std::string prefix = kDefaultPagePrefix, double retry_interval_s = 0.1);

    // Fills `out` and returns true when a writer is attached and a consistent copy was made.
    // Never throws: a missing page just means "no controls yet".
    bool poll(PadSnapshot& out) noexcept;
    void store_applied(uint32_t sequence, int32_t packet_id) noexcept;
    bool attached() const noexcept { return page_.valid(); }
    const std::string& page_name() const noexcept { return name_; }
    const PadReadStats& stats() const noexcept { return stats_; }

private:
    void try_open() noexcept;

    std::string name_;
    int64_t retry_interval_ns_;
    int64_t next_open_attempt_ns_ = 0;
    SharedPage page_;
    PadReadStats stats_;
};

}  // namespace ac_core
