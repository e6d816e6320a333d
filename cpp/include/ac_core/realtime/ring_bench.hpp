// Micro-benchmarks of the telemetry ring, run entirely in C++ so the figure is the ring's cost, not
// the binding's: Python calls one function that runs N iterations and returns nanoseconds per op.
#pragma once

#include <cstddef>

namespace ac_core {

// One TelemetryFrame (1048 B) pushed then popped on one thread, `iterations` times.
double ring_push_pop_same_thread_ns(std::size_t iterations, std::size_t capacity = 1024);

// `frames` TelemetryFrames from a producer thread to a consumer thread (the producer retries while
// the ring is full, the consumer checks each frame's index): wall time / frames.
double ring_transfer_cross_thread_ns(std::size_t frames, std::size_t capacity = 1024);

}  // namespace ac_core
