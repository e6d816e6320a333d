#include "ac_core/realtime/ring_bench.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#if defined(__has_include)
#if __has_include(<boost/lockfree/spsc_queue.hpp>)
#include <boost/lockfree/spsc_queue.hpp>
#define AC_CORE_BENCH_HAS_BOOST 1
#endif
#endif

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

// The three queues behind one interface: push/pop that fail when full/empty, bounded to `capacity`.
template <typename T>
struct AcRing {
    explicit AcRing(std::size_t capacity) : ring(capacity) {}
    bool push(const T& v) noexcept { return ring.try_push(v); }
    bool pop(T& v) noexcept { return ring.try_pop(v); }
    SpscRing<T> ring;
};

template <typename T>
struct MutexDeque {
    explicit MutexDeque(std::size_t capacity) : cap(capacity) {}
    bool push(const T& v) {
        std::lock_guard<std::mutex> lock(m);
        if (q.size() >= cap) return false;
        q.push_back(v);
        return true;
    }
    bool pop(T& v) {
        std::lock_guard<std::mutex> lock(m);
        if (q.empty()) return false;
        v = q.front();
        q.pop_front();
        return true;
    }
    std::size_t cap;
    std::mutex m;
    std::deque<T> q;
};

#ifdef AC_CORE_BENCH_HAS_BOOST
template <typename T>
struct BoostSpsc {
    explicit BoostSpsc(std::size_t capacity) : q(capacity) {}
    bool push(const T& v) { return q.push(v); }
    bool pop(T& v) { return q.pop(v); }
    boost::lockfree::spsc_queue<T> q;
};
#endif

// The item's sequence number lives in its first 8 bytes (frame_index of a frame).
inline void stamp(uint64_t& item, uint64_t i) noexcept { item = i; }
inline void stamp(TelemetryFrame& item, uint64_t i) noexcept { item.frame_index = i; }
inline uint64_t seq(const uint64_t& item) noexcept { return item; }
inline uint64_t seq(const TelemetryFrame& item) noexcept { return item.frame_index; }

template <typename Q, typename T>
double throughput(std::size_t items, std::size_t capacity) {
    Q q(capacity);
    std::atomic<bool> go{false};
    std::thread producer([&] {
        T item{};
        Backoff backoff;
        while (!go.load(std::memory_order_acquire)) backoff.pause();
        for (std::size_t i = 0; i < items; ++i) {
            stamp(item, i);
            while (!q.push(item)) backoff.pause();
        }
    });
    T out{};
    std::size_t wrong = 0;
    Backoff backoff;
    const int64_t t0 = steady_now_ns();
    go.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < items; ++i) {
        while (!q.pop(out)) backoff.pause();
        if (seq(out) != i) wrong++;
    }
    const int64_t t1 = steady_now_ns();
    producer.join();
    if (wrong != 0) throw std::logic_error("queue benchmark received items out of order");
    return double(t1 - t0) / double(items);
}

template <typename Q, typename T>
double round_trip(std::size_t trips, std::size_t capacity) {
    Q there(capacity), back(capacity);
    std::thread echo([&] {
        T item{};
        Backoff backoff;
        for (std::size_t i = 0; i < trips; ++i) {
            while (!there.pop(item)) backoff.pause();
            while (!back.push(item)) backoff.pause();
        }
    });
    T item{}, out{};
    std::size_t wrong = 0;
    Backoff backoff;
    const int64_t t0 = steady_now_ns();
    for (std::size_t i = 0; i < trips; ++i) {
        stamp(item, i);
        while (!there.push(item)) backoff.pause();
        while (!back.pop(out)) backoff.pause();
        if (seq(out) != i) wrong++;
    }
    const int64_t t1 = steady_now_ns();
    echo.join();
    if (wrong != 0) throw std::logic_error("queue benchmark received items out of order");
    return double(t1 - t0) / double(trips);
}

template <template <typename> class Q>
double run_metric(bool trips, const std::string& payload, std::size_t n, std::size_t capacity) {
    if (payload == "frame")
        return trips ? round_trip<Q<TelemetryFrame>, TelemetryFrame>(n, capacity)
                     : throughput<Q<TelemetryFrame>, TelemetryFrame>(n, capacity);
    if (payload == "u64")
        return trips ? round_trip<Q<uint64_t>, uint64_t>(n, capacity) : throughput<Q<uint64_t>, uint64_t>(n, capacity);
    throw std::invalid_argument("queue benchmark payload must be 'frame' or 'u64', got '" + payload + "'");
}

double dispatch(bool trips, const std::string& queue, const std::string& payload, std::size_t n,
                std::size_t capacity) {
    if (n == 0) throw std::invalid_argument("queue benchmark needs at least one item");
    if (queue == "ac_core") return run_metric<AcRing>(trips, payload, n, capacity);
    if (queue == "mutex_deque") return run_metric<MutexDeque>(trips, payload, n, capacity);
#ifdef AC_CORE_BENCH_HAS_BOOST
    if (queue == "boost_spsc") return run_metric<BoostSpsc>(trips, payload, n, capacity);
#else
    if (queue == "boost_spsc")
        throw std::invalid_argument("boost_spsc: boost's headers were not found when ac_core was built "
                                    "(apt-get install libboost-dev, then rebuild)");
#endif
    throw std::invalid_argument("queue benchmark queue must be ac_core, mutex_deque or boost_spsc, got '" + queue + "'");
}

}  // namespace

double queue_throughput_ns(const std::string& queue, const std::string& payload, std::size_t items,
                           std::size_t capacity) {
    return dispatch(false, queue, payload, items, capacity);
}

double queue_round_trip_ns(const std::string& queue, const std::string& payload, std::size_t round_trips,
                           std::size_t capacity) {
    return dispatch(true, queue, payload, round_trips, capacity);
}

bool ring_bench_has_boost() noexcept {
#ifdef AC_CORE_BENCH_HAS_BOOST
    return true;
#else
    return false;
#endif
}

std::vector<std::string> ring_bench_queues() {
    std::vector<std::string> queues{"ac_core", "mutex_deque"};
    if (ring_bench_has_boost()) queues.emplace_back("boost_spsc");
    return queues;
}

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
