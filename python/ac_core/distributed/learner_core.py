"""The learner: the single-machine IQNAgent, fed from a replay it samples through a small interface.

``LearnerCore.train_for(seconds, sampler)`` runs gradient steps at the configured replay ratio,
counted on the global env-step counter by the single-machine trainer's own counter
(:class:`~ac_core.train.credit.UpdateCredit`), and publishes a weight snapshot every
``publish_every`` gradient steps. When the collectors outrun the learner, credit beyond
``max_backlog`` updates is dropped and counted (``skipped_updates``) instead of becoming a backlog
the learner never catches up with.

Thread safety: the Ray actor serves ``get_weights`` from another thread while ``train_for`` runs;
snapshots are immutable and swapped by reference, and ``state``/``load_state`` take the lock that
every gradient step holds.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ac_core.agents.agent import ExponentialSchedule, IQNAgent, LinearSchedule
from ac_core.config import Config
from ac_core.distributed.messages import WeightSnapshot
from ac_core.distributed.replay_service import SampleReply
from ac_core.train.credit import UpdateCredit
from ac_core.train.learners import METRIC_KEYS


class ReplaySampler(Protocol):
    def sample(self, count: int, batch_size: int, beta: float) -> SampleReply: ...

    def counters(self) -> tuple[int, int]: ...

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None: ...


@dataclass
class LearnerReport:
    gradient_steps: int  # total
    updates: int  # in this call
    skipped_updates: int  # total credit dropped because the learner fell behind
    seconds: float
    env_steps: int  # the global counter last seen
    replay_size: int
    weights_version: int
    learning_rate: float
    metrics: dict[str, float] = field(default_factory=dict)  # means over this call's updates
    steps_since_train: int = 0  # the replay-ratio credit towards the next round (a checkpoint keeps it)


def snapshot_of(agent: IQNAgent, global_step: int, learner_id: str) -> WeightSnapshot:
    arrays = {name: tensor.detach().to("cpu", copy=True).numpy() for name, tensor in agent.online.state_dict().items()}
    return WeightSnapshot(agent.gradient_steps, int(global_step), arrays, learner_id)


def load_snapshot(agent: IQNAgent, snapshot: WeightSnapshot) -> None:
    """Put published weights into an agent's online network (acting only needs that one)."""
    # torch.tensor copies: arrays from Ray's object store are read-only views of shared memory.
    agent.online.load_state_dict({name: torch.tensor(np.asarray(a)) for name, a in snapshot.arrays.items()})


class LearnerCore:
    def __init__(self, config: Config, obs_dim: int, n_actions: int, device: torch.device | str = "cpu",
                 publish_every: int = 50, sample_batches: int = 4, max_backlog: int = 1024,
                 idle_sleep_s: float = 0.01) -> None:
        if publish_every < 1 or sample_batches < 1 or max_backlog < 1:
            raise ValueError("publish_every, sample_batches and max_backlog must be >= 1")
        acfg = config.agent
        self.config = config
        self.agent = IQNAgent(obs_dim, n_actions, acfg, device, precision=config.train.precision,
                              pin_memory=config.train.pin_memory)
        self.learning_rate = ExponentialSchedule(acfg.lr, acfg.lr_end, acfg.lr_decay_steps)
        self.beta = LinearSchedule(acfg.priority_beta_start, 1.0, acfg.priority_beta_steps)
        self.publish_every, self.sample_batches = publish_every, sample_batches
        self.idle_sleep_s = idle_sleep_s
        self.learner_id = uuid.uuid4().hex[:12]
        self.credit = UpdateCredit.for_agent(acfg, max_backlog)
        self._seen_env_steps: int | None = None  # the global counter at the last look; credit counts from there
        self._lock = threading.Lock()
        self.weights = snapshot_of(self.agent, 0, self.learner_id)

    # ----- the replay ratio ------------------------------------------------------------------------
    def due_updates(self, env_steps: int, replay_size: int) -> int:
        """Updates pending once the global counter reads ``env_steps`` (steps before the first look earn nothing)."""
        seen = env_steps if self._seen_env_steps is None else self._seen_env_steps
        self._seen_env_steps = max(seen, env_steps)
        return self.credit.earn(max(env_steps - seen, 0), replay_size)

    @property
    def skipped_updates(self) -> int:
        return self.credit.skipped

    # ----- training --------------------------------------------------------------------------------
    def train_for(self, seconds: float, sampler: ReplaySampler) -> LearnerReport:
        start = time.perf_counter()
        deadline = start + seconds
        sums: dict[str, float] = {}
        updates = 0
        prioritized = self.config.agent.prioritized
        env_steps, size = sampler.counters()
        while True:
            due = self.due_updates(env_steps, size)
            if due == 0:
                if time.perf_counter() >= deadline:
                    break
                time.sleep(self.idle_sleep_s)
                env_steps, size = sampler.counters()
                continue
            self.agent.set_learning_rate(self.learning_rate(env_steps))
            reply = sampler.sample(min(due, self.sample_batches), self.config.agent.batch_size, self.beta(env_steps))
            env_steps, size = max(env_steps, reply.env_steps), reply.size
            for batch in reply.batches[:due]:
                with self._lock:
                    metrics = self.agent.learn(batch)
                priorities = metrics.pop("priorities")
                if prioritized:
                    sampler.update_priorities(batch.indices, priorities)
                for key in METRIC_KEYS:
                    sums[key] = sums.get(key, 0.0) + float(metrics[key])
                updates += 1
                self.credit.spend()
                if self.agent.gradient_steps - self.weights.version >= self.publish_every:
                    self.publish(env_steps)
            if time.perf_counter() >= deadline:
                break
        return LearnerReport(self.agent.gradient_steps, updates, self.skipped_updates, time.perf_counter() - start,
                             env_steps, size, self.weights.version, self.learning_rate(env_steps),
                             {key: value / updates for key, value in sums.items()} if updates else {},
                             self.credit.steps_since_train)

    # ----- weights and checkpoints -----------------------------------------------------------------
    def publish(self, global_step: int) -> WeightSnapshot:
        with self._lock:
            self.weights = snapshot_of(self.agent, global_step, self.learner_id)
        return self.weights

    def get_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        weights = self.weights  # one reference read: snapshots are never modified
        return weights if weights.is_newer_than(learner_id, version) else None

    def state(self) -> dict[str, Any]:
        """The agent's full state (networks, optimiser, gradient steps) on the CPU, for a checkpoint."""
        with self._lock:
            state = self.agent.state_dict()
            return _to_cpu(state)

    def load_state(self, state: dict[str, Any], global_step: int, steps_since_train: int = 0) -> None:
        with self._lock:
            self.agent.load_state_dict(state)
            self.credit.steps_since_train = int(steps_since_train)
        self.publish(global_step)

    def architecture(self) -> dict[str, Any]:
        return self.agent.architecture()


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(item) for item in value)
    return value
