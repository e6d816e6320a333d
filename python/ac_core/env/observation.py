"""The observation vector: page fields + track geometry, composed in NumPy over N cars.

Every entry has a fixed normalisation (no running statistics, so a trained agent sees the same
scale on every backend). The layout, in order (``ObservationLayout.slices`` names each block):

  velocity         2   localVelocity [lateral (+left), forward] / 100 m/s
  yaw_rate         1   localAngularVel[1] / 2 rad/s
  accel            2   accG [lateral, longitudinal] / 5 g
  inputs           3   physics echo: steerAngle (−1..1), gas, brake
  gear             1   (AC gear − 1) / 8   (R = −1/8, N = 0, 1st = 1/8 …)
  rpm              1   rpms / static.maxRpm
  wheel_slip       4   tanh(wheelSlip / 5), FL FR RL RR
  tyres_out        1   numberOfTyresOut / 4
  lateral          1   lateral offset from the centre line / 10 m (+ = left)
  heading_error    1   car heading − track heading, rad / π
  lookahead        2M  centre line ahead in the car frame: (forward / D, left / 50 m) at M distances
                       out to D (default 40 points to 400 m, denser near the car)
  curvature_ahead  M   curvature at the same distances × 50 m (+ = left turn)
  rays             R   distance to the track edge along a fan of R rays / range (15 rays, ±90°)
  prev_action      3   the previous applied (steer, throttle, brake): the live backends act with a
                       delay, and this keeps the state Markovian
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ac_core.env.settings import EnvSettings


def lookahead_distances(settings: EnvSettings) -> np.ndarray:
    """M distances ahead, denser near the car: d_i = 5 m + (D − 5 m)·(i/(M−1))^1.5."""
    m = settings.lookahead_points
    frac = np.linspace(0.0, 1.0, m) if m > 1 else np.array([1.0])
    return 5.0 + (settings.lookahead_distance_m - 5.0) * frac**1.5


def ray_angles(settings: EnvSettings) -> np.ndarray:
    """R ray angles in rad (+ = left), denser straight ahead, spanning ±90°."""
    r = settings.ray_count
    u = np.linspace(-1.0, 1.0, r) if r > 1 else np.zeros(1)
    return np.sign(u) * np.abs(u) ** 1.6 * (np.pi / 2)


@dataclass(frozen=True)
class ObservationLayout:
    slices: dict[str, slice]
    size: int

    @staticmethod
    def for_settings(settings: EnvSettings) -> ObservationLayout:
        m, r = settings.lookahead_points, settings.ray_count
        blocks = [
            ("velocity", 2), ("yaw_rate", 1), ("accel", 2), ("inputs", 3), ("gear", 1), ("rpm", 1),
            ("wheel_slip", 4), ("tyres_out", 1), ("lateral", 1), ("heading_error", 1),
            ("lookahead", 2 * m), ("curvature_ahead", m), ("rays", r), ("prev_action", 3),
        ]  # fmt: skip
        slices, start = {}, 0
        for name, width in blocks:
            slices[name] = slice(start, start + width)
            start += width
        return ObservationLayout(slices, start)


@dataclass
class Geometry:
    """Per-car track geometry for one step (filled in place by TrackGeometry)."""

    s: np.ndarray  # [N]
    lateral: np.ndarray  # [N]
    heading_error: np.ndarray  # [N]
    curvature: np.ndarray  # [N]
    lookahead: np.ndarray  # [N, 1, M, 2] (forward, left): the C++ geometry takes a line axis; one line, the centre
    curvature_ahead: np.ndarray  # [N, M]
    rays: np.ndarray  # [N, R]

    @staticmethod
    def empty(n: int, m: int, r: int) -> Geometry:
        return Geometry(
            s=np.full(n, np.nan), lateral=np.zeros(n), heading_error=np.zeros(n), curvature=np.zeros(n),
            lookahead=np.zeros((n, 1, m, 2)), curvature_ahead=np.zeros((n, m)), rays=np.zeros((n, r)),
        )  # fmt: skip


def compose_observation(
    out: np.ndarray,
    layout: ObservationLayout,
    settings: EnvSettings,
    physics: np.ndarray,
    max_rpm: float,
    geometry: Geometry,
    prev_action: np.ndarray,
) -> np.ndarray:
    """Fill ``out`` [N, layout.size] (float32) from the pages and geometry; returns ``out``."""
    sl = layout.slices
    lv = physics["localVelocity"]
    out[:, sl["velocity"]] = lv[:, (0, 2)] / 100.0
    out[:, sl["yaw_rate"]] = physics["localAngularVel"][:, 1:2] / 2.0
    out[:, sl["accel"]] = physics["accG"][:, (0, 2)] / 5.0
    out[:, sl["inputs"].start] = physics["steerAngle"]
    out[:, sl["inputs"].start + 1] = physics["gas"]
    out[:, sl["inputs"].start + 2] = physics["brake"]
    out[:, sl["gear"].start] = (physics["gear"] - 1) / 8.0
    out[:, sl["rpm"].start] = physics["rpms"] / max(max_rpm, 1.0)
    out[:, sl["wheel_slip"]] = np.tanh(physics["wheelSlip"] / 5.0)
    out[:, sl["tyres_out"].start] = physics["numberOfTyresOut"] / 4.0
    out[:, sl["lateral"].start] = geometry.lateral / 10.0
    out[:, sl["heading_error"].start] = geometry.heading_error / np.pi
    la = geometry.lookahead[:, 0]  # centre line
    n = out.shape[0]
    scaled = out[:, sl["lookahead"]].reshape(n, -1, 2)
    scaled[:, :, 0] = la[:, :, 0] / settings.lookahead_distance_m
    scaled[:, :, 1] = la[:, :, 1] / 50.0
    out[:, sl["lookahead"]] = scaled.reshape(n, -1)
    out[:, sl["curvature_ahead"]] = geometry.curvature_ahead * 50.0
    out[:, sl["rays"]] = geometry.rays / settings.ray_range_m
    out[:, sl["prev_action"]] = prev_action
    np.nan_to_num(out, copy=False, nan=0.0, posinf=10.0, neginf=-10.0)
    np.clip(out, -10.0, 10.0, out=out)
    return out
