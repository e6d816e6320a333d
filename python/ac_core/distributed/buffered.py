"""A transport for real-time game boxes: the control loop never waits for the network.

``push`` only appends to a bounded in-memory buffer and ``pull_weights`` only reads the newest
snapshot already fetched; a background thread does the real I/O through an inner link (Ray Client on
a game box) and keeps retrying while the link is down. So a learner restart or a network loss never
stalls the car: it keeps driving with its last weights. When the buffer is full the *oldest* batches
are dropped (fresh experience is worth more) and counted, so the box can say how many it lost.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.distributed.transport import TransportError, TransportStats


class Link(Protocol):
    """Blocking I/O that may fail with :class:`TransportError` (and recovers on a later call)."""

    def push(self, batch: TransitionBatch) -> int:
        """Deliver a batch; returns the replay's global env-step counter."""

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None: ...

    def reconnects(self) -> int: ...

    def close(self) -> None: ...


class BufferedTransport:
    def __init__(self, link: Link, capacity_transitions: int = 100_000, retry_interval_s: float = 2.0,
                 weights_interval_s: float = 1.0, log: Callable[[str], None] | None = None) -> None:
        if capacity_transitions < 1:
            raise ValueError(f"capacity_transitions must be >= 1, got {capacity_transitions}")
        self.link, self.capacity = link, capacity_transitions
        self.retry_interval_s, self.weights_interval_s = retry_interval_s, weights_interval_s
        self.log = log or (lambda message: None)
        self._queue: deque[TransitionBatch] = deque()
        self._queued = 0
        self._stats = TransportStats()
        self._weights: WeightSnapshot | None = None
        self._have: tuple[str, int] = ("", -1)  # what the consumer acts with
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ac-core-transport", daemon=True)
        self._thread.start()

    # ----- the control loop's side (never blocks on the network) -------------------------------
    def push(self, batch: TransitionBatch) -> None:
        with self._lock:
            self._queue.append(batch)
            self._queued += len(batch)
            while self._queued > self.capacity and len(self._queue) > 1:
                dropped = self._queue.popleft()
                self._queued -= len(dropped)
                self._stats.dropped_transitions += len(dropped)
        self._wake.set()

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        with self._lock:
            self._have = (learner_id, version)
            weights = self._weights
        if weights is not None and weights.is_newer_than(learner_id, version):
            with self._lock:
                self._stats.weight_updates += 1
            return weights
        return None

    def stats(self) -> TransportStats:
        with self._lock:
            stats = TransportStats(**vars(self._stats))
            stats.buffered_transitions = self._queued
        stats.reconnects = self.link.reconnects()
        return stats

    # ----- the I/O thread ----------------------------------------------------------------------
    def _run(self) -> None:
        next_weights = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_weights:
                    self._fetch_weights()
                    next_weights = time.monotonic() + self.weights_interval_s
                self._send_queued()
                self._set_connected(True)
                self._wake.wait(timeout=min(self.weights_interval_s, 0.5))
                self._wake.clear()
            except TransportError as exc:
                if self._set_connected(False):
                    self.log(f"link down ({exc}); driving on with the last weights, buffering transitions")
                self._stop.wait(self.retry_interval_s)

    def _fetch_weights(self) -> None:
        with self._lock:
            have = self._weights
        tag = (have.learner_id, have.version) if have is not None else self._have
        snapshot = self.link.pull_weights(*tag)
        if snapshot is not None:
            with self._lock:
                self._weights = snapshot

    def _send_queued(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                batch = self._queue[0]
            global_step = self.link.push(batch)  # raises TransportError: the batch stays queued
            with self._lock:
                # The consumer may have dropped it meanwhile (buffer overflow); only pop what was sent.
                if self._queue and self._queue[0] is batch:
                    self._queue.popleft()
                    self._queued -= len(batch)
                self._stats.pushed_batches += 1
                self._stats.pushed_transitions += len(batch)
                self._stats.global_step = max(self._stats.global_step, global_step)

    def _set_connected(self, connected: bool) -> bool:
        """Record the link state; True when it changed."""
        with self._lock:
            changed = self._stats.connected != connected
            self._stats.connected = connected
        if changed and connected:
            self.log("link up again")
        return changed

    # ----- shutdown ----------------------------------------------------------------------------
    def flush(self, timeout_s: float, limit_s: float | None = None) -> int:
        """Wait for the buffer to drain while it makes progress: up to ``timeout_s`` after the last batch
        went out (a link that delivers slowly, as on a loaded head, is still waited for; a dead one is not),
        and never longer than ``limit_s`` (default 8 × ``timeout_s``) in all. Returns the transitions
        still unsent."""
        now = time.monotonic()
        give_up = now + (8.0 * timeout_s if limit_s is None else limit_s)
        deadline = min(now + timeout_s, give_up)
        self._wake.set()
        with self._lock:
            queued = self._queued
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queued:
                    return 0
                if self._queued < queued:  # a batch went out: the link is alive, keep waiting
                    queued = self._queued
                    deadline = min(time.monotonic() + timeout_s, give_up)
            time.sleep(0.05)
        with self._lock:
            return self._queued

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.link.close()
