// Real-time scheduling requests (rt_thread.hpp) and the queue benchmarks' baselines (ring_bench.hpp).
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include "ac_core/realtime/ring_bench.hpp"
#include "ac_core/realtime/rt_thread.hpp"
#include "check.hpp"

using namespace ac_core;

AC_TEST(priority_out_of_range_is_refused_by_name) {
    CHECK_THROWS(make_thread_realtime(0));
    CHECK_THROWS(make_thread_realtime(100));
}

AC_TEST(a_granted_request_changes_the_thread_and_only_it) {
    // Run on a thread of its own: the test runner's thread keeps its schedule whatever happens.
    bool ok = false;
    std::string detail, during, after;
    std::thread t([&] {
        const RealtimeResult r = make_thread_realtime(10);
        ok = r.ok;
        detail = r.detail;
        during = thread_schedule();
        make_thread_normal();
        after = thread_schedule();
    });
    t.join();
    if (ok) {
#ifdef _WIN32
        CHECK(during == "TIME_CRITICAL");
#else
        CHECK(during == "SCHED_FIFO 10");
        CHECK(after == "SCHED_OTHER");
#endif
    } else {
        // Refused (no permission): the detail says why and how to allow it.
        CHECK(detail.find("not permitted") != std::string::npos || detail.find("failed") != std::string::npos);
    }
    CHECK(thread_schedule() != "SCHED_FIFO 10");
}

AC_TEST(queue_benchmarks_run_every_queue_and_refuse_unknown_names) {
    for (const std::string& queue : ring_bench_queues()) {
        for (const char* payload : {"u64", "frame"}) {
            const double through = queue_throughput_ns(queue, payload, 2000, 64);
            const double trip = queue_round_trip_ns(queue, payload, 200, 64);
            CHECK(std::isfinite(through) && through > 0);
            CHECK(std::isfinite(trip) && trip > 0);
        }
    }
    CHECK_THROWS(queue_throughput_ns("std_queue", "u64", 10));
    CHECK_THROWS(queue_round_trip_ns("ac_core", "bytes", 10));
    CHECK_THROWS(queue_throughput_ns("ac_core", "u64", 0));
    if (!ring_bench_has_boost()) CHECK_THROWS(queue_throughput_ns("boost_spsc", "u64", 10));
}

AC_TEST_MAIN("rt_thread")
