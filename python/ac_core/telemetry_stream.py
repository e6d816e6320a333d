"""Live telemetry from AC's pages: a C++ poller thread turns every new physics packetId into a frame.

``TelemetryStream`` opens ``<prefix>physics`` and ``<prefix>graphics`` (never creating them), starts
the poller and hands frames to Python two ways:

* ``latest(out)`` copies the newest frame into a preallocated buffer (no allocation, seqlock-checked);
* ``drain()`` returns every queued frame, oldest first, as a NumPy structured array (``FRAME_DTYPE``).

The ring never overwrites: when Python falls behind by ``ring_capacity`` frames, new frames are
dropped from the queue (still visible through ``latest``) and counted in ``stats["dropped"]``; each
frame carries ``frame_index``, so a consumer sees the gap. ``wait_for_packet`` blocks with the GIL
released and honours Ctrl-C. Streams stop at ``close()``, on ``with`` exit, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

import numpy as np

from ac_core import _core
from ac_core import pages as P
from ac_core.shm import DEFAULT_PREFIX, PageNotFoundError, page_name, what_to_start

FRAME_GRAPHICS_STALE: int = _core.FRAME_GRAPHICS_STALE
FRAME_AFTER_PAUSE: int = _core.FRAME_AFTER_PAUSE


def _frame_dtype() -> np.dtype:
    layout = _core.frame_layout()
    names, formats, offsets = [], [], []
    for name, (offset, kind) in sorted(layout.items(), key=lambda item: item[1][0]):
        names.append(name)
        formats.append({"physics": P.PHYSICS_DTYPE, "graphics": P.GRAPHICS_DTYPE}.get(kind, kind))
        offsets.append(offset)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": _core.FRAME_SIZE})
    if dtype.itemsize != _core.FRAME_SIZE:
        raise ImportError(f"frame dtype is {dtype.itemsize} bytes, the C++ frame {_core.FRAME_SIZE}: rebuild _core")
    return dtype


FRAME_DTYPE: np.dtype = _frame_dtype()


def empty_frames(count: int) -> np.ndarray:
    """A zeroed array of ``count`` frames, e.g. a reusable buffer for ``drain_into``."""
    return np.zeros(count, dtype=FRAME_DTYPE)


def empty_frame() -> np.ndarray:
    """A zeroed 0-d frame, the buffer ``latest(out)`` fills."""
    return np.zeros((), dtype=FRAME_DTYPE)


_live_streams: weakref.WeakSet[TelemetryStream] = weakref.WeakSet()
_live_lock = threading.Lock()


@atexit.register
def _stop_all_streams() -> None:
    # The poller thread reads mapped memory: stop it before the interpreter unmaps anything.
    with _live_lock:
        streams = list(_live_streams)
    for stream in streams:
        stream.close()


class TelemetryStream:
    """Frames of AC's physics (+ latest graphics) pages, one per physics packetId (333 Hz in AC)."""

    def __init__(
        self,
        prefix: str = DEFAULT_PREFIX,
        *,
        graphics: bool = True,
        start: bool = True,
        ring_capacity: int = 1024,
        idle_sleep_s: float = 0.0005,
        spin_s: float = 0.0003,
        expected_period_s: float = 1.0 / 333.0,
        paused_sleep_s: float = 0.002,
        pause_after_s: float = 0.05,
        stale_after_s: float = 1.0,
        max_retries: int = 16,
        realtime_priority: int = 0,
    ) -> None:
        self.prefix = prefix
        physics_page = self._open(prefix, "physics")
        graphics_page = self._open(prefix, "graphics") if graphics else None
        self._init(
            physics_page,
            graphics_page,
            start=start,
            ring_capacity=ring_capacity,
            idle_sleep_s=idle_sleep_s,
            spin_s=spin_s,
            expected_period_s=expected_period_s,
            paused_sleep_s=paused_sleep_s,
            pause_after_s=pause_after_s,
            stale_after_s=stale_after_s,
            max_retries=max_retries,
            realtime_priority=realtime_priority,
        )

    @classmethod
    def from_pages(cls, physics: Any, graphics: Any = None, *, start: bool = True, **config: Any) -> TelemetryStream:
        """A stream over already-open ``_core.SharedPage`` objects (tests, in-process producers)."""
        self = cls.__new__(cls)
        self.prefix = ""
        self._init(physics, graphics, start=start, **config)
        return self

    @staticmethod
    def _open(prefix: str, kind: str) -> Any:
        name = page_name(prefix, kind)
        try:
            return _core.SharedPage.open(name)
        except FileNotFoundError:
            raise PageNotFoundError(
                f"missing shared-memory page {_core.SharedPage.os_name(name)}: {what_to_start(prefix)}"
            ) from None

    def _init(self, physics: Any, graphics: Any, *, start: bool, **config: Any) -> None:
        self._physics_page = physics
        self._graphics_page = graphics
        self._poller = _core.TelemetryPoller(physics, graphics, **config)
        self._closed = False
        with _live_lock:
            _live_streams.add(self)
        if start:
            self.start()

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._closed:
            raise RuntimeError("telemetry stream is closed; open a new TelemetryStream")
        self._poller.start()

    def stop(self) -> None:
        """Stop the poller thread (joins it). Queued frames stay available to drain()."""
        self._poller.stop()

    def close(self) -> None:
        if self._closed:
            return
        self._poller.stop()
        self._closed = True
        with _live_lock:
            _live_streams.discard(self)

    @property
    def running(self) -> bool:
        return self._poller.running

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> TelemetryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        poller = getattr(self, "_poller", None)
        if poller is not None:
            poller.stop()

    # -- reading ----------------------------------------------------------------------------------
    def latest(self, out: np.ndarray) -> bool:
        """Copy the newest frame into ``out`` (``empty_frame()``); False if no frame exists yet."""
        return self._poller.latest_into(out)

    def latest_frame(self) -> np.ndarray | None:
        """Convenience: the newest frame in a new array (allocates; use ``latest(out)`` in loops)."""
        out = empty_frame()
        return out if self._poller.latest_into(out) else None

    def drain(self, max_frames: int | None = None) -> np.ndarray:
        """All queued frames (at most ``max_frames``), oldest first, as a ``FRAME_DTYPE`` array."""
        count = self._poller.pending
        if max_frames is not None:
            count = min(count, max_frames)
        out = np.empty(count, dtype=FRAME_DTYPE)
        if count == 0:
            return out
        got = self._poller.drain_into(out)
        return out[:got]

    def drain_into(self, out: np.ndarray) -> int:
        """Pop up to ``len(out)`` frames into a preallocated ``empty_frames(n)`` buffer."""
        return self._poller.drain_into(out)

    def wait_for_packet(self, after_id: int, timeout: float | None = None) -> int | None:
        """Block until a physics packetId newer than ``after_id`` is a frame; its id, or None on timeout.

        The GIL is released while waiting and Ctrl-C raises KeyboardInterrupt within ~50 ms.
        """
        if not self._poller.running and self._poller.frames_made == 0:
            raise RuntimeError("telemetry stream is not running: call start() first")
        return self._poller.wait_for_packet(int(after_id), -1.0 if timeout is None else float(timeout))

    @property
    def pending(self) -> int:
        return self._poller.pending

    @property
    def capacity(self) -> int:
        return self._poller.capacity

    @property
    def latest_packet_id(self) -> int:
        return self._poller.latest_packet_id

    @property
    def stats(self) -> dict[str, Any]:
        """frames, dropped, missed_packets, torn_retries, read_failures, restarts, pauses, stalls,
        resumes, polls, last_packet_id, liveness, period_estimate_s, pending."""
        stats = self._poller.stats
        stats["pending"] = self._poller.pending
        return stats

    @property
    def poller(self) -> Any:
        """The C++ TelemetryPoller (for PhysicsStepper)."""
        return self._poller
