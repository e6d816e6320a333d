"""`ac-core curve`: the learning curve of a training run, from its TensorBoard logs, as one PNG.

Three panels against environment steps: the evaluation's best lap time beside the reference driver's
lap (and 110 % of it, the project's goal), the distance the greedy policy drives (the lap length
marked), and off-track events per evaluation episode with the training return. ``--json`` also
writes the numbers, and the headline figures (steps to the first complete lap, best lap and where it
was reached) are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

PANEL_TAGS = ("eval/best_lap_time", "eval/max_distance_m", "eval/distance_m", "eval/off_track_events",
              "eval/completed_laps", "rollout/episode_return", "perf/steps_per_second")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curve", help="plot a training run's learning curve from its TensorBoard logs")
    p.add_argument("logdir", help="the run's TensorBoard folder (train.log_dir, e.g. logs/)")
    p.add_argument("--out", default="learning_curve.png", help="PNG to write (default learning_curve.png)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the curves and headline figures")
    p.add_argument("--track", default="spa", help="track of the reference lap (built-in name or file; 'none' skips)")
    p.add_argument("--title", default=None, help="figure title (default: the log folder)")
    p.set_defaults(func=run)


def read_scalars(logdir: Path, tags: tuple[str, ...] = PANEL_TAGS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{tag: (steps, values)} for the tags present in the event files under ``logdir``; when a run
    was resumed, later writes of a step replace earlier ones."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(logdir.rglob("events.out.tfevents.*"), key=lambda f: f.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no TensorBoard event files under {logdir}; pass the run's train.log_dir")
    merged: dict[str, dict[int, float]] = {}
    for file in files:
        acc = EventAccumulator(str(file), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in set(acc.Tags()["scalars"]) & set(tags):
            merged.setdefault(tag, {}).update({e.step: e.value for e in acc.Scalars(tag)})
    return {tag: (np.array(sorted(points), dtype=np.int64), np.array([points[k] for k in sorted(points)]))
            for tag, points in merged.items()}


def headline(scalars: dict[str, tuple[np.ndarray, np.ndarray]], reference_s: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference_lap_time_s": reference_s}
    steps, laps = scalars.get("eval/best_lap_time", (np.zeros(0), np.zeros(0)))
    finite = np.isfinite(laps)
    out["steps_to_first_lap"] = int(steps[finite][0]) if finite.any() else None
    if finite.any():
        i = int(np.argmin(np.where(finite, laps, np.inf)))
        out["best_lap_time_s"], out["best_lap_step"] = float(laps[i]), int(steps[i])
        if reference_s:
            out["best_lap_vs_reference"] = float(laps[i] / reference_s)
    else:
        out["best_lap_time_s"] = out["best_lap_step"] = None
    if "perf/steps_per_second" in scalars:
        out["median_steps_per_second"] = float(np.median(scalars["perf/steps_per_second"][1]))
    if "eval/off_track_events" in scalars and "eval/completed_laps" in scalars and finite.any():
        s_off, off = scalars["eval/off_track_events"]
        s_laps, done = scalars["eval/completed_laps"]
        at = {int(s): v for s, v in zip(s_off, off, strict=True)}
        pairs = [(at[int(s)], d) for s, d in zip(s_laps, done, strict=True) if int(s) in at and d > 0]
        if pairs:  # the last evaluations with laps: off-track events per episode / laps per episode
            off_per_ep, laps_per_ep = pairs[-1]
            out["off_track_per_lap_last_eval"] = float(off_per_ep / laps_per_ep)
    return out


def plot(path: Path, scalars: dict[str, tuple[np.ndarray, np.ndarray]], reference_s: float | None,
         track_length_m: float | None, title: str) -> None:
    from ac_core.plots import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax = axes[0]
    if "eval/best_lap_time" in scalars:
        steps, laps = scalars["eval/best_lap_time"]
        ax.plot(steps, laps, "o-", lw=1, ms=3, label="greedy evaluation, best lap")
    if reference_s:
        ax.axhline(reference_s, color="k", ls="--", lw=1, label=f"reference driver {reference_s:.1f} s")
        ax.axhline(1.1 * reference_s, color="tab:red", ls=":", lw=1, label=f"110 % = {1.1 * reference_s:.1f} s")
    ax.set_ylabel("lap time (s)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for tag, label in (("eval/max_distance_m", "farthest episode"), ("eval/distance_m", "mean episode")):
        if tag in scalars:
            ax.plot(*scalars[tag], "o-", lw=1, ms=3, label=label)
    if track_length_m:
        ax.axhline(track_length_m, color="k", ls="--", lw=1, label=f"lap {track_length_m / 1000:.2f} km")
    ax.set_ylabel("distance driven (m)")
    ax.legend(fontsize=8)
    ax = axes[2]
    if "eval/off_track_events" in scalars:
        ax.plot(*scalars["eval/off_track_events"], "o-", lw=1, ms=3, color="tab:red",
                label="off-track events per eval episode")
    ax.set_ylabel("off-track events")
    ax.set_xlabel("environment steps")
    if "rollout/episode_return" in scalars:
        twin = ax.twinx()
        twin.plot(*scalars["rollout/episode_return"], lw=0.8, color="tab:green", alpha=0.7)
        twin.set_ylabel("training episode return", color="tab:green")
    ax.legend(fontsize=8, loc="upper left")
    for a in axes:
        a.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    logdir = Path(args.logdir)
    try:
        scalars = read_scalars(logdir)
    except FileNotFoundError as e:
        print(f"ac-core curve: {e}", file=sys.stderr)
        return 1
    if not scalars:
        print(f"ac-core curve: {logdir} has none of the tags {', '.join(PANEL_TAGS)}; is it an ac-core train log?",
              file=sys.stderr)
        return 1
    reference_s = track_length = None
    if args.track != "none":
        from ac_core.track import load_track
        from ac_core.train.checkpoint_eval import reference_for

        try:
            track = load_track(args.track)
        except (ValueError, OSError) as e:
            print(f"ac-core curve: --track: {e}", file=sys.stderr)
            return 2
        track_length = track.length
        reference = reference_for(track)
        reference_s = reference["lap_time_s"] if reference else None
    figures = headline(scalars, reference_s)
    plot(Path(args.out), scalars, reference_s, track_length, args.title or f"learning curve: {logdir}")
    if args.json:
        curves = {tag: {"steps": s.tolist(), "values": [v if math.isfinite(v) else None for v in vals.tolist()]}
                  for tag, (s, vals) in scalars.items()}
        data = {"headline": figures, "curves": curves}
        Path(args.json).write_text(json.dumps(data, indent=2))
    for key, value in figures.items():
        print(f"{key:30s} {value if value is not None else '--'}")
    print(f"curve: {args.out}")
    return 0
