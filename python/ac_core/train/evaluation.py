"""The evaluation protocol: seeded greedy episodes → per-episode records → a summary.

One function runs every evaluation in the project — the training run's periodic one, the Ray
driver's, and ``ac-core eval``'s — :func:`greedy_episodes`:

- episode ``i`` starts from ``reset(seed=seed + i)``; a batch of ``E`` cars runs episodes ``i … i+E-1``
  together (a vector env's reset seeds car ``c`` with ``seed + c``), one round after another until
  ``episodes`` are done; cars past their episode's end keep moving with the batch but are not counted;
- actions are greedy, the agent's ``evaluation_actions``: for IQN the argmax of Q on a fixed grid of
  ``eval_quantiles`` τ (or, with 0, of the mean over ``n_quantiles_policy`` sampled τ); any τ draws come
  from a torch RNG forked and seeded with the round's seed, so an evaluation never changes the
  training run's draws and repeats exactly;
- each ended episode gives an :class:`EpisodeRecord` (steps, return, its last info) and observers see
  every counted step (lap times, telemetry rows, step metrics).

Summaries turn records into metrics: :func:`return_metrics` for any env, and the racing summary
(:func:`racing_summary`, lap times and incidents) with its TensorBoard view :func:`racing_metrics`.
:class:`Evaluator` is the ``(agent, step) -> metrics`` callable the trainers call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ac_core.train.batched_env import BatchedEnv, BatchStep, StepMetricsHook

EVAL_SEED_OFFSET = 1_000_003  # a run's evaluation episodes are seeded train.seed + this: apart from training's
NO_LAP_SCORE = 1000.0  # the score of an evaluation without a lap: 1000 + metres short of a lap / 10
CUT_LAP_SCORE = 500.0  # the score of one whose every lap was cut: 500 + its best lap (s)


@dataclass
class EpisodeRecord:
    index: int
    seed: int
    steps: int = 0
    total_reward: float = 0.0
    final_info: dict[str, Any] = field(default_factory=dict)  # the episode's last info (one env's layout)
    truncated: bool = False  # ended by a limit (time, laps) rather than terminated
    laps: list[float] = field(default_factory=list)  # completed lap times, s (filled by LapObserver)
    clean_laps: list[float] = field(default_factory=list)  # those with no off-track event (AC's track limits)


class StepObserver(Protocol):
    def on_step(self, result: BatchStep, counted: np.ndarray, episodes: list[EpisodeRecord]) -> None:
        """``counted[c]``: car ``c``'s step belongs to ``episodes[c]`` (cars past their episode are not counted)."""


def greedy_episodes(env: BatchedEnv, agent: Any, episodes: int, seed: int,
                    observers: tuple[StepObserver, ...] = ()) -> Iterator[EpisodeRecord]:
    """Run ``episodes`` greedy episodes (see the module docstring); yields records in episode order,
    each round's as it ends (a caller that stops early keeps the finished ones)."""
    devices: list[int] = []
    device = getattr(agent, "device", torch.device("cpu"))
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    first = 0
    while first < episodes:
        cars = min(env.n_envs, episodes - first)
        round_seed = seed + first
        records = [EpisodeRecord(first + c, round_seed + c) for c in range(cars)]
        active = np.zeros(env.n_envs, dtype=bool)
        active[:cars] = True
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(round_seed)
            obs = env.reset(seed=round_seed)
            while active.any():
                result = env.step(agent.evaluation_actions(obs))
                counted = result.valid & active
                for car in np.flatnonzero(counted):
                    records[car].steps += 1
                    records[car].total_reward += float(result.rewards[car])
                for observer in observers:
                    observer.on_step(result, counted, records)
                for car in np.flatnonzero(counted & (result.terminated | result.truncated)):
                    records[car].final_info = result.info_for(int(car))
                    records[car].truncated = bool(result.truncated[car])
                    active[car] = False
                obs = result.obs
        yield from records
        first += cars


