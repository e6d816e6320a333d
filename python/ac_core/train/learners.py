"""Where the gradient steps run: in the acting loop, or in a background thread.

The trainer acts, stores transitions and learns through one of two learners with the same interface:

- :class:`InlineLearner` runs ``gradient_steps`` updates every ``train_freq`` env steps inside the
  acting loop. Right for the in-process simulator, which simply waits while the network learns, and
  fully deterministic under a seed (resume equivalence holds).
- :class:`ThreadedLearner` runs the same schedule in a background thread, for the live backends
  (sim-live, ac, csp), where the world does not wait: a 25 ms gradient step inside a 50 ms control
  step would make the step late. The acting loop only stores transitions and credits env steps;
  the thread turns credits into updates at the configured ratio. Acting uses its own copy of the
  online network, refreshed after every update under a lock, so a forward pass never sees weights
  half-way through an optimiser step. PyTorch releases the GIL inside its kernels, so the learner's
  matrix products do not hold up the acting thread.

Both count the replay ratio with :class:`~ac_core.train.credit.UpdateCredit` (as the Ray learner
does). When the threaded learner cannot keep up (a slow CPU, a fast control rate), credit beyond
``max_backlog_updates`` is dropped and counted (``skipped_updates``) rather than piling up into a
learning lag that grows without bound; the trainer logs both.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import numpy as np
import torch

from ac_core.agents.agent import IQNAgent
from ac_core.agents.replay import ReplayBuffer
from ac_core.errors import AcCoreError
from ac_core.train.credit import UpdateCredit
from ac_core.train.demonstrations import DemonstrationReplay

METRIC_KEYS = ("loss", "q_mean", "quantile_spread", "grad_norm")  # what one update reports, as means


class InlineLearner:
    """Gradient steps in the caller's thread (see the module docstring)."""

    def __init__(self, agent: IQNAgent, replay: ReplayBuffer, rng: np.random.Generator,
                 learning_rate: Callable[[int], float], beta: Callable[[int], float],
                 max_backlog_updates: int | None = None) -> None:
        self.agent, self.replay, self.rng = agent, replay, rng
        self.learning_rate, self.beta = learning_rate, beta
        self.config = agent.config
        self.credit = UpdateCredit.for_agent(agent.config, max_backlog_updates)
        self._metrics: dict[str, float] = {}

    @property
    def steps_since_train(self) -> int:
        """Env steps credited towards the next round of updates (a checkpoint keeps it)."""
        return self.credit.steps_since_train

    @steps_since_train.setter
    def steps_since_train(self, value: int) -> None:
        self.credit.steps_since_train = int(value)

    # -- acting side ----------------------------------------------------------------------------
    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        return self.agent.act(obs, epsilon, rng)

    def add(self, transitions: tuple[np.ndarray, ...]) -> None:
        self.replay.add_batch(*transitions)

    def replay_size(self) -> int:
        return len(self.replay)

    def on_env_steps(self, n_new: int, step: int) -> None:
        """Credit ``n_new`` env steps (the trainer's counter is now ``step``) and learn what is due."""
        due = self.credit.earn(n_new, len(self.replay))
        if due:
            self._follow_schedules(step)
        for _ in range(due):
            self._one_update(step)
            self.credit.spend()

    def pretrain(self, updates: int) -> float:
        """``updates`` gradient steps before any env step (on what the replay holds then: the
        demonstrations), in the caller's thread; returns their seconds."""
        started = time.perf_counter()
        self._follow_schedules(0)
        for _ in range(updates):
            self._one_update(0)
        return time.perf_counter() - started

    # -- shared logic ---------------------------------------------------------------------------
    def _follow_schedules(self, step: int) -> None:
        """What changes with the env-step count: the learning rate and the demonstrations' fade."""
        self.agent.set_learning_rate(self.learning_rate(step))
        if isinstance(self.replay, DemonstrationReplay):
            self.replay.fade_to(step)

    def _sample(self, step: int) -> Any:
        return self.replay.sample(self.config.batch_size, self.rng, self.beta(step))

    def _one_update(self, step: int) -> None:
        with self._replay_guard():
            batch = self._sample(step)
        metrics = self.agent.learn(batch)
        with self._replay_guard():
            self.replay.update_priorities(batch.indices, metrics.pop("priorities"))
        self._accumulate(metrics)

    def _replay_guard(self) -> AbstractContextManager[Any]:
        """Held around replay access by an update (inline: nothing else touches the replay)."""
        return nullcontext()

    def _accumulate(self, metrics: dict[str, Any]) -> None:
        for key in METRIC_KEYS:
            self._metrics[key] = self._metrics.get(key, 0.0) + float(metrics[key])
        self._metrics["updates"] = self._metrics.get("updates", 0.0) + 1

    def pop_metrics(self) -> dict[str, float]:
        """Summed update metrics (and their count under ``updates``) since the last call."""
        out, self._metrics = self._metrics, {}
        return out

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No update runs inside the block (checkpoints, evaluation): nothing to do inline."""
        yield

    def start(self) -> None:
        """Begin learning (a no-op inline; starts the thread in :class:`ThreadedLearner`)."""

    def sync_actor(self) -> None:
        """Make acting use the agent's current weights (inline: it always does)."""

    def close(self) -> None:
        pass


