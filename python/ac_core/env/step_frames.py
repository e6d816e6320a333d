"""What happened between two agent steps, from every physics frame in between (vectorised over cars).

AC publishes ~33 physics packets between two 10 Hz steps; the observation shows the newest one. An
off-track excursion, a wheel lock or a kerb strike in the others would be invisible to the reward and
the episode logic if they read only that frame, so a step also carries these aggregates over all of
its frames (arrays [N]):

  frames          physics frames the step covered (1 for a backend that only has the final page)
  max_tyres_out   the most tyres out of the track in any frame
  off_fraction    the share of frames with more than ``off_track_tyres`` tyres out
  off_at_end      1 when the newest frame has more than ``off_track_tyres`` tyres out, else 0
  off_track_speed mean over the frames of speed (m/s) · tyres_out / 4: the off-track penalty's integrand
  max_wheel_slip  the largest wheelSlip of any wheel in any frame
  min_speed_mps   the lowest speed in any frame
  peak_g          the largest horizontal acceleration (√(accG_x² + accG_z²), in g) in any frame
  max_damage      the largest carDamage sum (4 body zones) in any frame

Live backends compute them from the frames their poller queued (``from_frames``); the in-process
simulator, which hands over only the final page, from that page (``from_pages``): one frame.
"""

from __future__ import annotations

import numpy as np

FIELDS = (
    "frames",
    "max_tyres_out",
    "off_fraction",
    "off_at_end",
    "off_track_speed",
    "max_wheel_slip",
    "min_speed_mps",
    "peak_g",
    "max_damage",
)


def _per_frame(physics: np.ndarray, off_track_tyres: int) -> dict[str, np.ndarray]:
    """The per-frame quantities of a physics array of any shape (the aggregates reduce the last axis)."""
    tyres = physics["numberOfTyresOut"].astype(np.float64)
    speed = physics["speedKmh"].astype(np.float64) / 3.6
    acc = physics["accG"].astype(np.float64)
    return {
        "tyres": tyres,
        "off": (tyres > off_track_tyres).astype(np.float64),
        "off_speed": speed * tyres / 4.0,
        "slip": np.abs(physics["wheelSlip"].astype(np.float64)).max(axis=-1),
        "speed": speed,
        "g": np.hypot(acc[..., 0], acc[..., 2]),
        "damage": physics["carDamage"][..., :4].astype(np.float64).sum(axis=-1),
    }


def from_pages(physics: np.ndarray, off_track_tyres: int) -> dict[str, np.ndarray]:
    """Aggregates of one frame per car: the final page [N] is all a backend has."""
    q = _per_frame(physics, off_track_tyres)
    return {"frames": np.ones(physics.shape[0]), "max_tyres_out": q["tyres"], "off_fraction": q["off"],
            "off_at_end": q["off"], "off_track_speed": q["off_speed"], "max_wheel_slip": q["slip"],
            "min_speed_mps": q["speed"], "peak_g": q["g"], "max_damage": q["damage"]}  # fmt: skip


def from_frames(physics: np.ndarray, off_track_tyres: int) -> dict[str, np.ndarray]:
    """Aggregates of one car's frames since its previous step: ``physics`` is a [frames] physics array
    (at least one frame: the newest, which the observation shows); returns arrays [1]."""
    if physics.shape[0] == 0:
        raise ValueError("a step's aggregates need at least one frame")
    q = _per_frame(physics, off_track_tyres)
    return {"frames": np.array([float(physics.shape[0])]), "max_tyres_out": q["tyres"].max(keepdims=True),
            "off_fraction": q["off"].mean(keepdims=True), "off_at_end": q["off"][-1:],
            "off_track_speed": q["off_speed"].mean(keepdims=True), "max_wheel_slip": q["slip"].max(keepdims=True),
            "min_speed_mps": q["speed"].min(keepdims=True), "peak_g": q["g"].max(keepdims=True),
            "max_damage": q["damage"].max(keepdims=True)}  # fmt: skip