class LapObserver:
    """Collects each episode's completed lap times (``lap_completed`` with a valid ``last_lap_time``), and
    apart the clean ones (``last_lap_clean``: no off-track event in the lap)."""

    def on_step(self, result: BatchStep, counted: np.ndarray, episodes: list[EpisodeRecord]) -> None:
        done = np.asarray(result.infos.get("lap_completed", np.zeros(len(counted))), dtype=bool)
        ended = result.terminated | result.truncated
        if result.same_step_reset and "final_info" in result.infos:
            # An episode that ended this step was reset: its last lap is in final_info.
            done = np.where(ended, np.asarray(result.infos["final_info"].get("lap_completed", done), dtype=bool), done)
        for car in np.flatnonzero(done & counted):
            info = result.info_for(int(car))
            lap = info.get("last_lap_time")
            if lap is not None and np.isfinite(lap):
                episodes[car].laps.append(float(lap))
                if info.get("last_lap_clean", True):  # an env without the key has no track limits to keep
                    episodes[car].clean_laps.append(float(lap))


class StepMetricsObserver:
    """Means over an evaluation of what a training step-metrics hook reports (``eval/<key>``)."""

    def __init__(self, hook: StepMetricsHook) -> None:
        self.hook = hook
        self.values: dict[str, list[float]] = {}

    def on_step(self, result: BatchStep, counted: np.ndarray, episodes: list[EpisodeRecord]) -> None:
        for key, value in self.hook(result.infos, counted).items():
            self.values.setdefault(f"eval/{key}", []).append(float(value))

    def means(self) -> dict[str, float]:
        return {key: float(np.mean(values)) for key, values in self.values.items()}


# ----- summaries -----------------------------------------------------------------------------------
def return_metrics(records: list[EpisodeRecord]) -> dict[str, float]:
    """What any env's evaluation reports: the return and length of its episodes."""
    returns = [r.total_reward for r in records]
    return {"eval/mean_return": float(np.mean(returns)), "eval/std_return": float(np.std(returns)),
            "eval/mean_length": float(np.mean([r.steps for r in records])), "eval/episodes": float(len(records))}


def score_from(best_clean_lap_s: float | None, best_lap_s: float | None, max_distance_m: float,
               track_length_m: float) -> float:
    """The racing evaluation's score (lower is better): the best clean lap in seconds; if every lap was
    cut, ``500 + the best lap``; without a lap, ``1000 + metres short of a lap / 10``. So a lap AC would
    count beats any cut one (a cut can be seconds faster: best.pt must not be chosen for it), a cut lap
    beats none, and before any lap further is better."""
    if best_clean_lap_s is not None and np.isfinite(best_clean_lap_s):
        return float(best_clean_lap_s)
    if best_lap_s is not None and np.isfinite(best_lap_s):
        return CUT_LAP_SCORE + float(best_lap_s)
    return NO_LAP_SCORE + max(0.0, track_length_m - max_distance_m) / 10.0


def ended_by(record: EpisodeRecord) -> str:
    """Why a racing episode ended: a limit (time or laps), a collision, off track, or no progress."""
    info = record.final_info
    if record.truncated:
        return "truncated"
    if info.get("collisions"):
        return "collision"
    return "off track" if info.get("tyres_out", 0) > 2 else "no progress"


