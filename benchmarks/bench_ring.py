"""Ring push+pop of one telemetry frame (1048 B), measured in C++ (one call runs N operations and
returns ns/op), against a Python collections.deque doing the same hand-off.

Target (DESIGN.md §8): ≤ 100 ns per push+pop; anchor: rigtorp SPSCQueue 133 ns round trip.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pytest

from ac_core import _testing
from ac_core.telemetry_stream import empty_frames

from .conftest import full_run, record

TARGET = "≤ 100 ns"
TARGET_NS = 100.0


def _ops() -> int:
    return 2_000_000 if full_run() else 200_000


def _rounds() -> int:
    return 15 if full_run() else 3


def _run(benchmark, per_round):
    """Runs per_round() (which returns ns/op) for a few rounds; the median ns/op is the figure."""
    results: list[float] = []

    def one_round() -> None:
        results.append(per_round())

    benchmark.pedantic(one_round, rounds=_rounds(), iterations=1, warmup_rounds=1)
    return float(np.median(results[1:] if len(results) > 1 else results))


def deque_same_thread_ns(ops: int) -> float:
    dq: collections.deque = collections.deque(maxlen=1024)
    frame = bytearray(empty_frames(1)[0].tobytes())
    t0 = time.perf_counter_ns()
    for _ in range(ops):
        dq.append(bytes(frame))  # a copy per push, as the ring makes (see deque_cross_thread_ns)
        dq.popleft()
    return (time.perf_counter_ns() - t0) / ops


def deque_cross_thread_ns(ops: int) -> float:
    dq: collections.deque = collections.deque()
    frame = bytearray(empty_frames(1)[0].tobytes())

    def produce() -> None:
        # Each push hands over its own copy of the frame, as the ring does (a poller reuses one
        # buffer): appending the same object would hand over a pointer, not a frame.
        for _ in range(ops):
            dq.append(bytes(frame))

    producer = threading.Thread(target=produce)
    t0 = time.perf_counter_ns()
    producer.start()
    got = 0
    pop = dq.popleft
    while got < ops:
        try:
            pop()
            got += 1
        except IndexError:
            time.sleep(0)
    producer.join()
    return (time.perf_counter_ns() - t0) / ops


@pytest.mark.benchmark(group="ring push+pop, same thread")
def test_ring_same_thread_cpp(benchmark):
    ns = _run(benchmark, lambda: _testing.ring_push_pop_same_thread_ns(_ops()))
    record(benchmark, "ring push+pop (same thread)", "ac_core", TARGET, TARGET_NS, value_ns=ns, ops=_ops())


@pytest.mark.benchmark(group="ring push+pop, same thread")
def test_ring_same_thread_python_deque(benchmark):
    ops = _ops() // 4
    ns = _run(benchmark, lambda: deque_same_thread_ns(ops))
    record(benchmark, "ring push+pop (same thread)", "baseline", value_ns=ns, ops=ops, what="collections.deque")


@pytest.mark.benchmark(group="ring hand-off, across threads")
def test_ring_cross_thread_cpp(benchmark):
    ns = _run(benchmark, lambda: _testing.ring_transfer_cross_thread_ns(_ops()))
    record(benchmark, "ring hand-off per frame (2 threads)", "ac_core", TARGET, TARGET_NS, value_ns=ns, ops=_ops())


@pytest.mark.benchmark(group="ring hand-off, across threads")
def test_ring_cross_thread_python_deque(benchmark):
    ops = _ops() // 4
    ns = _run(benchmark, lambda: deque_cross_thread_ns(ops))
    record(benchmark, "ring hand-off per frame (2 threads)", "baseline", value_ns=ns, ops=ops, what="collections.deque")
