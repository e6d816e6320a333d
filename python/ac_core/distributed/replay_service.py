"""The shared replay: one buffer fed by every source, sampled by the learner.

A plain class (the Ray actor is this class wrapped by ``ray.remote``), so its bookkeeping is tested
without Ray. Besides the buffer it keeps the global env-step counter (the sum of every source's
steps, which drives epsilon, the learning rate and the replay ratio exactly as the single-machine
trainer's step counter does) and per-source counters for the progress bar and TensorBoard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ac_core.agents.replay import PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer
from ac_core.distributed.messages import TransitionBatch


@dataclass
class SourceStats:
    env_steps: int = 0
    transitions: int = 0
    batches: int = 0
    policy_version: int = -1
    last_push: float = 0.0  # time.time() of the latest batch


@dataclass
class SampleReply:
    batches: list[ReplayBatch]
    env_steps: int  # the global counter when sampled
    size: int


@dataclass
class ReplayStats:
    env_steps: int
    size: int
    capacity: int
    sources: dict[str, SourceStats]
    # Drained by each stats() call: what finished since the previous call.
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    lap_times: list[float] = field(default_factory=list)


class ReplayService:
    def __init__(self, capacity: int, obs_dim: int, prioritized: bool = False, alpha: float = 0.6,
                 seed: int = 0, start_step: int = 0) -> None:
        self.buffer = PrioritizedReplayBuffer(capacity, obs_dim, alpha) if prioritized \
            else ReplayBuffer(capacity, obs_dim)
        self.obs_dim = obs_dim
        self.rng = np.random.default_rng([seed, 2])  # its own stream: sampling happens only here
        self.env_steps = start_step
        self.sources: dict[str, SourceStats] = {}
        self._returns: list[float] = []
        self._lengths: list[int] = []
        self._laps: list[float] = []

    def push(self, batch: TransitionBatch) -> int:
        """Store a batch; returns the global env-step counter."""
        if len(batch) and batch.obs.shape[1] != self.obs_dim:
            raise ValueError(f"batch from {batch.source!r} has observations of {batch.obs.shape[1]} values, the "
                             f"replay holds {self.obs_dim}; the source runs different env settings than the "
                             "learner (take them from the learner's config)")
        self.buffer.add_batch(*batch.arrays())
        self.env_steps += int(batch.env_steps)
        source = self.sources.setdefault(batch.source, SourceStats())
        source.env_steps += int(batch.env_steps)
        source.transitions += len(batch)
        source.batches += 1
        source.policy_version = int(batch.policy_version)
        source.last_push = time.time()
        self._returns.extend(batch.episode_returns)
        self._lengths.extend(batch.episode_lengths)
        self._laps.extend(batch.lap_times)
        return self.env_steps

    def sample(self, count: int, batch_size: int, beta: float = 1.0) -> SampleReply:
        """``count`` independent batches (one reply per learner round trip)."""
        batches = [self.buffer.sample(batch_size, self.rng, beta) for _ in range(count)] if len(self.buffer) else []
        return SampleReply(batches, self.env_steps, len(self.buffer))

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        self.buffer.update_priorities(indices, priorities)

    def counters(self) -> tuple[int, int]:
        """(global env steps, transitions stored)."""
        return self.env_steps, len(self.buffer)

    def set_env_steps(self, step: int) -> None:
        """Continue the global counter from a checkpoint's step."""
        self.env_steps = int(step)

    def stats(self) -> ReplayStats:
        stats = ReplayStats(self.env_steps, len(self.buffer), self.buffer.capacity,
                            {name: SourceStats(**vars(s)) for name, s in self.sources.items()},
                            self._returns, self._lengths, self._laps)
        self._returns, self._lengths, self._laps = [], [], []
        return stats

    def state_dict(self) -> dict[str, Any]:
        state = self.buffer.state_dict()
        state["step"] = self.env_steps
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state)
