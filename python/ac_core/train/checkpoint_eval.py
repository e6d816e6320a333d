"""``ac-core eval``: a checkpoint's evaluation — the training runs' protocol (:mod:`ac_core.train.evaluation`)
on one car, with a summary, per-step telemetry and plots.

Writes into ``out_dir``: ``summary.json``; per episode ``episode_<i>.csv`` and ``episode_<i>.json``
(time, s, x, y, z, speed, throttle, brake, steer, gear, rpm, lateral offset, tyres out, reward); and
``track_map.png`` and ``speed_trace.png`` beside the built-in reference driver.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ac_core.errors import RunInterrupted
from ac_core.stop_signals import stop_signals
from ac_core.telemetry_files import ROLLOUT_COLUMNS, TelemetryWriter, write_json_array
from ac_core.train import evaluation
from ac_core.train.batched_env import BatchedEnv, BatchStep
from ac_core.train.evaluation import EpisodeRecord, LapObserver, ended_by, racing_summary
from ac_core.train.racing import env_settings_from_config, evaluation_overrides


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
    """The built-in reference driver's lap on this track (lap time and trace) and its plan (the lap it
    aims at: time, s and speed) with the car ``params`` (default FormulaAlpha2022), or None if it fails."""
    from ac_core import _core
    from ac_core.sim.reference import driver_plan

    car = params if params is not None else _core.VehicleParams()
    core = getattr(track, "core", track)
    ref = _core.run_reference_lap(core, car)
    if not ref["completed"]:
        return None
    trace = ref["trace"]
    plan = driver_plan(core, params=car)
    return {"lap_time_s": float(ref["lap_time_s"]), "s": trace["s"].copy(), "x": trace["x"].copy(),
            "z": trace["z"].copy(), "speed_kmh": trace["speed_kmh"].copy(),
            "planned_lap_time_s": plan.lap_time_s, "plan_s": plan.s, "plan_speed_kmh": plan.speed_kmh}


class TelemetryObserver:
    """One car's evaluation as telemetry rows (ROLLOUT_COLUMNS) and a trace for the plots and video."""

    def __init__(self, writer: TelemetryWriter | None, dt: float, track_length: float) -> None:
        self.writer, self.dt, self.length = writer, dt, track_length
        self.steps = 0
        self.trace: dict[str, list[float]] = {"t": [], "x": [], "z": [], "speed_kmh": [], "gear": [], "distance": []}

    def on_step(self, result: BatchStep, counted: np.ndarray, episodes: list[EpisodeRecord]) -> None:
        if not counted[0]:
            return
        info = result.info_for(0)
        raw = info["raw"]
        x, y, z = (float(v) for v in raw["carCoordinates"])
        self.steps += 1
        row = {
            "time": round(self.steps * self.dt, 4), "s": info["s"], "x": x, "y": y, "z": z,
            "speed_kmh": raw["speedKmh"], "throttle": raw["gas"], "brake": raw["brake"], "steer": raw["steerAngle"],
            "gear": raw["gear"] - 1, "rpm": raw["rpms"], "lateral": info["lateral"],
            "tyres_out": raw["numberOfTyresOut"], "reward": float(result.rewards[0]),
        }  # fmt: skip
        if self.writer is not None:
            self.writer.write(row)
        trace = self.trace
        trace["t"].append(row["time"])
        trace["x"].append(x)
        trace["z"].append(z)
        trace["speed_kmh"].append(raw["speedKmh"])
        trace["gear"].append(raw["gear"])
        # Track s (from the start/finish line), as the reference driver's trace: the plots line up corners.
        trace["distance"].append(info["s"] % self.length if info["s"] == info["s"] else np.nan)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.trace.items()}


