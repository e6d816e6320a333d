"""The racing-specific parts of training: what to log from the env's infos, and the evaluation that
decides best.pt (lap time, lower is better).

The evaluation score is the best lap time in seconds when any evaluation car completed a lap, and
otherwise ``1000 + metres short of a full lap / 10`` — so an agent that gets further scores better
even before it can finish a lap, and any finished lap beats any unfinished one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from ac_core.env.settings import EnvSettings

NO_LAP_SCORE = 1000.0


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
    late = _lateness_ms(infos.get("timing"))
    if late.size:
        # Live backends: how late each step's deadline was met (a blocked acting loop shows up here).
        out["step_lateness_ms"] = float(late.max())
    return out


def _lateness_ms(timing: Any) -> np.ndarray:
    """Step lateness values from a vector info's "timing" (live backends); empty without one."""
    if not (isinstance(timing, Mapping) and "lateness_ms" in timing):
        return np.zeros(0)
    values = np.asarray(timing["lateness_ms"], dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]


def score_from(best_lap_s: float, max_distance_m: float, track_length_m: float) -> float:
    if np.isfinite(best_lap_s):
        return float(best_lap_s)
    return NO_LAP_SCORE + max(0.0, track_length_m - max_distance_m) / 10.0


class RacingEvaluator:
    """Greedy episodes on ``cars`` cars of a batched env, one episode per car, fixed seed."""

    def __init__(self, make_env: Callable[[int], Any], cars: int, seed: int) -> None:
        self.make_env, self.cars, self.seed = make_env, cars, seed
        self._env: Any = None

    def run(self, agent: Any) -> dict[str, Any]:
        if self._env is None:
            self._env = self.make_env(self.cars)
        env = self._env
        n = env.num_envs
        active = np.ones(n, dtype=bool)
        final: dict[str, np.ndarray] = {}
        devices = [agent.device] if getattr(agent, "device", torch.device("cpu")).type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            obs, infos = env.reset(seed=self.seed)
            while active.any():
                actions = agent.greedy_actions(np.asarray(obs, dtype=np.float32))
                obs, _, term, trunc, infos = env.step(actions)
                ended = (term | trunc) & active
                if ended.any():
                    for key, value in infos["final_info"].items():
                        if key.startswith("_"):
                            continue
                        final.setdefault(key, np.full(n, np.nan))[ended] = value[ended]
                    active &= ~ended
        return final

    def __call__(self, agent: Any, step: int) -> dict[str, float]:
        final = self.run(agent)
        best = np.nanmin(final["best_lap_time"]) if np.isfinite(final["best_lap_time"]).any() else np.nan
        length = float(self._env.core.track_length)
        return {
            "eval/score": score_from(best, float(np.nanmax(final["distance"])), length),
            "eval/best_lap_time": float(best),
            "eval/mean_return": float(np.nanmean(final["episode_return"])),
            "eval/completed_laps": float(np.nansum(final["completed_laps"])),
            "eval/off_track_events": float(np.nanmean(final["off_track_events"])),
            "eval/collisions": float(np.nanmean(final["collisions"])),
            "eval/avg_speed_kmh": float(np.nanmean(final["avg_speed_kmh"])),
            "eval/distance_m": float(np.nanmean(final["distance"])),
            "eval/max_distance_m": float(np.nanmax(final["distance"])),
        }

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def env_settings_from_config(env_section: Mapping[str, Any], **overrides: Any) -> EnvSettings:
    """EnvSettings from a config's env section (n_envs is the trainer's, not the env's)."""
    from ac_core.env.settings import make_settings

    mapping = {k: v for k, v in dict(env_section).items() if k != "n_envs"}
    mapping.update(overrides)
    return make_settings(mapping)