def racing_summary(records: list[EpisodeRecord], track_length_m: float,
                   reference_lap_s: float | None = None) -> dict[str, Any]:
    """Lap times, incidents, speed and reward over the episodes (``ac-core eval``'s summary.json)."""
    laps = [t for r in records for t in r.laps]
    best = min(laps) if laps else None
    clean = [t for r in records for t in r.clean_laps]
    best_clean = min(clean) if clean else None

    def total(key: str) -> int:
        return int(sum(int(r.final_info.get(key, 0)) for r in records))

    n = len(records)
    distances = [float(r.final_info.get("distance", 0.0)) for r in records]
    return {
        "episodes": n,
        "completed_laps": len(laps),
        "best_lap_time_s": best,
        "mean_lap_time_s": float(np.mean(laps)) if laps else None,
        "clean_laps": len(clean),
        "best_clean_lap_time_s": best_clean,
        "mean_clean_lap_time_s": float(np.mean(clean)) if clean else None,
        "off_track_events": total("off_track_events"),
        "collisions": total("collisions"),
        "avg_speed_kmh": float(np.mean([r.final_info.get("avg_speed_kmh", 0.0) for r in records])) if n else 0.0,
        "cumulative_reward": float(sum(r.total_reward for r in records)),
        "mean_episode_reward": float(np.mean([r.total_reward for r in records])) if n else 0.0,
        "mean_distance_m": float(np.mean(distances)) if n else 0.0,
        "max_distance_m": float(max(distances)) if n else 0.0,
        "score": score_from(best_clean, best, max(distances) if n else 0.0, track_length_m),
        "reference_lap_time_s": reference_lap_s,
        "gap_to_reference_s": (best - reference_lap_s) if best is not None and reference_lap_s else None,
        "best_lap_vs_reference": (best / reference_lap_s) if best is not None and reference_lap_s else None,
        "best_clean_lap_vs_reference": (best_clean / reference_lap_s) if best_clean is not None and reference_lap_s
        else None,
    }


def racing_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """The racing summary as TensorBoard scalars (incidents per episode; ``eval/score`` decides best.pt)."""
    n = max(int(summary["episodes"]), 1)
    best, best_clean = summary["best_lap_time_s"], summary["best_clean_lap_time_s"]
    return {
        "eval/score": float(summary["score"]),
        "eval/best_lap_time": float(best) if best is not None else float("nan"),
        "eval/best_clean_lap_time": float(best_clean) if best_clean is not None else float("nan"),
        "eval/clean_laps": float(summary["clean_laps"]),
        "eval/mean_return": float(summary["mean_episode_reward"]),
        "eval/completed_laps": float(summary["completed_laps"]),
        "eval/off_track_events": summary["off_track_events"] / n,
        "eval/collisions": summary["collisions"] / n,
        "eval/avg_speed_kmh": float(summary["avg_speed_kmh"]),
        "eval/distance_m": float(summary["mean_distance_m"]),
        "eval/max_distance_m": float(summary["max_distance_m"]),
    }


class Evaluator:
    """``(agent, step) -> metrics`` for a trainer: :func:`greedy_episodes` on an env of its own (made on
    first use, kept between evaluations), summarised for racing or for any env."""

    def __init__(self, make_env: Callable[[], Any], episodes: int, seed: int, *, racing: bool = False,
                 step_metrics: StepMetricsHook | None = None) -> None:
        self.make_env, self.episodes, self.seed = make_env, episodes, seed
        self.racing, self.step_metrics = racing, step_metrics
        self._env: BatchedEnv | None = None

    @property
    def env(self) -> BatchedEnv:
        if self._env is None:
            self._env = BatchedEnv(self.make_env(), autoreset=False)
        return self._env

    def run(self, agent: Any, observers: tuple[StepObserver, ...] = ()) -> list[EpisodeRecord]:
        extra: tuple[StepObserver, ...] = (LapObserver(),) if self.racing else ()
        return list(greedy_episodes(self.env, agent, self.episodes, self.seed, extra + observers))

    def __call__(self, agent: Any, step: int = 0) -> dict[str, float]:
        if self.racing:
            return racing_metrics(racing_summary(self.run(agent), track_length(self.env.env)))
        hook = StepMetricsObserver(self.step_metrics) if self.step_metrics is not None else None
        metrics = return_metrics(self.run(agent, (hook,) if hook else ()))
        if hook is not None:
            metrics.update(hook.means())
        return metrics

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def track_length(env: Any) -> float:
    """The track length of a racing env (single or vector)."""
    return float(env.unwrapped.core.track_length if hasattr(env, "unwrapped") and hasattr(env.unwrapped, "core")
                 else env.core.track_length)
