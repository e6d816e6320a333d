"""A collector: a (batched) env, a CPU copy of the policy, n-step assembly, batched pushes.

It acts epsilon-greedily with the latest weights it has, assembles n-step transitions locally
(the same ``NStepAssembler`` as the single-machine trainer) and pushes them as one NumPy batch every
``push_every`` transitions — or after ``max_push_interval_s`` when a real-time car produces few —
and asks for newer weights every ``sync_every`` env steps. Everything it needs from the learner side
goes through a :class:`~ac_core.distributed.transport.Transport`, so the same class runs as a Ray
actor, on a game box through Ray Client, or in-process.

Epsilon follows the config's schedule on the *global* env-step count: the last count heard from the
replay (or carried by a weight snapshot) plus this collector's steps since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ac_core.agents.agent import IQNAgent, LinearSchedule
from ac_core.agents.replay import NStepAssembler
from ac_core.config import Config
from ac_core.distributed.learner_core import load_snapshot
from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.distributed.transport import Transport, TransportStats
from ac_core.train.batched_env import BatchedEnv
from ac_core.train.racing import lap_metrics


def collector_seed(base_seed: int, index: int, restarts: int = 0) -> int:
    """Collector ``index``'s episode seed (after ``restarts`` restarts): apart from every other collector's,
    from a restarted one's earlier episodes, and from the evaluation's (``base_seed + EVAL_SEED_OFFSET``)."""
    return base_seed + 7_919 * (index + 1) + 104_729 * restarts


@dataclass
class CollectorReport:
    source: str
    env_steps: int  # in this call
    total_env_steps: int
    pushed_transitions: int  # total handed to the transport
    pending_steps: int  # steps in the n-step queues, not yet transitions (lost if the collector dies)
    policy_version: int
    learner_id: str
    seconds: float
    episodes: int
    transport: TransportStats = field(default_factory=TransportStats)


class Collector:
    def __init__(self, env: Any, config: Config, transport: Transport, source: str, seed: int,
                 push_every: int = 256, sync_every: int = 400, max_push_interval_s: float = 2.0,
                 step_metrics: Callable[[Any, np.ndarray], dict[str, float]] | None = lap_metrics) -> None:
        if push_every < 1 or sync_every < 1 or max_push_interval_s <= 0:
            raise ValueError("push_every and sync_every must be >= 1 and max_push_interval_s > 0")
        acfg = config.agent
        self.env = env if isinstance(env, BatchedEnv) else BatchedEnv(env)
        self.agent = IQNAgent(self.env.obs_dim, self.env.n_actions, acfg, "cpu")
        self.epsilon = LinearSchedule(acfg.epsilon_start, acfg.epsilon_end, acfg.epsilon_decay_steps)
        self.assembler = NStepAssembler(self.env.n_envs, acfg.n_step, acfg.gamma)
        self.transport, self.source, self.seed = transport, source, seed
        self.push_every, self.sync_every, self.max_push_interval_s = push_every, sync_every, max_push_interval_s
        self.step_metrics = step_metrics
        self.rng = np.random.default_rng([seed, 3])
        self.obs: np.ndarray | None = None
        self.learner_id, self.version = "", -1
        self.known_global_step, self.steps_since_known = 0, 0
        self.steps_since_sync = 0
        self.total_env_steps = 0
        self.pushed_transitions = 0
        self.episodes = 0
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._part_count = 0
        self._steps_unpushed = 0
        self._last_push = time.monotonic()
        self._returns: list[float] = []
        self._lengths: list[int] = []
        self._laps: list[float] = []
        self._running_return = np.zeros(self.env.n_envs)
        self._running_length = np.zeros(self.env.n_envs, dtype=np.int64)

    @property
    def obs_dim(self) -> int:
        return self.env.obs_dim

    @property
    def n_actions(self) -> int:
        return self.env.n_actions

    # ----- weights -----------------------------------------------------------------------------
    def apply_weights(self, snapshot: WeightSnapshot) -> None:
        load_snapshot(self.agent, snapshot)
        self.learner_id, self.version = snapshot.learner_id, snapshot.version
        if snapshot.global_step > self.known_global_step:
            self.known_global_step, self.steps_since_known = snapshot.global_step, 0

    def sync_weights(self) -> bool:
        """Ask for newer weights; True when some arrived."""
        self.steps_since_sync = 0
        snapshot = self.transport.pull_weights(self.learner_id, self.version)
        if snapshot is None:
            return False
        self.apply_weights(snapshot)
        return True

    def current_epsilon(self) -> float:
        return self.epsilon(self.known_global_step + self.steps_since_known)

    # ----- acting ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Start fresh episodes (a restarted collector does this with a new seed)."""
        self.seed = self.seed if seed is None else seed
        self.obs = self.env.reset(seed=self.seed)
        self.assembler.reset()
        self._running_return[:] = 0.0
        self._running_length[:] = 0

    def run(self, iterations: int, flush: bool = True) -> CollectorReport:
        """Step all envs ``iterations`` times; with ``flush`` push everything assembled at the end."""
        start = time.perf_counter()
        steps_before = self.total_env_steps
        if self.obs is None:
            self.reset()
        if self.version < 0:
            self.sync_weights()
        for _ in range(iterations):
            if self.steps_since_sync >= self.sync_every:
                self.sync_weights()
            self._step()
            if self._part_count >= self.push_every or (
                    time.monotonic() - self._last_push >= self.max_push_interval_s and self._steps_unpushed):
                self.push()
        if flush and self._steps_unpushed:
            self.push()
        return CollectorReport(self.source, self.total_env_steps - steps_before, self.total_env_steps,
                               self.pushed_transitions, self.pending_steps(), self.version, self.learner_id,
                               time.perf_counter() - start, self.episodes, self.transport.stats())

    def pending_steps(self) -> int:
        return sum(len(queue) for queue in self.assembler.pending)

    def _step(self) -> None:
        assert self.obs is not None
        actions = self.agent.act(self.obs, self.current_epsilon(), self.rng)
        result = self.env.step(actions)
        transitions = self.assembler.add(self.obs, actions, result.rewards, result.final_obs, result.terminated,
                                         result.truncated, result.valid)
        if transitions is not None:
            self._parts.append(transitions)
            self._part_count += len(transitions[1])
        self.obs = result.obs
        valid = result.valid
        n_new = int(valid.sum())
        self.total_env_steps += n_new
        self._steps_unpushed += n_new
        self.steps_since_sync += n_new
        self.steps_since_known += n_new
        self._running_return[valid] += result.rewards[valid]
        self._running_length[valid] += 1
        for index in np.flatnonzero(valid & (result.terminated | result.truncated)):
            self._returns.append(float(self._running_return[index]))
            self._lengths.append(int(self._running_length[index]))
            self._running_return[index], self._running_length[index] = 0.0, 0
            self.episodes += 1
        if self.step_metrics is not None:
            lap = self.step_metrics(result.infos, valid).get("lap_time_s")
            if lap is not None:
                self._laps.append(float(lap))

    def push(self) -> None:
        batch = TransitionBatch.from_parts(self._parts, self.env.obs_dim, source=self.source,
                                           env_steps=self._steps_unpushed, policy_version=self.version,
                                           episode_returns=self._returns, episode_lengths=self._lengths,
                                           lap_times=self._laps)
        self._parts, self._part_count, self._steps_unpushed = [], 0, 0
        self._returns, self._lengths, self._laps = [], [], []
        self._last_push = time.monotonic()
        self.transport.push(batch)
        self.pushed_transitions += len(batch)
        heard = self.transport.stats().global_step
        if heard > self.known_global_step:
            self.known_global_step, self.steps_since_known = heard, 0

    def close(self) -> None:
        self.env.close()
        self.transport.close()
