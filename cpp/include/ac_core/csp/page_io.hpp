// Names of CSP's Custom AI pages, and checked reads / seqlocked writes of them.
//
// CSP writes its pages without a lock; `packet_id` is the only change indicator, so a reader copies
// the page between two packet_id reads and retries when they differ (CspPageReader). Pages this
// project writes itself (our CarControls and SimState pages; the built-in simulator's Car and
// CarPublic pages) are CspOwnPageSize bytes and carry a trailer beyond CSP's struct with a real
// seqlock, a writer pid and a heartbeat counter. CSP ignores bytes past the struct; our readers use
// the seqlock when they find the trailer, so copies of our own pages are never torn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ac_core/csp/pages.hpp"

namespace ac_core {

// The namespace of every Custom AI mapping. `prefix` goes in front of it: "" for the game; tests and
// parallel simulators use a unique prefix so they never meet the game's (or each other's) pages.
inline constexpr const char* kCspNamespace = "AcTools.CSP.NewBehaviour.CustomAI.";

// "<prefix>AcTools.CSP.NewBehaviour.CustomAI.Car0.v0", "...SimState.v1" (car_index is ignored for the
// SimState pages). Throws std::invalid_argument for a negative car index.
std::string csp_page_name(CspPageKind kind, int car_index = 0, const std::string& prefix = "");

struct CspTrailer {
    uint32_t magic;       // kCspTrailerMagic while a project writer owns the page; 0 after it detached
    uint32_t version;     // kCspTrailerVersion
    uint32_t seq;         // seqlock word: odd while a write is in progress
    uint32_t writer_pid;
    uint32_t heartbeat;   // advanced by the writer's heartbeat (CspSession) while its process runs
    uint32_t reserved[3];
};
inline constexpr uint32_t kCspTrailerMagic = 0x50534341u;  // "ACSP" little-endian
inline constexpr uint32_t kCspTrailerVersion = 1;
// Pages we create are this big (one OS page); the trailer is at its end, far beyond CSP's structs.
inline constexpr std::size_t kCspOwnPageSize = 4096;
inline constexpr std::size_t kCspTrailerOffset = kCspOwnPageSize - sizeof(CspTrailer);
static_assert(sizeof(CspTrailer) == 32);
static_assert(offsetof(CspTrailer, seq) == 8 && offsetof(CspTrailer, heartbeat) == 16, "trailer words are protocol");
static_assert(kCspTrailerOffset >= kCspCarSize);

// The trailer of a mapping if it has one (large enough and magic set), else nullptr.
CspTrailer* csp_trailer(uint8_t* data, std::size_t mapped_size) noexcept;
const CspTrailer* csp_trailer(const uint8_t* data, std::size_t mapped_size) noexcept;

struct CspReadResult {
    bool ok = false;
    int32_t packet_id = 0;  // 0 for pages without one (controls, sim state)
    uint32_t retries = 0;
};

// Copies one CSP page out of a mapping: the seqlock when the trailer is there, otherwise the
// packet_id double read (Car, CarPublic) or a word copy (controls, sim state: single-byte flags and
// 4-byte floats, each read atomically). Never reads beyond the struct or the mapping.
// A CarControls mapping may hold CSP 0.1.78's 68-byte struct: the missing tail reads as zeros.
class CspPageReader {
public:
    // The smallest mapping of a kind that is read: the struct, or 68 bytes for CarControls.
    static std::size_t min_mapping(CspPageKind kind) noexcept;
    // Throws std::invalid_argument when the mapping is smaller than min_mapping(kind).
    CspPageReader(const uint8_t* data, std::size_t mapped_size, CspPageKind kind, uint32_t max_retries = 64);

    CspReadResult read(void* dst) noexcept;
    // The packet_id word alone (one atomic load); 0 for pages without one.
    int32_t packet_id() const noexcept;
    bool seqlocked() const noexcept;
    std::size_t struct_size() const noexcept { return spec_.size; }
    // Bytes of the struct the mapping holds (the rest of a copy is zero-filled).
    std::size_t copied_size() const noexcept { return copy_bytes_; }

private:
    const uint8_t* data_;
    std::size_t mapped_size_;
    std::size_t copy_bytes_;
    const CspPageSpec& spec_;
    uint32_t max_retries_;
};

// Writes a CSP struct into a page we own (kCspOwnPageSize bytes) as one seqlocked update, and
// initialises the trailer (magic, pid). detach() clears the magic: readers then know the writer left.
class CspPageWriter {
public:
    CspPageWriter(uint8_t* data, std::size_t mapped_size, CspPageKind kind);

    void publish(const void* src) noexcept;
    void beat() noexcept;  // heartbeat += 1
    uint32_t heartbeat() const noexcept;
    void detach() noexcept;
    uint32_t sequence() const noexcept;

private:
    uint8_t* data_;
    const CspPageSpec& spec_;
    CspTrailer* trailer_;
};

}  // namespace ac_core