def evaluate(checkpoint: str | Path, episodes: int, out_dir: str | Path | None, *, seed: int = 12345,
             env_overrides: dict[str, Any] | None = None, plots: bool = True, laps: int = 1,
             device: str = "cpu", echo: Any = print, video: str | None = None,
             video_speedup: float = 1.0, eval_quantiles: int | None = None) -> dict[str, Any]:
    """Greedy rollouts; with ``out_dir`` also summary.json, telemetry, plots and, when ``video`` is
    "gif" or "mp4", a top-down video of the best episode (fastest lap, else the longest drive),
    ``video_speedup`` driven seconds per video second. ``eval_quantiles`` replaces the checkpoint's
    ``agent.eval_quantiles`` (the τ grid of the greedy actions; 0: sampled τ)."""
    import dataclasses

    from ac_core.env import AssettoCorsaEnv

    agent, cfg, ckpt = load_agent(checkpoint, device)
    if eval_quantiles is not None:
        agent.config = dataclasses.replace(agent.config, eval_quantiles=eval_quantiles)
    # The same evaluation as during training: flying laps with time for each (a run trained with
    # lap_start "random" and 60 s episodes would otherwise never time a lap); the caller's overrides win.
    overrides = {**evaluation_overrides(cfg.env, laps), **(env_overrides or {})}
    settings = env_settings_from_config(cfg.env.to_kwargs(), **overrides)
    env = AssettoCorsaEnv(settings)
    batch = BatchedEnv(env, autoreset=False)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    reference = reference_for(env.core.backend.track, getattr(env.core.backend, "params", None))
    length = float(env.core.track_length)
    results: list[EpisodeRecord] = []
    traces: list[dict[str, np.ndarray]] = []
    stopped_by: str | None = None
    try:
        with stop_signals() as stop:
            for i in range(episodes):
                stop.check()
                writer = TelemetryWriter(out / f"episode_{i}", ROLLOUT_COLUMNS) if out is not None else None
                telemetry = TelemetryObserver(writer, settings.step_seconds, length)
                try:
                    # Episode i of the protocol: reset(seed + i), τ drawn from a torch RNG seeded with seed + i.
                    (result,) = evaluation.greedy_episodes(batch, agent, 1, seed + i, (LapObserver(), telemetry))
                finally:
                    if writer is not None:
                        writer.close()
                result.index = i
                if out is not None:
                    write_json_array(out / f"episode_{i}.jsonl", out / f"episode_{i}.json")
                    (out / f"episode_{i}.jsonl").unlink()
                results.append(result)
                traces.append(telemetry.arrays())
                info = result.final_info
                best = f"{min(result.laps):8.3f}" if result.laps else "      --"
                echo(f"episode {i:3d}  laps {len(result.laps)}  best {best} s  "
                     f"off-track {int(info.get('off_track_events', 0)):3d}  "
                     f"collisions {int(info.get('collisions', 0))}  "
                     f"avg {float(info.get('avg_speed_kmh', 0.0)):6.1f} km/h  reward {result.total_reward:9.2f}  "
                     f"({ended_by(result)})")
    except (KeyboardInterrupt, RunInterrupted) as exc:
        # Episodes that finished are kept and summarised; the one cut short is dropped.
        stopped_by = exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT"
        if not results:
            raise
        echo(f"stopped by {stopped_by} after {len(results)} of {episodes} episodes; summarising those")
    finally:
        env.close()
    summary = racing_summary(results, length, reference["lap_time_s"] if reference else None)
    planned = reference["planned_lap_time_s"] if reference else None
    summary["planned_lap_time_s"] = planned
    best = summary["best_lap_time_s"]
    summary["gap_to_plan_s"] = best - planned if best is not None and planned else None
    summary["per_episode"] = [_episode_row(r) for r in results]
    summary["checkpoint"] = str(checkpoint)
    summary["checkpoint_step"] = ckpt.step
    summary["eval_quantiles"] = agent.config.eval_quantiles
    summary["track"] = settings.track
    summary["backend"] = settings.backend
    summary["stopped_by"] = stopped_by
    if out is not None:
        if video is not None:
            summary["video"] = str(_write_video(out, video, results, traces, env.core.backend.track, echo,
                                                video_speedup))
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        if plots:
            from ac_core.plots import plot_speed_trace, plot_track_map

            track = env.core.backend.track
            title = f"{settings.car} at {settings.track}: {Path(checkpoint).name} (step {ckpt.step})"
            plot_track_map(out / "track_map.png", track, traces, reference, title)
            plot_speed_trace(out / "speed_trace.png", traces, reference, title)
    return summary


def _episode_row(record: EpisodeRecord) -> dict[str, Any]:
    info = record.final_info
    return {"index": record.index, "seed": record.seed, "steps": record.steps, "laps": list(record.laps),
            "clean_laps": list(record.clean_laps),
            "off_track_events": int(info.get("off_track_events", 0)), "collisions": int(info.get("collisions", 0)),
            "avg_speed_kmh": float(info.get("avg_speed_kmh", 0.0)), "cumulative_reward": record.total_reward,
            "distance_m": float(info.get("distance", 0.0)), "ended_by": ended_by(record)}


def _write_video(out: Path, video: str, results: list[EpisodeRecord], traces: list[dict[str, np.ndarray]],
                 track: Any, echo: Any, speedup: float = 1.0) -> Path:
    from ac_core.video import VideoSettings, render_topdown

    def rank(r: EpisodeRecord) -> tuple[float, float]:
        return (min(r.laps) if r.laps else float("inf"), -float(r.final_info.get("distance", 0.0)))

    best = min(results, key=rank)
    trace = traces[best.index]
    path = out / f"episode_{best.index}.{video}"
    lap = f", lap {min(best.laps):.3f} s" if best.laps else ""
    frames = render_topdown(path, track, trace["t"], trace["x"], trace["z"], trace["speed_kmh"],
                            settings=VideoSettings(speedup=speedup), title=f"episode {best.index}{lap}",
                            gear=trace["gear"])
    echo(f"video: {frames} frames of episode {best.index} to {path}")
    return path
