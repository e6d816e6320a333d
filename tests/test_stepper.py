"""Steppers: drift-free deadlines with rtgym's elastic timeout, lateness stats, and the
physics-aligned stepper against a Python page writer (including stalls and Ctrl-C)."""

from __future__ import annotations

import _thread
import itertools
import logging
import threading
import time

import pytest

from ac_core.stepper import PhysicsStepper, Stepper
from ac_core.telemetry_stream import TelemetryStream
from ac_core.testing.page_publisher import PagePublisher


def test_rate_arguments_are_checked():
    with pytest.raises(ValueError, match="exactly one"):
        Stepper()
    with pytest.raises(ValueError, match="exactly one"):
        Stepper(10, period_s=0.1)
    with pytest.raises(ValueError, match="positive"):
        Stepper(0)
    with pytest.raises(ValueError, match="timeout_factor"):
        Stepper(10, timeout_factor=-1)


def test_deadlines_chain_so_nothing_drifts():
    stepper = Stepper(200, timeout_factor=1000.0)  # no restarts even on a loaded machine
    stepper.start()
    for _ in range(60):
        time.sleep(0.001)  # some work
        assert stepper.step() >= 0.0
    stats = stepper.stats
    assert stats["steps"] == 60
    assert stats["timeouts"] == 0
    assert stats["p50_s"] <= stats["p99_s"] <= stats["max_s"]
    # Elapsed = 60 periods + the last step's lateness: nothing accumulates.
    assert stats["elapsed_s"] >= 60 * stepper.period_s
    assert abs(stats["drift_s"]) <= stats["max_s"] + 1e-6
    assert stats["elapsed_s"] - 60 * stepper.period_s == pytest.approx(stats["drift_s"], abs=1e-6)


def test_overrun_restarts_the_clock_and_warns(caplog: pytest.LogCaptureFixture):
    stepper = Stepper(period_s=0.005)
    stepper.step()
    time.sleep(0.03)  # far more than timeout_factor (1) x period
    with caplog.at_level(logging.WARNING, logger="ac_core.stepper"):
        stepper.step()
    assert stepper.stats["timeouts"] == 1
    assert "timed out" in caplog.text
    stepper.reset_stats()
    assert stepper.stats["timeouts"] == 0


class TickWriter(threading.Thread):
    """A physics page writer at a fixed rate until stopped or paused."""

    def __init__(self, publisher: PagePublisher, hz: float) -> None:
        super().__init__(daemon=True)
        self.pub = publisher
        self.period = 1.0 / hz
        self.running = threading.Event()
        self.running.set()
        self.stop_flag = threading.Event()
        self.packet_id = 0
        publisher.graphics["status"] = 2
        publisher.publish("graphics")

    def run(self) -> None:
        next_t = time.monotonic()
        while not self.stop_flag.is_set():
            next_t += self.period
            time.sleep(max(0.0, next_t - time.monotonic()))
            if not self.running.is_set():
                continue
            self.packet_id += 1
            self.pub.physics["packetId"] = self.packet_id
            self.pub.publish("physics")


@pytest.fixture
def live_pages(prefix: str):
    with PagePublisher(prefix) as pub:
        writer = TickWriter(pub, hz=500)
        writer.start()
        with TelemetryStream(prefix, expected_period_s=0.002) as stream:
            yield stream, writer
        writer.stop_flag.set()
        writer.join()


def test_physics_stepper_ends_steps_every_k_packets(live_pages):
    stream, _writer = live_pages
    # A late wake-up on a loaded machine may see a packet well past the target; only beyond
    # timeout_ticks does the stepper re-anchor (the next test), so allow plenty here.
    stepper = PhysicsStepper(stream, ticks=3, timeout_ticks=10_000)
    stepper.step(timeout=5.0)
    targets, ids = [stepper._stepper.target_packet_id], []
    for _ in range(10):
        ids.append(stepper.step(timeout=5.0))
        targets.append(stepper._stepper.target_packet_id)
    # Targets chain from the previous target (no drift), each k = 3 packets on; a step ends at or
    # after its target (a loaded machine may see a later packet first).
    assert all(b - a == 3 for a, b in itertools.pairwise(targets))
    assert all(i >= t for i, t in zip(ids, targets[:-1], strict=True))
    stats = stepper.stats
    assert stats["steps"] == 11
    assert stats["p50_s"] <= stats["max_s"]


def test_physics_stepper_re_anchors_when_the_game_ran_past_its_timeout(live_pages):
    stream, _writer = live_pages
    stepper = PhysicsStepper(stream, ticks=2, timeout_ticks=2)
    stepper.step(timeout=5.0)
    time.sleep(0.2)  # the 500 Hz writer publishes ~100 packets: far more than 2 past the target
    stepper.step(timeout=5.0)
    assert stepper.stats["timeouts"] >= 1
    before = stepper._stepper.target_packet_id
    stepper.step(timeout=5.0)
    assert stepper._stepper.target_packet_id > before  # chained again from the new anchor


def test_physics_stepper_times_out_while_the_game_is_paused(live_pages):
    stream, writer = live_pages
    stepper = PhysicsStepper(stream, ticks=2)
    stepper.step(timeout=5.0)
    writer.running.clear()
    time.sleep(0.05)
    with pytest.raises(TimeoutError, match="paused"):
        stepper.step(timeout=0.1)
    writer.running.set()
    assert stepper.step(timeout=5.0) > 0


def test_ctrl_c_interrupts_a_physics_step(live_pages):
    stream, writer = live_pages
    stepper = PhysicsStepper(stream, ticks=1)
    stepper.step(timeout=5.0)
    writer.running.clear()
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        stepper.step(timeout=30.0)
    timer.join()
    writer.running.set()