class ThreadedLearner(InlineLearner):
    """The same update schedule in a background thread (see the module docstring)."""

    def __init__(self, agent: IQNAgent, replay: ReplayBuffer, rng: np.random.Generator,
                 learning_rate: Callable[[int], float], beta: Callable[[int], float],
                 max_backlog_updates: int = 256) -> None:
        if max_backlog_updates < 1:
            raise ValueError(f"max_backlog_updates must be >= 1, got {max_backlog_updates}")
        super().__init__(agent, replay, rng, learning_rate, beta, max_backlog_updates)
        self.max_backlog_updates = max_backlog_updates
        # The acting copy lives on the acting device (CPU inference for a batch of one is fastest there
        # only when the learner is on CPU too; keep it where the agent is).
        self._actor_net = copy.deepcopy(agent.online).requires_grad_(False)
        self._actor_lock = threading.Lock()  # actor network: refresh vs forward
        self._replay_lock = threading.Lock()  # replay: add (acting) vs sample/priorities (learning)
        self._state_lock = threading.Lock()  # agent + optimizer: one update vs pause()
        self._wake = threading.Condition()  # guards self.credit and _step between the two threads
        self._step = 0
        self._stop = False
        self.actor_version = agent.gradient_steps
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self.sync_actor()
            self._thread = threading.Thread(target=self._run, name="ac_core-learner", daemon=True)
            self._thread.start()

    # -- acting side ----------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        self._raise_if_failed()
        tensor = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.agent.device)
        with self._actor_lock:
            q = self._actor_net.q_values(tensor, self.config.n_quantiles_policy)
        actions = q.argmax(dim=1).cpu().numpy()
        explore = rng.random(len(actions)) < epsilon
        if explore.any():
            actions[explore] = rng.integers(0, self.agent.n_actions, size=int(explore.sum()))
        return actions

    def add(self, transitions: tuple[np.ndarray, ...]) -> None:
        with self._replay_lock:
            self.replay.add_batch(*transitions)

    def replay_size(self) -> int:
        with self._replay_lock:
            return len(self.replay)

    def _replay_guard(self) -> AbstractContextManager[Any]:
        return self._replay_lock  # the acting thread adds transitions meanwhile

    def on_env_steps(self, n_new: int, step: int) -> None:
        self._raise_if_failed()
        size = self.replay_size()
        with self._wake:
            if self.credit.earn(n_new, size):
                self._step = step
                self._wake.notify()

    @property
    def backlog(self) -> int:
        """Updates credited but not yet run."""
        with self._wake:
            return self.credit.pending

    @property
    def skipped_updates(self) -> int:
        """Credited updates dropped because the learner was behind by more than its backlog."""
        with self._wake:
            return self.credit.skipped

    @property
    def weight_lag(self) -> int:
        """Gradient steps the acting network is behind the learner (0 or 1 in steady state)."""
        return self.agent.gradient_steps - self.actor_version

    def pop_metrics(self) -> dict[str, float]:
        with self._state_lock:
            out = super().pop_metrics()
        with self._wake:
            out["backlog"] = float(self.credit.pending)
            out["skipped_updates"] = float(self.credit.skipped)
        return out

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Holds the learner between updates: the agent, optimizer and replay are consistent inside.

        Only the state lock is held: the thread takes the replay lock only inside it, so the replay
        is quiet too, while the caller (the acting thread) may still add transitions and credit steps.
        """
        self._raise_if_failed()
        with self._state_lock:
            yield

    def close(self) -> None:
        """Stop the thread after the update in progress; credited updates not yet run are dropped."""
        if self._thread is None:
            return
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join()
        self._thread = None

    # -- the thread -----------------------------------------------------------------------------
    def _raise_if_failed(self) -> None:
        if isinstance(self.error, AcCoreError):  # e.g. NonFiniteError: its own one-line message says it all
            raise self.error
        if self.error is not None:
            raise RuntimeError(f"the background learner failed: {self.error!r}") from self.error

    def _run(self) -> None:
        try:
            while True:
                with self._wake:
                    while not self.credit.pending and not self._stop:
                        self._wake.wait()
                    if self._stop:
                        return
                    self.credit.spend()
                    step = self._step
                with self._state_lock:
                    self._follow_schedules(step)
                    self._one_update(step)
                    self._publish_weights()
        except BaseException as exc:  # surfaced in the acting thread at its next call
            self.error = exc

    def _publish_weights(self) -> None:
        with self._actor_lock, torch.no_grad():
            for mine, theirs in zip(self._actor_net.parameters(), self.agent.online.parameters(), strict=True):
                mine.copy_(theirs)
        self.actor_version = self.agent.gradient_steps

    def sync_actor(self) -> None:
        """Copy the current weights to the acting network now (after loading a checkpoint)."""
        with self._state_lock:
            self._publish_weights()
