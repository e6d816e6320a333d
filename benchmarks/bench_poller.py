"""Poller hand-off: a physics packetId change → the frame visible to a Python consumer.

A writer publishes physics pages at AC's 333 Hz (seqlocked, like the built-in sim); the consumer
blocks in TelemetryStream.wait_for_packet. Latency = consumer wake-up − the writer's timestamp just
before the publish (one steady clock). Baseline: a pure-Python poller thread (sleep 0.5 ms, check
packetId through a NumPy view, copy, queue the frame, notify a Condition), the usual way to do it
without a C++ core. Reported as p50/p99.
"""

from __future__ import annotations

import collections
import os
import threading
import time

import numpy as np
import pytest

from ac_core import _core
from ac_core.telemetry_stream import TelemetryStream
from ac_core.testing.page_publisher import PagePublisher

from .conftest import full_run, percentiles_ns, record

PERIOD_S = 1.0 / 333.0


def _packets() -> int:
    return 3000 if full_run() else 300


@pytest.fixture
def publisher():
    prefix = f"acbenchpoll{os.getpid()}_"
    with PagePublisher(prefix) as pub:
        pub.graphics["status"] = 2
        pub.publish("graphics")
        yield pub


def paced_publish(pub: PagePublisher, packet_id: int, due: float) -> int:
    """Sleep until `due` (perf_counter), publish packet_id; returns the steady time of the publish."""
    delay = due - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    pub.physics["packetId"] = packet_id
    t0 = _core.steady_now_ns()
    pub.publish("physics")
    return t0


def poller_handoff(pub: PagePublisher) -> list[float]:
    latencies = []
    with TelemetryStream(pub.prefix) as stream:
        due = time.perf_counter()
        for packet_id in range(1, _packets() + 1):
            due += PERIOD_S
            t0 = paced_publish(pub, packet_id, due)
            seen = stream.wait_for_packet(packet_id - 1, timeout=1.0)
            t1 = _core.steady_now_ns()
            if seen == packet_id:
                latencies.append(t1 - t0)
        stats = stream.stats
    assert stats["frames"] >= len(latencies)
    return latencies


class PythonPoller(threading.Thread):
    """The baseline: a Python thread polling the physics page with a 0.5 ms sleep."""

    def __init__(self, prefix: str) -> None:
        super().__init__(daemon=True)
        self.page = _core.SharedPage.open(prefix + "physics")
        self.view = np.frombuffer(self.page, dtype=np.uint8)
        self.packet_id = self.view[:4].view(np.int32)
        self.frames: collections.deque = collections.deque(maxlen=1024)
        self.cond = threading.Condition()
        self.latest = 0
        self.stop_flag = False

    def run(self) -> None:
        last = 0
        while not self.stop_flag:
            current = int(self.packet_id[0])
            if current != last:
                frame = self.view[:712].copy()
                with self.cond:
                    self.frames.append(frame)
                    self.latest = current
                    self.cond.notify_all()
                last = current
            else:
                time.sleep(0.0005)

    def wait_for(self, packet_id: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.latest >= packet_id, timeout)


def python_handoff(pub: PagePublisher) -> list[float]:
    poller = PythonPoller(pub.prefix)
    poller.start()
    latencies = []
    try:
        due = time.perf_counter()
        for packet_id in range(1, _packets() + 1):
            due += PERIOD_S
            t0 = paced_publish(pub, packet_id, due)
            if poller.wait_for(packet_id, 1.0):
                latencies.append(_core.steady_now_ns() - t0)
    finally:
        poller.stop_flag = True
        poller.join()
        del poller.packet_id, poller.view
        poller.page.close()
    return latencies


def _bench(benchmark, run, pub, role: str, what: str) -> None:
    latencies: list[float] = []
    benchmark.pedantic(lambda: latencies.extend(run(pub)), rounds=1, iterations=1)
    assert len(latencies) >= _packets() * 0.95
    record(benchmark, "poller hand-off (packetId change → Python)", role, **percentiles_ns(latencies), what=what)


@pytest.mark.benchmark(group="poller hand-off")
def test_cpp_poller_handoff(benchmark, publisher):
    _bench(benchmark, poller_handoff, publisher, "ac_core", "C++ poller thread → wait_for_packet")


@pytest.mark.benchmark(group="poller hand-off")
def test_python_poller_handoff(benchmark, publisher):
    _bench(benchmark, python_handoff, publisher, "baseline", "Python thread, 0.5 ms sleep, Condition")
