// One telemetry frame: what the poller pushes into the ring and keeps in its latest-frame slot.
// The layout is fixed (static_asserts below) because Python views frames as a NumPy structured
// dtype built from these offsets (ac_core.telemetry.FRAME_DTYPE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ac_core/core/pages.hpp"

namespace ac_core {

enum TelemetryFrameFlags : uint32_t {
    kFrameGraphicsStale = 1u << 0,  // the graphics snapshot failed; `graphics` is the previous one
    kFrameAfterPause = 1u << 1,     // first frame after the physics packetId was frozen (pause/stall)
};

struct TelemetryFrame {
    uint64_t frame_index;        // 0, 1, 2 ... for every frame the poller made (pushed or dropped)
    int64_t time_ns;             // steady_now_ns() when the physics change was seen
    int32_t physics_packet_id;   // == physics.packetId
    int32_t graphics_packet_id;  // == graphics.packetId
    uint32_t missed_packets;     // physics packetIds skipped since the previous frame (0 normally)
    uint32_t retries;            // torn-read retries spent on this frame's physics snapshot
    uint32_t flags;              // TelemetryFrameFlags
    uint32_t reserved;
    PhysicsPage physics;         // checked snapshot
    GraphicsPage graphics;       // the latest graphics snapshot at that moment
};

static_assert(std::is_trivially_copyable_v<TelemetryFrame>);
static_assert(offsetof(TelemetryFrame, time_ns) == 8);
static_assert(offsetof(TelemetryFrame, physics_packet_id) == 16);
static_assert(offsetof(TelemetryFrame, missed_packets) == 24);
static_assert(offsetof(TelemetryFrame, flags) == 32);
static_assert(offsetof(TelemetryFrame, physics) == 40);
static_assert(offsetof(TelemetryFrame, graphics) == 40 + kPhysicsSize);
static_assert(sizeof(TelemetryFrame) == 40 + kPhysicsSize + kGraphicsSize);
static_assert(sizeof(TelemetryFrame) % 8 == 0);

}  // namespace ac_core
