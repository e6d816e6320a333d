"""The racing env's side of training: its env settings, env factories, what to log from its infos,
and its evaluation (one timed lap per episode from a flying start; the lap time is the score).

Used by the single-process loop, the Ray driver and collectors, and ``ac-core eval`` alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ac_core.env.backends import BACKENDS
from ac_core.env.settings import EnvSettings
from ac_core.train.evaluation import EVAL_SEED_OFFSET, Evaluator

SCORE_KEY = "eval/score"  # the racing evaluation's score: a lap time, lower is better
# Its rule (evaluation.score_from), kept in checkpoints: a run resumed from one scored otherwise starts its best anew.
SCORE_RULE = "clean lap s; all cut: 500 + lap s; no lap: 1000 + m short / 10"
LAP_SECONDS_ALLOWED = 240.0  # an evaluation episode's time per lap: a slow but complete lap fits


def env_settings_from_config(env_section: Mapping[str, Any], **overrides: Any) -> EnvSettings:
    """EnvSettings from a config's env section (n_envs is the trainer's, not the env's)."""
    from ac_core.env.settings import make_settings

    mapping = {k: v for k, v in dict(env_section).items() if k != "n_envs"}
    mapping.update(overrides)
    return make_settings(mapping)


def make_env_factory(cfg: Any, **overrides: Any):
    """A factory for the training env: N batched cars on ``sim``, one car on the live backends."""
    settings = env_settings_from_config(cfg.env.to_kwargs(), **overrides)
    n_envs = int(cfg.env.n_envs)

    def factory() -> Any:
        from ac_core.env import AssettoCorsaEnv, make_vector

        if BACKENDS[settings.backend].batched:
            return make_vector(n_envs, settings)
        if n_envs != 1:
            raise ValueError(
                f"env.n_envs = {n_envs}, but backend {settings.backend!r} drives one car; set env.n_envs=1"
            )
        return AssettoCorsaEnv(settings)

    return factory, settings


def evaluation_overrides(settings: Any, laps: int = 1) -> dict[str, Any]:
    """Env settings that turn a training env into an evaluation one: ``laps`` timed laps from a flying
    start (training may start anywhere on the lap, "random", which a lap time cannot), with time for
    every lap whatever the training episodes' limit."""
    overrides: dict[str, Any] = {"max_laps": laps}
    if settings.lap_start == "random":
        overrides["lap_start"] = "flying"
    overrides["max_episode_seconds"] = max(settings.max_episode_seconds, LAP_SECONDS_ALLOWED * laps)
    return overrides


def racing_evaluator(cfg: Any, **overrides: Any) -> Evaluator:
    """The evaluation every training run uses: ``train.eval_episodes`` greedy episodes of one timed lap,
    seeded apart from training — all at once on the batched simulator (one car per episode), one after
    another on a live backend's one car."""
    env_section = cfg.env.to_kwargs()
    base = env_settings_from_config(env_section, **overrides)
    eval_settings = env_settings_from_config(env_section, **{**overrides, **evaluation_overrides(base)})
    episodes = int(cfg.train.eval_episodes)

    def make_env() -> Any:
        from ac_core.env import AssettoCorsaEnv, make_vector

        if BACKENDS[eval_settings.backend].batched:
            return make_vector(episodes, eval_settings)
        return AssettoCorsaEnv(eval_settings)

    return Evaluator(make_env, episodes, int(cfg.train.seed) + EVAL_SEED_OFFSET, racing=True)


def env_spaces(cfg: Any) -> tuple[int, int]:
    """Observation size and action count of the config's env (the same for every backend)."""
    from ac_core.env import make_vector

    env = make_vector(1, env_settings_from_config(cfg.env.to_kwargs(), backend="sim", lap_start="flying"))
    try:
        return int(np.prod(env.single_observation_space.shape)), int(env.single_action_space.n)
    finally:
        env.close()


def lap_metrics(infos: Mapping[str, Any], valid: np.ndarray) -> dict[str, float]:
    """Per-step scalars for TensorBoard: lap times of laps that ended this step, off-track and speed."""
    out: dict[str, float] = {}
    done = np.asarray(infos.get("lap_completed", np.zeros_like(valid)), dtype=bool) & valid
    # A lap with no valid time leaves last_lap_time out (one env) or its mask False (vector env).
    if done.any() and "last_lap_time" in infos:
        done &= np.asarray(infos.get("_last_lap_time", done), dtype=bool)
        times = np.asarray(infos["last_lap_time"], dtype=np.float64)[done]
        times = times[np.isfinite(times)]
        if times.size:
            out["lap_time_s"] = float(times.min())
    if "speed_kmh" in infos and valid.any():
        out["speed_kmh"] = float(np.asarray(infos["speed_kmh"])[valid].mean())
    timing = infos.get("timing")
    if isinstance(timing, Mapping) and "relaunches" in timing:
        # Launched live sessions: the game relaunched after a crash or a hang (totals for the run).
        out["session_relaunches"] = float(np.max(timing["relaunches"]))
        out["dropped_episodes"] = float(np.max(timing["dropped_episodes"]))
    late = _lateness_ms(timing)
    if late.size:
        # Live backends: how late each step's deadline was met (a blocked acting loop shows up here).
        out["step_lateness_ms"] = float(late.max())
    timing = infos.get("timing")
    if isinstance(timing, Mapping) and "dropped" in timing:
        # Live backends: physics frames the ring dropped / packets the poller missed this step (0, 0).
        out["frames_dropped"] = float(np.asarray(timing["dropped"], dtype=np.float64).sum())
        out["packets_missed"] = float(np.asarray(timing["missed_packets"], dtype=np.float64).sum())
    return out


def _lateness_ms(timing: Any) -> np.ndarray:
    """Step lateness values from a vector info's "timing" (live backends); empty without one."""
    if not (isinstance(timing, Mapping) and "lateness_ms" in timing):
        return np.zeros(0)
    values = np.asarray(timing["lateness_ms"], dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]
