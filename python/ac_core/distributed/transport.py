"""The one small interface between acting and learning, and its in-process implementation.

A collector only ever calls :class:`Transport`: ``push`` a batch of transitions, ``pull_weights``
newer than the version it acts with, read ``stats``. The same collector code therefore runs

- in one process (:class:`InProcessTransport`, direct calls; tests and the transport-cost baseline),
- as a Ray actor inside the cluster (``ac_core.distributed.actors.RayTransport``, object refs),
- on a game box through Ray Client, behind :class:`ac_core.distributed.buffered.BufferedTransport`
  (a background thread, a bounded buffer, reconnects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.errors import AcCoreError


class TransportError(AcCoreError, RuntimeError):
    """The other side could not be reached; the caller may retry later."""


@dataclass
class TransportStats:
    pushed_batches: int = 0
    pushed_transitions: int = 0
    dropped_transitions: int = 0  # lost to a full buffer while disconnected
    buffered_transitions: int = 0  # waiting to be sent
    weight_updates: int = 0  # newer snapshots received
    reconnects: int = 0
    connected: bool = True
    global_step: int = -1  # the replay's global env-step counter as last heard (-1: not yet)


class Transport(Protocol):
    def push(self, batch: TransitionBatch) -> None:
        """Deliver (or queue) a batch of transitions for the replay."""

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        """The learner's weights unless they are the ``(learner_id, version)`` the caller has, else None."""

    def stats(self) -> TransportStats: ...

    def close(self) -> None: ...


class ReplaySink(Protocol):
    def push(self, batch: TransitionBatch) -> int:
        """Store the batch; returns the global env-step counter."""


class WeightSource(Protocol):
    def get_weights(self, learner_id: str, version: int) -> WeightSnapshot | None: ...


class InProcessTransport:
    """Direct calls into a replay service and a learner living in the same process."""

    def __init__(self, replay: ReplaySink, learner: WeightSource) -> None:
        self.replay, self.learner = replay, learner
        self._stats = TransportStats()

    def push(self, batch: TransitionBatch) -> None:
        self._stats.global_step = self.replay.push(batch)
        self._stats.pushed_batches += 1
        self._stats.pushed_transitions += len(batch)

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        snapshot = self.learner.get_weights(learner_id, version)
        if snapshot is not None:
            self._stats.weight_updates += 1
        return snapshot

    def stats(self) -> TransportStats:
        return TransportStats(**vars(self._stats))

    def close(self) -> None:
        pass
