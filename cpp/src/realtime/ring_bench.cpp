#include "ac_core/realtime/ring_bench.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

#include "ac_core/core/clock.hpp"
#include "ac_core/realtime/spsc_ring.hpp"
#include "ac_core/realtime/telemetry.hpp"

namespace ac_core {

namespace {
// Spin briefly, then yield: on a machine with fewer free cores than threads a pure spin would wait
// for the other thread's whole time slice.
struct Backoff {
    int spins = 0;
    void pause() {
        if (++spins < 256) {
            cpu_relax();
        } else {
            spins = 0;
            std::this_thread::yield();
        }
    }
};
}  // namespace

double ring_push_pop_same_thread_ns(std::size_t iterations, std::size_t capacity) {
    if (iterations == 0) throw std::invalid_argument("ring benchmark needs at least one iteration");
    SpscRing<TelemetryFrame> ring(capacity);
    TelemetryFrame in{}, out{};
    uint64_t check = 0;
    const int64_t t0 = steady_now_ns();
    for (std::size_t i = 0; i < iterations; ++i) {
        in.frame_index = i;
        ring.try_push(in);
        ring.try_pop(out);
        check += out.frame_index;
    }
    const int64_t t1 = steady_now_ns();
    if (check != uint64_t(iterations) * (iterations - 1) / 2) throw std::logic_error("ring benchmark lost frames");
    return double(t1 - t0) / double(iterations);
}

double ring_transfer_cross_thread_ns(std::size_t frames, std::size_t capacity) {
    if (frames == 0) throw std::invalid_argument("ring benchmark needs at least one frame");
    SpscRing<TelemetryFrame> ring(capacity);
    std::atomic<bool> go{false};
    std::thread producer([&] {
        TelemetryFrame f{};
        Backoff backoff;
        while (!go.load(std::memory_order_acquire)) backoff.pause();
        for (std::size_t i = 0; i < frames; ++i) {
            f.frame_index = i;
            while (!ring.try_push(f)) backoff.pause();
        }
    });
    TelemetryFrame out{};
    std::size_t wrong = 0;
    const int64_t t0 = steady_now_ns();
    go.store(true, std::memory_order_release);
    Backoff backoff;
    for (std::size_t i = 0; i < frames; ++i) {
        while (!ring.try_pop(out)) backoff.pause();
        if (out.frame_index != i) wrong++;
    }
    const int64_t t1 = steady_now_ns();
    producer.join();
    if (wrong != 0) throw std::logic_error("ring benchmark received frames out of order");
    return double(t1 - t0) / double(frames);
}

}  // namespace ac_core
