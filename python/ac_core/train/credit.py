"""The replay ratio: how many gradient steps the env steps so far have earned.

``gradient_steps`` updates per ``train_freq`` env steps, counted once the replay can give a batch
(``max(learning_starts, batch_size)`` transitions). The single-process learners (inline and threaded)
and the Ray learner all count through :class:`UpdateCredit`, so a run's ratio of updates to env steps
is the same whichever way it trains.

Credit that cannot be spent — a learner slower than the env — stops at ``max_backlog`` updates; the
rest is dropped and counted in ``skipped`` rather than becoming a lag that grows without bound.
"""

from __future__ import annotations


class UpdateCredit:
    def __init__(self, train_freq: int, gradient_steps: int, min_replay: int, max_backlog: int | None = None) -> None:
        if train_freq < 1 or gradient_steps < 0 or min_replay < 0:
            raise ValueError(f"train_freq ≥ 1, gradient_steps ≥ 0 and min_replay ≥ 0 are needed, got "
                             f"{train_freq}, {gradient_steps}, {min_replay}")
        if max_backlog is not None and max_backlog < 1:
            raise ValueError(f"max_backlog must be ≥ 1 (or None for no limit), got {max_backlog}")
        self.train_freq, self.gradient_steps = train_freq, gradient_steps
        self.min_replay, self.max_backlog = min_replay, max_backlog
        self.steps_since_train = 0  # env steps not yet worth a round of updates (saved in checkpoints)
        self.pending = 0  # updates earned and not yet run
        self.skipped = 0  # updates dropped over max_backlog, in total

    @classmethod
    def for_agent(cls, agent_config: object, max_backlog: int | None = None) -> UpdateCredit:
        """The credit an agent config asks for (``train_freq``, ``gradient_steps``, ``learning_starts``)."""
        cfg = agent_config
        return cls(int(cfg.train_freq), int(cfg.gradient_steps),  # type: ignore[attr-defined]
                   max(int(cfg.learning_starts), int(cfg.batch_size)), max_backlog)  # type: ignore[attr-defined]

    def earn(self, new_env_steps: int, replay_size: int) -> int:
        """Credit ``new_env_steps`` taken while the replay holds ``replay_size``; returns the updates pending."""
        if replay_size < self.min_replay:
            self.steps_since_train = 0  # steps before learning can start earn nothing
            return self.pending
        self.steps_since_train += int(new_env_steps)
        rounds, self.steps_since_train = divmod(self.steps_since_train, self.train_freq)
        self.pending += rounds * self.gradient_steps
        if self.max_backlog is not None and self.pending > self.max_backlog:
            self.skipped += self.pending - self.max_backlog
            self.pending = self.max_backlog
        return self.pending

    def spend(self, updates: int = 1) -> None:
        """``updates`` of the pending ones have run."""
        self.pending = max(self.pending - int(updates), 0)

    def drop_pending(self) -> int:
        """Forget the pending updates (a learner stopping); returns how many there were."""
        dropped, self.pending = self.pending, 0
        return dropped
