// Micro-benchmarks of the telemetry ring, run entirely in C++ so the figure is the ring's cost, not
// the binding's: Python calls one function that runs N iterations and returns nanoseconds per op.
//
// Two metrics, kept apart (they differ by ~50x and published figures quote one or the other):
//  * throughput: a producer thread pushes N items as fast as the consumer thread pops them; wall time
//    / N. Both sides stay busy, so batching and cache-line ping-pong set the figure (rigtorp
//    SPSCQueue: ~2.8 ns/op for an int on his machine).
//  * round-trip latency: one item goes A → B through one queue and back B → A through another, one
//    at a time; wall time / N round trips (rigtorp: 133 ns for an int).
// Each runs against the same code with the queue swapped for a baseline in the same run: a
// std::mutex + std::deque (bounded to the same capacity), and boost::lockfree::spsc_queue when boost's
// headers were found at build time (ring_bench_has_boost()).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ac_core {

// One TelemetryFrame (1048 B) pushed then popped on one thread, `iterations` times.
double ring_push_pop_same_thread_ns(std::size_t iterations, std::size_t capacity = 1024);

// `frames` TelemetryFrames from a producer thread to a consumer thread (the producer retries while
// the ring is full, the consumer checks each frame's index): wall time / frames.
double ring_transfer_cross_thread_ns(std::size_t frames, std::size_t capacity = 1024);

// queue: "ac_core" (SpscRing), "mutex_deque", "boost_spsc"; payload: "frame" (a 1048-byte
// TelemetryFrame, what the poller hands over) or "u64" (8 bytes, what rigtorp's figures use).
// Throws std::invalid_argument for an unknown name or boost_spsc without boost.
double queue_throughput_ns(const std::string& queue, const std::string& payload, std::size_t items,
                           std::size_t capacity = 1024);
double queue_round_trip_ns(const std::string& queue, const std::string& payload, std::size_t round_trips,
                           std::size_t capacity = 1024);

bool ring_bench_has_boost() noexcept;
std::vector<std::string> ring_bench_queues();

}  // namespace ac_core
