"""Evaluation plots: the track map coloured by speed (with the reference line) and speed against
distance beside the reference driver. matplotlib is imported lazily and drawn off-screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install matplotlib (or pass --no-plots)") from None
    return plt


def track_edges(track: Any, step: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Left and right edge polylines [K, 2] (x, z) of a track."""
    s = np.arange(0.0, track.length, step)
    left, right = [], []
    for si in s:
        smp = track.at(float(si))
        lx, lz, _ = track.position(float(si), smp.width_left)
        rx, rz, _ = track.position(float(si), -smp.width_right)
        left.append((lx, lz))
        right.append((rx, rz))
    return np.array(left), np.array(right)


def plot_track_map(path: Path, track: Any, runs: list[dict[str, np.ndarray]], reference: dict[str, np.ndarray] | None,
                   title: str) -> None:
    """runs: dicts with x, z, speed_kmh arrays; reference: dict with x, z."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 9))
    left, right = track_edges(track)
    for edge in (left, right):
        ax.plot(edge[:, 0], edge[:, 1], color="0.6", lw=0.6)
    if reference is not None:
        ax.plot(reference["x"], reference["z"], color="k", lw=0.8, ls="--", label="reference driver")
    sc = None
    for run in runs:
        if len(run["x"]):
            sc = ax.scatter(run["x"], run["z"], c=run["speed_kmh"], s=2, cmap="viridis", vmin=0, vmax=350)
    if sc is not None:
        fig.colorbar(sc, ax=ax, shrink=0.7, label="speed (km/h)")
    ax.set_aspect("equal")
    # AC's frame is right-handed with y up: seen from above, +z points down the page (not up, which
    # would mirror the map).
    ax.invert_yaxis()
    ax.set_xlabel("x (m)")
    ax.set_ylabel("z (m)")
    ax.set_title(title)
    if reference is not None:
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def break_at_wraps(distance: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inserts a NaN gap where the distance along the lap falls back (the car crossed the line), so a
    plotted line does not jump back across the whole lap."""
    wraps = np.flatnonzero(np.diff(distance) < 0) + 1
    return np.insert(distance, wraps, np.nan), np.insert(values, wraps, np.nan)


def plot_speed_trace(path: Path, runs: list[dict[str, np.ndarray]], reference: dict[str, np.ndarray] | None,
                     title: str) -> None:
    """runs: dicts with distance (m along the lap) and speed_kmh; reference: s and speed_kmh."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(12, 4.5))
    if reference is not None:
        ax.plot(reference["s"], reference["speed_kmh"], color="k", lw=1.2, label="reference driver")
        if "plan_s" in reference:
            ax.plot(reference["plan_s"], reference["plan_speed_kmh"], color="0.45", lw=0.9, ls=":",
                    label="reference driver's plan")
    for i, run in enumerate(runs):
        distance, speed = break_at_wraps(np.asarray(run["distance"], float), np.asarray(run["speed_kmh"], float))
        ax.plot(distance, speed, lw=0.8, alpha=0.8, label=f"episode {i}" if i < 5 else None)
    ax.set_xlabel("distance along the lap (m)")
    ax.set_ylabel("speed (km/h)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
