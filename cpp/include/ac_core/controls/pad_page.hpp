// The virtual pad page: the project's own small control page in shared memory. PadFeeder writes it;
// the built-in simulator (process mode) reads it as its vJoy. Default name: "<prefix>pad"
// (acpmf_pad), beside the AC pages.
//
// Protocol: a seqlock. The writer makes `seq` odd, writes the fields, bumps `sequence` (the number of
// control writes so far), then makes `seq` even again with release ordering. The reader copies the
// struct between two acquire reads of an even, unchanged `seq`. `sequence` lets the sim echo which
// control it applied (`applied_sequence`), which is how control -> physics latency is measured.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ac_core {

enum PadButton : uint32_t {
    kPadGearUp = 1u << 0,
    kPadGearDown = 1u << 1,
    kPadRestartSession = 1u << 2,  // AC: "restart session" key; sim: reset the car to its start
    kPadPauseToggle = 1u << 3,     // AC: Esc; sim: pause/resume
    kPadDrsToggle = 1u << 4,
    kPadButton6 = 1u << 5,
    kPadButton7 = 1u << 6,
    kPadButton8 = 1u << 7,
};

struct PadPage {
    uint32_t magic;     // kPadMagic once a writer initialised the page
    uint32_t version;   // kPadVersion
    uint32_t seq;       // seqlock word: odd while a write is in progress
    uint32_t sequence;  // control writes so far (monotonic)
    float steer;        // [-1, 1], negative = left
    float throttle;     // [0, 1]
    float brake;        // [0, 1]
    float clutch;       // [0, 1], 1 = pedal fully pressed (disengaged)
    uint32_t buttons;   // PadButton bits, level-triggered: the reader acts on 0 -> 1 edges
    uint32_t writer_pid;
    int64_t write_time_ns;  // steady-clock time of the write, for latency measurement
    // Written by the reader (the sim): the `sequence` of the last control applied to physics, and the
    // physics packetId at which it was applied. Single writer (the sim), plain release stores.
    uint32_t applied_sequence;
    int32_t applied_packet_id;
    uint32_t reserved[6];
};

inline constexpr uint32_t kPadMagic = 0x44504341u;  // "ACPD"
inline constexpr uint32_t kPadVersion = 1;
inline constexpr std::size_t kPadPageSize = 4096;  // mapping size; the struct is at offset 0

static_assert(sizeof(PadPage) == 80, "pad page layout is part of the protocol");
static_assert(offsetof(PadPage, seq) == 8);
static_assert(offsetof(PadPage, steer) == 16);
static_assert(offsetof(PadPage, buttons) == 32);
static_assert(offsetof(PadPage, write_time_ns) == 40);
static_assert(offsetof(PadPage, applied_sequence) == 48);

}  // namespace ac_core
