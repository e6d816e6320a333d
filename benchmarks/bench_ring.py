"""The telemetry ring (SpscRing) against C++ queues in the same run, one metric per figure.

* throughput: a producer thread pushes N items while a consumer thread pops them; ns per item.
* round-trip latency: one item A → B → A through two queues, one at a time; ns per round trip.

Each is measured for the 1048-byte TelemetryFrame the poller hands over and for an 8-byte integer
(the payload of rigtorp's published figures), with the queue swapped in the same C++ loop: a
std::mutex + std::deque, and boost::lockfree::spsc_queue when boost's headers were present at build
time (`apt-get install libboost-dev`; otherwise that row is skipped, saying so). rigtorp's published
figures (github.com/rigtorp/SPSCQueue, README; his machine, an int): SPSCQueue 2.8 ns/item throughput
(362,723 ops/ms) and 133 ns round trip; boost::lockfree::spsc 4.8 ns/item (209,877 ops/ms) and 222
ns. Both threads busy-wait (256 pause instructions, then yield): on a machine with fewer free cores
than the two threads need, the round trip measures the scheduler, whatever the queue.

Target (DESIGN.md §8): ≤ 100 ns per item through the ring.
"""

from __future__ import annotations

import numpy as np
import pytest

from ac_core import _testing

from .conftest import full_run, record

TARGET = "≤ 100 ns"
TARGET_NS = 100.0
QUEUES = {"ac_core": "ac_core SpscRing", "mutex_deque": "std::mutex + std::deque",
          "boost_spsc": "boost::lockfree::spsc_queue"}  # fmt: skip
PAYLOADS = {"frame": "1048-B frame", "u64": "8-B int"}
RIGTORP = {
    "throughput": "rigtorp published (int): SPSCQueue 2.8 ns, boost 4.8 ns per item",
    "round trip": "rigtorp published (int): SPSCQueue 133 ns, boost 222 ns per round trip",
}


def _items(metric: str) -> int:
    if metric == "throughput":
        return 2_000_000 if full_run() else 100_000
    return 100_000 if full_run() else 3_000


def _rounds() -> int:
    return 7 if full_run() else 3


def _measure(benchmark, metric: str, queue: str, payload: str) -> float:
    """The median ns per item (throughput) or per round trip over a few rounds of N in C++."""
    fn = _testing.queue_throughput_ns if metric == "throughput" else _testing.queue_round_trip_ns
    results: list[float] = []
    benchmark.pedantic(lambda: results.append(fn(queue, payload, _items(metric))), rounds=_rounds(), iterations=1,
                       warmup_rounds=1)  # fmt: skip
    return float(np.median(results[1:] if len(results) > 1 else results))


@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("queue", list(QUEUES))
@pytest.mark.parametrize("metric", ["throughput", "round trip"])
def test_queue(benchmark, metric: str, queue: str, payload: str) -> None:
    if queue == "boost_spsc" and not _testing.RING_BENCH_HAS_BOOST:
        pytest.skip("boost::lockfree not found when ac_core._testing was built: apt-get install libboost-dev, rebuild")
    benchmark.group = f"ring {metric}, {PAYLOADS[payload]}"
    ns = _measure(benchmark, metric, queue, payload)
    unit = "ns per item" if metric == "throughput" else "ns per round trip"
    figure = f"ring {metric} ({PAYLOADS[payload]}, {unit})"
    if queue == "ac_core":
        target = (TARGET, TARGET_NS) if metric == "throughput" and payload == "frame" else (None, None)
        record(benchmark, figure, "ac_core", *target, value_ns=ns, metric=metric, what=QUEUES[queue],
               note=RIGTORP[metric])  # fmt: skip
    else:
        record(benchmark, figure, "baseline", value_ns=ns, metric=metric, what=QUEUES[queue], note=QUEUES[queue])
