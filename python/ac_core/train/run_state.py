"""A training run's state, its schedule and its checkpoints — one implementation for every trainer.

:class:`RunState` holds what a run has done and what comes next: the env-step counter, episodes,
the evaluation and save schedule, the best evaluation score and the training laps. Both the
single-process loop (:mod:`ac_core.train.loop`) and the Ray driver (:mod:`ac_core.distributed.driver`)
keep one and write it into every checkpoint's ``training`` metadata through :class:`RunCheckpoints`,
so either can resume a run the other wrote.

Checkpoint files are ``ac_core.checkpoint``'s format (weights, optimiser, step, config, RNG states,
metadata); ``replay.pt`` beside them holds the replay when ``train.save_replay`` is on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ac_core.checkpoint import (
    CheckpointError,
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


@dataclass
class RunState:
    """Counters, schedule and bests of one run (everything a resume needs besides weights and RNGs)."""

    eval_interval: int
    save_interval: int
    score_key: str = "eval/mean_return"  # which evaluation metric decides best.pt
    lower_is_better: bool = False  # True for lap times
    score_rule: str = ""  # what the score means; a resume from a checkpoint scored by another rule drops its best
    step: int = 0
    episodes: int = 0
    best_score: float | None = None
    next_eval: int = 0
    next_save: int = 0
    last_eval: dict[str, float] = field(default_factory=dict)
    steps_since_train: int = 0  # the replay-ratio credit towards the next round of updates
    last_lap_s: float = math.nan  # training laps (not evaluation ones)
    best_lap_s: float = math.nan

    def __post_init__(self) -> None:
        self.next_eval = self.next_eval or self.eval_interval
        self.next_save = self.next_save or self.save_interval

    # ----- the schedule ------------------------------------------------------------------------
    def evaluation_due(self) -> bool:
        """True once per ``eval_interval`` env steps; the next one is due at the following multiple."""
        if self.step < self.next_eval:
            return False
        self.next_eval = (self.step // self.eval_interval + 1) * self.eval_interval
        return True

    def save_due(self) -> bool:
        """True once per ``save_interval`` env steps, as :meth:`evaluation_due`."""
        if self.step < self.next_save:
            return False
        self.next_save = (self.step // self.save_interval + 1) * self.save_interval
        return True

    # ----- results -----------------------------------------------------------------------------
    def record_evaluation(self, metrics: Mapping[str, float]) -> bool:
        """Keep an evaluation's metrics; True when its score is a new best (best.pt is then due)."""
        self.last_eval = dict(metrics)
        score = metrics.get(self.score_key)
        if score is None or not math.isfinite(score):
            return False
        if self.best_score is not None and not (
                score < self.best_score if self.lower_is_better else score > self.best_score):
            return False
        self.best_score = float(score)
        return True

    def record_lap(self, lap_time_s: float) -> None:
        if math.isfinite(lap_time_s) and lap_time_s > 0:
            self.last_lap_s = float(lap_time_s)
            if not math.isfinite(self.best_lap_s) or lap_time_s < self.best_lap_s:
                self.best_lap_s = float(lap_time_s)

    # ----- the checkpoint schema ---------------------------------------------------------------
    def to_metadata(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "best_score": self.best_score, "next_eval": self.next_eval,
                "next_save": self.next_save, "steps_since_train": self.steps_since_train,
                "last_eval": dict(self.last_eval), "last_lap_s": self.last_lap_s, "best_lap_s": self.best_lap_s,
                "score_rule": self.score_rule}

    def load_metadata(self, step: int, training: Mapping[str, Any]) -> None:
        self.step = int(step)
        self.episodes, self.best_score = int(training["episodes"]), training["best_score"]
        self.next_eval, self.next_save = int(training["next_eval"]), int(training["next_save"])
        self.steps_since_train = int(training.get("steps_since_train", 0))
        self.last_eval = dict(training["last_eval"])
        self.last_lap_s = float(training.get("last_lap_s", math.nan))
        self.best_lap_s = float(training.get("best_lap_s", math.nan))
        saved_rule = training.get("score_rule", "")
        if saved_rule != self.score_rule and self.best_score is not None:
            # A best scored by another rule cannot be compared with this run's scores (a cut lap's time
            # against a clean lap's): the next evaluation sets the best, and best.pt, afresh.
            warnings.warn(f"the checkpoint's best score {self.best_score} was scored by another rule "
                          f"({saved_rule or 'before rules were named'!r}, now {self.score_rule!r}); the next "
                          "evaluation sets the best and best.pt afresh", stacklevel=2)
            self.best_score = None


class RunCheckpoints:
    """The checkpoint files of one run folder: last.pt, best.pt, step_<N>.pt and replay.pt."""

    def __init__(self, directory: str | Path, config: Any, state: RunState, rng: np.random.Generator) -> None:
        self.directory, self.config, self.state, self.rng = Path(directory), config, state, rng

    def save(self, name: str, agent: Any, *, step: int | None = None, replay_state: dict[str, Any] | None = None,
             extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``name`` with the agent, the run state and the RNGs (and replay.pt with ``replay_state``)."""
        path = self.directory / name
        metadata = {"training": self.state.to_metadata(), "score_key": self.state.score_key,
                    "best_score": self.state.best_score, **(extra or {})}
        save_checkpoint(path, agent, self.state.step if step is None else step, self.config,
                        capture_rng_state({"trainer": self.rng}), metadata)
        if replay_state is not None:
            replay_state = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                            for k, v in {**replay_state, "step": self.state.step}.items()}
            atomic_save(replay_state, self.directory / "replay.pt")
        return path

    def resume(self, agent: Any, map_location: str | torch.device = "cpu") -> bool:
        """Load last.pt into ``agent``, the run state and the RNGs; False when there is none."""
        path = self.directory / "last.pt"
        if not path.exists():
            return False
        checkpoint = load_checkpoint(path, agent, map_location=map_location)
        if "training" not in checkpoint.metadata or checkpoint.rng_state is None:
            raise CheckpointError(f"{path} has no training state (it holds weights only), so it cannot be resumed; "
                                  "start over with --force, or train into another folder")
        restore_rng_state(checkpoint.rng_state, {"trainer": self.rng})
        self.state.load_metadata(checkpoint.step, checkpoint.metadata["training"])
        return True

    def restore_replay(self, load: Callable[[dict[str, Any]], object]) -> bool:
        """Pass replay.pt's arrays to ``load`` when it was saved with last.pt's step (``train.save_replay``).

        A stale or damaged replay.pt only costs a refill to ``learning_starts``: it is reported, not raised.
        """
        path = self.directory / "replay.pt"
        if not (self.config.train.save_replay and path.exists()):
            return False
        try:
            saved = torch.load(path, weights_only=True)
            if int(saved["step"]) != self.state.step:
                raise ValueError(f"it was saved at step {int(saved['step'])}, last.pt at step {self.state.step}")
            load({k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in saved.items()})
        except Exception as exc:
            warnings.warn(f"not using {path} ({exc}); the replay refills to learning_starts before learning",
                          stacklevel=2)
            return False
        return True
