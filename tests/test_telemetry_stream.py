"""TelemetryStream: frames per physics packetId, latest/drain/wait, overflow, pauses and stalls,
start/stop, Ctrl-C and interpreter exit. Pages come from a Python-side seqlocked publisher."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import ac_core
from ac_core import _core
from ac_core import telemetry_stream as T
from ac_core.shm import PageNotFoundError
from ac_core.testing.page_publisher import PagePublisher

REPO = Path(__file__).resolve().parents[1]


class Producer:
    """Writes physics pages whose fields derive from the packetId (AC_LIVE graphics)."""

    def __init__(self, publisher: PagePublisher) -> None:
        self.pub = publisher
        self.packet_id = 0
        self.pub.graphics["status"] = 2  # AC_LIVE
        self.pub.graphics["packetId"] = 1
        self.pub.publish("graphics")

    def tick(self) -> int:
        self.packet_id += 1
        phys = self.pub.physics
        phys["packetId"] = self.packet_id
        phys["gas"] = (self.packet_id % 100) / 100.0
        phys["rpms"] = self.packet_id * 7
        self.pub.publish("physics")
        return self.packet_id


@pytest.fixture
def producer(prefix: str):
    with PagePublisher(prefix) as pub:
        yield Producer(pub)


def fast_stream(prefix: str, **config) -> T.TelemetryStream:
    config.setdefault("pause_after_s", 0.03)
    config.setdefault("stale_after_s", 0.15)
    return T.TelemetryStream(prefix, **config)


def tick_and_wait(stream: T.TelemetryStream, producer: Producer) -> int:
    packet_id = producer.tick()
    assert stream.wait_for_packet(packet_id - 1, timeout=5.0) == packet_id
    return packet_id


def test_frame_dtype_matches_the_cpp_frame():
    assert T.FRAME_DTYPE.itemsize == _core.FRAME_SIZE
    assert T.FRAME_DTYPE.fields["physics"][1] == 40
    assert T.empty_frame().nbytes == _core.FRAME_SIZE


def test_missing_pages_say_what_to_start(prefix: str):
    with pytest.raises(PageNotFoundError, match="ac-core sim"):
        T.TelemetryStream(prefix)


def test_one_frame_per_packet_with_latest_and_drain(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        ids = [tick_and_wait(stream, producer) for _ in range(20)]
        frames = stream.drain()
        assert frames.dtype == T.FRAME_DTYPE
        assert list(frames["physics_packet_id"]) == ids
        assert np.all(frames["physics"]["packetId"] == frames["physics_packet_id"])
        assert np.allclose(frames["physics"]["gas"], (np.array(ids) % 100) / 100.0)
        assert np.all(frames["physics"]["rpms"] == np.array(ids) * 7)
        assert np.all(frames["graphics"]["status"] == 2)
        assert np.all(np.diff(frames["frame_index"]) == 1)
        assert np.all(np.diff(frames["time_ns"]) >= 0)
        assert len(stream.drain()) == 0
        out = T.empty_frame()
        assert stream.latest(out)
        assert int(out["physics_packet_id"]) == ids[-1]
        stats = stream.stats
        assert stats["frames"] == 20
        assert stats["dropped"] == 0
        assert stats["missed_packets"] == 0
        assert stats["liveness"] == "live"


def test_latest_into_a_preallocated_buffer_does_not_allocate(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        tick_and_wait(stream, producer)
        out = T.empty_frame()
        stream.latest(out)
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(2000):
            stream.latest(out)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "lineno") if stat.size_diff > 0)
        assert grown < 2048, f"latest(out) allocated {grown} bytes over 2000 calls"


def test_full_ring_counts_dropped_frames_and_latest_stays_current(prefix: str, producer: Producer):
    with fast_stream(prefix, ring_capacity=4) as stream:
        ids = [tick_and_wait(stream, producer) for _ in range(10)]
        stats = stream.stats
        assert stats["dropped"] == 6
        frames = stream.drain()
        assert list(frames["physics_packet_id"]) == ids[:4]  # drops are the newest frames
        assert stream.latest_frame()["physics_packet_id"] == ids[-1]
        tick_and_wait(stream, producer)
        assert stream.drain()["frame_index"][0] == 10  # the gap shows in frame_index


def test_missed_packet_ids_are_counted(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        first = tick_and_wait(stream, producer)
        producer.packet_id += 5  # five packets the poller never saw
        last = tick_and_wait(stream, producer)
        frames = stream.drain()
        assert list(frames["physics_packet_id"]) == [first, last]
        assert frames["missed_packets"][1] == 5
        assert stream.stats["missed_packets"] == 5


def test_a_stalled_writer_pauses_then_resumes(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        tick_and_wait(stream, producer)
        deadline = time.monotonic() + 5.0
        while stream.stats["liveness"] != "stale" and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = stream.stats
        assert stats["liveness"] == "stale"
        assert stats["pauses"] == 1
        assert stats["stalls"] == 1
        assert stream.wait_for_packet(producer.packet_id, timeout=0.05) is None
        tick_and_wait(stream, producer)
        frames = stream.drain()
        assert frames["flags"][-1] & T.FRAME_AFTER_PAUSE
        assert stream.stats["resumes"] == 1
        assert stream.stats["liveness"] == "live"


def test_graphics_is_optional(prefix: str, producer: Producer):
    with fast_stream(prefix, graphics=False) as stream:
        tick_and_wait(stream, producer)
        frame = stream.drain()[0]
        assert frame["flags"] & T.FRAME_GRAPHICS_STALE


def test_start_stop_close(prefix: str, producer: Producer):
    stream = fast_stream(prefix, start=False)
    assert not stream.running
    with pytest.raises(RuntimeError, match="start"):
        stream.wait_for_packet(0, timeout=0.01)
    stream.start()
    stream.start()  # idempotent
    assert stream.running
    tick_and_wait(stream, producer)
    stream.stop()
    assert not stream.running
    assert len(stream.drain()) == 1  # queued frames survive stop()
    stream.start()
    tick_and_wait(stream, producer)
    stream.close()
    stream.close()
    assert stream.closed and not stream.running
    with pytest.raises(RuntimeError, match="closed"):
        stream.start()


def test_bad_config_names_the_field(prefix: str, producer: Producer):
    with pytest.raises(ValueError, match="ring_capacity"):
        T.TelemetryStream(prefix, ring_capacity=1000)
    with pytest.raises(ValueError, match="spin_s"):
        T.TelemetryStream(prefix, spin_s=1.0)


def test_wrong_buffers_are_rejected(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        with pytest.raises(ValueError, match="bytes"):
            stream.latest(np.zeros(10, dtype=np.uint8))
        readonly = T.empty_frame()
        readonly.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            stream.latest(readonly)


def test_ctrl_c_interrupts_wait_for_packet(prefix: str, producer: Producer):
    with fast_stream(prefix) as stream:
        last = tick_and_wait(stream, producer)
        timer = threading.Timer(0.2, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            stream.wait_for_packet(last, timeout=None)
        timer.join()
        assert time.monotonic() - started < 5.0
        assert stream.running  # the poller is unaffected


def _run_script(script: str, prefix: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(ac_core.__file__).resolve().parents[1]), env.get("PYTHONPATH")])
    )
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), prefix],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_interpreter_exit_stops_an_unclosed_stream(prefix: str, producer: Producer):
    proc = _run_script(
        """
        import sys
        from ac_core.telemetry_stream import TelemetryStream
        stream = TelemetryStream(sys.argv[1])
        stream.wait_for_packet(0, timeout=5.0)
        print("frames", stream.stats["frames"])
        # no close(): the atexit hook must stop the poller thread before the pages are unmapped
        """,
        prefix,
    )
    producer.tick()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "frames 1" in out


def test_sigint_in_another_process_ends_its_wait_cleanly(prefix: str, producer: Producer):
    proc = _run_script(
        """
        import sys
        from ac_core.telemetry_stream import TelemetryStream
        with TelemetryStream(sys.argv[1]) as stream:
            last = stream.wait_for_packet(0, timeout=5.0)
            try:  # the signal may land while "waiting" is still being written
                print("waiting", flush=True)
                stream.wait_for_packet(last)
            except KeyboardInterrupt:
                print("interrupted", stream.running, flush=True)
        print("closed", stream.running)
        """,
        prefix,
    )
    producer.tick()
    assert proc.stdout.readline().strip() == "waiting"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "interrupted True" in out
    assert "closed False" in out
