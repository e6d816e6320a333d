"""Deterministic evaluation of a checkpoint: greedy rollouts, a summary, per-step telemetry and plots.

Writes into ``out_dir``: ``summary.json``; per episode ``episode_<i>.csv`` and ``episode_<i>.json``
(time, s, x, y, z, speed, throttle, brake, steer, gear, rpm, lateral offset, tyres out, reward); and
``track_map.png`` and ``speed_trace.png`` beside the built-in reference driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ac_core.errors import RunInterrupted
from ac_core.stop_signals import stop_signals
from ac_core.telemetry_log import ROLLOUT_COLUMNS, TelemetryWriter, write_json_array


@dataclass
class EpisodeResult:
    index: int
    seed: int
    steps: int
    laps: list[float] = field(default_factory=list)  # completed lap times, s
    off_track_events: int = 0
    collisions: int = 0
    avg_speed_kmh: float = 0.0
    cumulative_reward: float = 0.0
    distance_m: float = 0.0
    ended_by: str = ""


def load_agent(checkpoint: str | Path, device: str = "cpu") -> tuple[Any, Any, Any]:
    """(agent, config, checkpoint) from a .pt file, with its own stored config."""
    from ac_core.agents.agent import IQNAgent, resolve_device
    from ac_core.checkpoint import load_checkpoint
    from ac_core.config import config_from_dict

    device = str(resolve_device(device))  # a device that is not here is the option's fault, not the file's
    ckpt = load_checkpoint(checkpoint, map_location=device)
    cfg = config_from_dict(ckpt.config, source=f"{checkpoint} (stored config)")
    arch = ckpt.architecture
    agent = IQNAgent(int(arch["obs_dim"]), int(arch["n_actions"]), cfg.agent, device)
    load_checkpoint(checkpoint, agent, map_location=device)
    return agent, cfg, ckpt


def reference_for(track: Any, params: Any = None) -> dict[str, Any] | None:
    """The built-in reference driver's lap on this track (lap time and trace) with the car ``params``
    (default FormulaAlpha2022), or None if it fails."""
    from ac_core import _core

    car = params if params is not None else _core.VehicleParams()
    ref = _core.run_reference_lap(getattr(track, "core", track), car)
    if not ref["completed"]:
        return None
    trace = ref["trace"]
    return {"lap_time_s": float(ref["lap_time_s"]), "s": trace["s"].copy(), "x": trace["x"].copy(),
            "z": trace["z"].copy(), "speed_kmh": trace["speed_kmh"].copy()}


def run_episode(env: Any, agent: Any, index: int, seed: int, writer: TelemetryWriter | None) -> tuple[
        EpisodeResult, dict[str, np.ndarray]]:
    obs, info = env.reset(seed=seed)
    result = EpisodeResult(index=index, seed=seed, steps=0)
    trace: dict[str, list[float]] = {"t": [], "x": [], "z": [], "speed_kmh": [], "gear": [], "distance": []}
    length = float(env.unwrapped.core.track_length)
    dt = env.unwrapped.settings.step_seconds
    while True:
        action = int(agent.greedy_actions(np.asarray(obs, dtype=np.float32)[None])[0])
        obs, reward, terminated, truncated, info = env.step(action)
        result.steps += 1
        result.cumulative_reward += reward
        if info["lap_completed"] and "last_lap_time" in info:
            result.laps.append(float(info["last_lap_time"]))
        raw = info["raw"]
        x, y, z = raw["carCoordinates"]
        row = {
            "time": round(result.steps * dt, 4), "s": info["s"], "x": x, "y": y, "z": z,
            "speed_kmh": raw["speedKmh"], "throttle": raw["gas"], "brake": raw["brake"], "steer": raw["steerAngle"],
            "gear": raw["gear"] - 1, "rpm": raw["rpms"], "lateral": info["lateral"],
            "tyres_out": raw["numberOfTyresOut"], "reward": reward,
        }  # fmt: skip
        if writer is not None:
            writer.write(row)
        trace["t"].append(row["time"])
        trace["x"].append(x)
        trace["z"].append(z)
        trace["speed_kmh"].append(raw["speedKmh"])
        trace["gear"].append(raw["gear"])
        # Track s (from the start/finish line), as the reference driver's trace: the plots line up corners.
        trace["distance"].append(info["s"] % length if info["s"] == info["s"] else np.nan)
        if terminated or truncated:
            result.off_track_events = int(info["off_track_events"])
            result.collisions = int(info["collisions"])
            result.avg_speed_kmh = float(info["avg_speed_kmh"])
            result.distance_m = float(info["distance"])
            result.ended_by = "truncated" if truncated else (
                "collision" if info["collisions"] else "off track" if info["tyres_out"] > 2 else "no progress")
            break
    return result, {k: np.asarray(v) for k, v in trace.items()}


def summarize(results: list[EpisodeResult], reference_lap_s: float | None) -> dict[str, Any]:
    laps = [t for r in results for t in r.laps]
    best = min(laps) if laps else None
    mean = float(np.mean(laps)) if laps else None
    return {
        "episodes": len(results),
        "completed_laps": len(laps),
        "best_lap_time_s": best,
        "mean_lap_time_s": mean,
        "off_track_events": int(sum(r.off_track_events for r in results)),
        "collisions": int(sum(r.collisions for r in results)),
        "avg_speed_kmh": float(np.mean([r.avg_speed_kmh for r in results])) if results else 0.0,
        "cumulative_reward": float(sum(r.cumulative_reward for r in results)),
        "mean_episode_reward": float(np.mean([r.cumulative_reward for r in results])) if results else 0.0,
        "reference_lap_time_s": reference_lap_s,
        "gap_to_reference_s": (best - reference_lap_s) if best is not None and reference_lap_s else None,
        "best_lap_vs_reference": (best / reference_lap_s) if best is not None and reference_lap_s else None,
        "per_episode": [r.__dict__ for r in results],
    }


def evaluate(checkpoint: str | Path, episodes: int, out_dir: str | Path | None, *, seed: int = 12345,
             env_overrides: dict[str, Any] | None = None, plots: bool = True, laps: int = 1,
             device: str = "cpu", echo: Any = print, video: str | None = None) -> dict[str, Any]:
    """Greedy rollouts; with ``out_dir`` also summary.json, telemetry, plots and, when ``video`` is
    "gif" or "mp4", a top-down video of the best episode (fastest lap, else the longest drive)."""
    from ac_core.env import AssettoCorsaEnv
    from ac_core.racing import env_settings_from_config

    agent, cfg, ckpt = load_agent(checkpoint, device)
    from ac_core.training import evaluation_overrides

    # The same evaluation as during training: flying laps with time for each (a run trained with
    # lap_start "random" and 60 s episodes would otherwise never time a lap); the caller's overrides win.
    overrides = {**evaluation_overrides(cfg.env, laps), **(env_overrides or {})}
    settings = env_settings_from_config(cfg.env.to_kwargs(), **overrides)
    env = AssettoCorsaEnv(settings)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    reference = reference_for(env.core.backend.track, getattr(env.core.backend, "params", None))
    results, traces = [], []
    stopped_by: str | None = None
    try:
        with stop_signals() as stop:
            for i in range(episodes):
                stop.check()
                writer = TelemetryWriter(out / f"episode_{i}", ROLLOUT_COLUMNS) if out is not None else None
                try:
                    # Greedy actions average over sampled quantile fractions (tau): seed them per episode,
                    # in a forked RNG so the caller's torch RNG is untouched, and the rollouts repeat exactly.
                    with torch.random.fork_rng(devices=[]):
                        torch.manual_seed(seed + i)
                        result, trace = run_episode(env, agent, i, seed + i, writer)
                finally:
                    if writer is not None:
                        writer.close()
                if out is not None:
                    write_json_array(out / f"episode_{i}.jsonl", out / f"episode_{i}.json")
                    (out / f"episode_{i}.jsonl").unlink()
                results.append(result)
                traces.append(trace)
                best = f"{min(result.laps):8.3f}" if result.laps else "      --"
                echo(f"episode {i:3d}  laps {len(result.laps)}  best {best} s  off-track {result.off_track_events:3d}  "
                     f"collisions {result.collisions}  avg {result.avg_speed_kmh:6.1f} km/h  "
                     f"reward {result.cumulative_reward:9.2f}  ({result.ended_by})")
    except (KeyboardInterrupt, RunInterrupted) as exc:
        # Episodes that finished are kept and summarised; the one cut short is dropped.
        stopped_by = exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT"
        if not results:
            raise
        echo(f"stopped by {stopped_by} after {len(results)} of {episodes} episodes; summarising those")
    finally:
        env.close()
    summary = summarize(results, reference["lap_time_s"] if reference else None)
    summary["checkpoint"] = str(checkpoint)
    summary["checkpoint_step"] = ckpt.step
    summary["track"] = settings.track
    summary["backend"] = settings.backend
    summary["stopped_by"] = stopped_by
    if out is not None:
        if video is not None:
            summary["video"] = str(_write_video(out, video, results, traces, env.core.backend.track, echo))
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        if plots:
            from ac_core.plots import plot_speed_trace, plot_track_map

            track = env.core.backend.track
            title = f"{settings.car} at {settings.track}: {Path(checkpoint).name} (step {ckpt.step})"
            plot_track_map(out / "track_map.png", track, traces, reference, title)
            plot_speed_trace(out / "speed_trace.png", traces, reference, title)
    return summary


def _write_video(out: Path, video: str, results: list[EpisodeResult], traces: list[dict[str, np.ndarray]],
                 track: Any, echo: Any) -> Path:
    from ac_core.video import render_topdown

    def rank(r: EpisodeResult) -> tuple[float, float]:
        return (min(r.laps) if r.laps else float("inf"), -r.distance_m)

    best = min(results, key=rank)
    trace = traces[best.index]
    path = out / f"episode_{best.index}.{video}"
    lap = f", lap {min(best.laps):.3f} s" if best.laps else ""
    frames = render_topdown(path, track, trace["t"], trace["x"], trace["z"], trace["speed_kmh"],
                            title=f"episode {best.index}{lap}", gear=trace["gear"])
    echo(f"video: {frames} frames of episode {best.index} to {path}")
    return path
