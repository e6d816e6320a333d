"""The Ray actors: thin wrappers that put the Ray-free parts on the cluster.

- replay: :class:`~ac_core.distributed.replay_service.ReplayService` as is (``num_cpus=0``: it only
  copies arrays, and must never take a CPU slot a collector needs).
- learner: :class:`LearnerActor`, a :class:`~ac_core.distributed.learner_core.LearnerCore` sampling
  the replay actor with one request always in flight; threaded, so weight pulls are answered while a
  training slice runs.
- collectors: :class:`CollectorActor`, a :class:`~ac_core.distributed.collector.Collector` on the
  batched simulator, pushing through :class:`RayTransport`.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np
import ray

from ac_core.config import config_from_dict
from ac_core.distributed.collector import Collector, CollectorReport, collector_seed
from ac_core.distributed.learner_core import LearnerCore, LearnerReport
from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.distributed.replay_service import ReplayService, SampleReply
from ac_core.distributed.transport import TransportStats

ReplayActor = ray.remote(ReplayService)


class RaySampler:
    """Samples the replay actor with the next request already in flight (hides the round trip)."""

    def __init__(self, replay: Any) -> None:
        self.replay = replay
        self._next: Any = None
        self._next_count = 0
        self._last_counters = (0, 0)

    def sample(self, count: int, batch_size: int, beta: float) -> SampleReply:
        ref = self._next if self._next is not None else self.replay.sample.remote(count, batch_size, beta)
        self._next = self.replay.sample.remote(count, batch_size, beta)
        reply: SampleReply = ray.get(ref)
        self._last_counters = (reply.env_steps, reply.size)
        return reply

    def counters(self) -> tuple[int, int]:
        self._last_counters = tuple(ray.get(self.replay.counters.remote()))  # type: ignore[assignment]
        return self._last_counters

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        self.replay.update_priorities.remote(indices, priorities)  # fire and forget: order per caller is kept


@ray.remote
class LearnerActor:
    def __init__(self, config: dict[str, Any], obs_dim: int, n_actions: int, replay: Any, publish_every: int,
                 sample_batches: int) -> None:
        import warnings

        import torch

        from ac_core.agents.agent import resolve_device

        # Sampled batches arrive as read-only views of Ray's shared memory; torch only reads them.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        self.config = config_from_dict(config)
        threads = self.config.train.torch_threads
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(self.config.train.seed)
        self.core = LearnerCore(self.config, obs_dim, n_actions, resolve_device(self.config.train.device),
                                publish_every, sample_batches)
        self.sampler = RaySampler(replay)

    def train(self, seconds: float) -> LearnerReport:
        return self.core.train_for(seconds, self.sampler)

    def get_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        return self.core.get_weights(learner_id, version)

    def state(self) -> dict[str, Any]:
        return self.core.state()

    def load_state(self, state: dict[str, Any], global_step: int, steps_since_train: int = 0) -> int:
        self.core.load_state(state, global_step, steps_since_train)
        return self.core.weights.version

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    def architecture(self) -> dict[str, Any]:
        return self.core.architecture()

    def device(self) -> str:
        return str(self.core.agent.device)


class RayTransport:
    """Inside the cluster: pushes are object refs with at most ``max_in_flight`` outstanding (back-pressure
    without waiting on every push); weight pulls are one call to the learner."""

    def __init__(self, replay: Any, learner: Any, max_in_flight: int = 2) -> None:
        self.replay, self.learner, self.max_in_flight = replay, learner, max_in_flight
        self._in_flight: deque[tuple[Any, int]] = deque()
        self._stats = TransportStats()

    def push(self, batch: TransitionBatch) -> None:
        self._in_flight.append((self.replay.push.remote(batch), len(batch)))
        while len(self._in_flight) > self.max_in_flight:
            self._complete_oldest()

    def _complete_oldest(self) -> None:
        ref, count = self._in_flight.popleft()
        self._stats.global_step = max(self._stats.global_step, int(ray.get(ref)))
        self._stats.pushed_batches += 1
        self._stats.pushed_transitions += count

    def flush(self) -> None:
        while self._in_flight:
            self._complete_oldest()

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        snapshot = ray.get(self.learner.get_weights.remote(learner_id, version))
        if snapshot is not None:
            self._stats.weight_updates += 1
        return snapshot

    def stats(self) -> TransportStats:
        stats = TransportStats(**vars(self._stats))
        stats.buffered_transitions = sum(count for _, count in self._in_flight)
        return stats

    def close(self) -> None:
        self.flush()


@ray.remote
class CollectorActor:
    """A batched-simulator collector; ``run`` returns only once its chunk reached the replay."""

    def __init__(self, config: dict[str, Any], index: int, replay_name: str, learner_name: str, push_every: int,
                 sync_every: int) -> None:
        import torch

        from ac_core.train.racing import make_env_factory

        torch.set_num_threads(1)  # a small MLP on a batch of cars: one thread is fastest, and leaves the rest
        cfg = config_from_dict(config)
        factory, _ = make_env_factory(cfg)
        self.index = index
        # Looked up by name rather than passed as handles: a restarted collector re-runs this constructor
        # and must not depend on arguments held in the object store.
        self.transport = RayTransport(ray.get_actor(replay_name), ray.get_actor(learner_name))
        self.collector = Collector(factory(), cfg, self.transport, f"collector-{index}",
                                   seed=collector_seed(cfg.train.seed, index), push_every=push_every,
                                   sync_every=sync_every)

    def run(self, iterations: int) -> CollectorReport:
        report = self.collector.run(iterations, flush=True)
        self.transport.flush()
        report.transport = self.transport.stats()
        return report

    def reseed(self, seed: int) -> int:
        """After a restart: new episodes from a new seed (the restarted actor would repeat the old ones)."""
        self.collector.reset(seed)
        return os.getpid()

    def spaces(self) -> tuple[int, int, int]:
        return self.collector.obs_dim, self.collector.n_actions, self.collector.env.n_envs

    def pid(self) -> int:
        return os.getpid()


@ray.remote(num_cpus=0)
def evaluate_weights(config: dict[str, Any], arrays: dict[str, np.ndarray], obs_dim: int, n_actions: int) -> dict:
    """Greedy evaluation of published weights on the simulator, beside the collectors (not blocking them)."""
    import torch

    torch.set_num_threads(1)
    return evaluate_snapshot(config_from_dict(config), arrays, obs_dim, n_actions)


def evaluate_snapshot(cfg: Any, arrays: dict[str, np.ndarray], obs_dim: int, n_actions: int) -> dict[str, float]:
    """The training runs' racing evaluation (:func:`ac_core.train.racing.racing_evaluator`) of published
    weights; a cluster trains on the built-in simulator, so it evaluates there too."""
    from ac_core.agents.agent import IQNAgent
    from ac_core.distributed.learner_core import load_snapshot
    from ac_core.train.racing import racing_evaluator

    agent = IQNAgent(obs_dim, n_actions, cfg.agent, "cpu")
    load_snapshot(agent, WeightSnapshot(0, 0, arrays))
    evaluator = racing_evaluator(cfg, backend="sim")
    try:
        return dict(evaluator(agent, 0))
    finally:
        evaluator.close()
