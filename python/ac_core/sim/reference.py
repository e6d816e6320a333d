"""The reference driver's lap: the yardstick agents are compared against.

The driver (C++, ``reference_driver.hpp``) follows a minimum-curvature line with a quasi-steady-state
speed profile built from the car's own grip, power, drag and brake limits. :func:`reference_lap`
drives one flying lap in the simulator and returns a :class:`ReferenceLap` with the per-tick trace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ac_core import _core

# The driver is a 333 Hz controller. Asked only every env step, with its controls held in between and
# rounded to a discrete action table, it arrives at braking points too fast and its corrections come
# late: with its own gains it leaves Spa at La Source at 10, 20 and 33 Hz. Planning with 70 % of the
# lateral and longitudinal grip, a 4x stiffer speed loop and less yaw damping, it laps Spa lap after
# lap at 10, 20 and 33 Hz (FormulaAlpha2022, 63-row table: 1:54.46, 1:54.37, 1:54.36, against 1:41.94
# unheld); 75 % lateral grip is 2 s faster but leaves the track on its second lap at 10 Hz.
HELD_CONTROLS_BELOW_HZ = 150.0
HELD_CONTROL_OPTIONS = {"lateral_grip_use": 0.70, "longitudinal_grip_use": 0.70, "speed_gain": 5.0,
                        "yaw_damping_s": 0.03}


def driver_options(control_hz: float | None = None) -> Any:
    """The reference driver's options for a driver asked ``control_hz`` times per second (None: every
    physics tick, the reference lap's own settings)."""
    options = _core.DriverOptions()
    if control_hz is not None and control_hz < HELD_CONTROLS_BELOW_HZ:
        for name, value in HELD_CONTROL_OPTIONS.items():
            setattr(options, name, value)
    return options


@dataclass(frozen=True)
class CornerMinimum:
    s_m: float
    speed_kmh: float


@dataclass
class ReferenceLap:
    completed: bool
    lap_time_s: float
    track_length_m: float
    top_speed_kmh: float
    min_speed_kmh: float
    peak_lateral_g: float
    peak_braking_g: float
    full_throttle_share: float
    collisions: int
    track: str
    weather: str
    # One row per physics tick of the timed lap: time_s, s, x, z, speed_kmh, lateral_g,
    # longitudinal_g, throttle, brake, steer, gear.
    trace: np.ndarray = field(repr=False)
    car: str = "FormulaAlpha2022"  # the static page's carModel (an AC car's folder id)
    planned_lap_time_s: float = float("nan")  # the lap the driver aims at (DriverPlan)

    @property
    def lap_time_text(self) -> str:
        ms = round(self.lap_time_s * 1000)
        return f"{ms // 60000}:{(ms // 1000) % 60:02d}.{ms % 1000:03d}"

    def corner_minima(self, below_kmh: float = 200.0, separation_m: float = 150.0) -> list[CornerMinimum]:
        """Local speed minima below ``below_kmh`` (slow corners), at least ``separation_m`` apart."""
        if self.trace.size == 0:
            return []
        s = self.trace["s"]
        v = self.trace["speed_kmh"]
        out: list[CornerMinimum] = []
        i = 0
        n = v.size
        while i < n:
            if v[i] >= below_kmh:
                i += 1
                continue
            j = i
            while j < n and v[j] < below_kmh:
                j += 1
            k = i + int(np.argmin(v[i:j]))
            if not out or abs(float(s[k]) - out[-1].s_m) > separation_m:
                out.append(CornerMinimum(float(s[k]), float(v[k])))
            elif v[k] < out[-1].speed_kmh:
                out[-1] = CornerMinimum(float(s[k]), float(v[k]))
            i = j
        return out

    def max_speed_between(self, s_from: float, s_to: float) -> float:
        m = (self.trace["s"] >= s_from) & (self.trace["s"] < s_to)
        return float(self.trace["speed_kmh"][m].max()) if m.any() else float("nan")

    def min_speed_between(self, s_from: float, s_to: float) -> float:
        m = (self.trace["s"] >= s_from) & (self.trace["s"] < s_to)
        return float(self.trace["speed_kmh"][m].min()) if m.any() else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "lap_time_s": round(self.lap_time_s, 3),
            "lap_time": self.lap_time_text,
            "top_speed_kmh": round(self.top_speed_kmh, 1),
            "min_speed_kmh": round(self.min_speed_kmh, 1),
            "peak_lateral_g": round(self.peak_lateral_g, 2),
            "peak_braking_g": round(self.peak_braking_g, 2),
            "full_throttle_share": round(self.full_throttle_share, 3),
            "track_length_m": round(self.track_length_m, 1),
            "collisions": self.collisions,
            "planned_lap_time_s": round(self.planned_lap_time_s, 3),
            "slow_corners": [
                {"s_m": round(c.s_m, 1), "speed_kmh": round(c.speed_kmh, 1)} for c in self.corner_minima()
            ],
            "track": self.track,
            "weather": self.weather,
            "car": self.car,
        }


def reference_lap(track: Any = "spa", *, weather: str = "clear", params: Any = None) -> ReferenceLap:
    """Drive one flying lap with the reference driver on ``track`` (name, path or Track); ``params``:
    the car (default FormulaAlpha2022; :func:`ac_core.sim.load_ac_car` for an AC car)."""
    from ac_core.sim import VehicleParams, native_track

    _check_weather(weather)
    core = native_track(track)
    params = params if params is not None else VehicleParams()
    r = _core.run_reference_lap(core, params, weather)
    name = os.fspath(track) if isinstance(track, (str, os.PathLike)) else str(core.name)
    return ReferenceLap(
        completed=bool(r["completed"]),
        lap_time_s=float(r["lap_time_s"]),
        track_length_m=float(r["track_length_m"]),
        top_speed_kmh=float(r["top_speed_kmh"]),
        min_speed_kmh=float(r["min_speed_kmh"]),
        peak_lateral_g=float(r["peak_lateral_g"]),
        peak_braking_g=float(r["peak_braking_g"]),
        full_throttle_share=float(r["full_throttle_share"]),
        collisions=int(r["collisions"]),
        track=name,
        weather=weather,
        trace=r["trace"],
        car=str(params.car_model),
        planned_lap_time_s=driver_plan(core, weather=weather, params=params).lap_time_s,
    )


@dataclass(frozen=True)
class DriverPlan:
    """What the reference driver aims at: its line's quasi-steady-state speed profile (96 % of the
    lateral and 95 % of the longitudinal limit, the MGU-K assumed everywhere) and the lap time it
    implies. Driven, the driver loses a few seconds to it (docs/simulator.md), so an agent can beat the
    driver's lap without beating its plan."""

    lap_time_s: float
    s: np.ndarray = field(repr=False)  # m along the lap, the plan's grid
    speed_kmh: np.ndarray = field(repr=False)


def driver_plan(track: Any = "spa", *, weather: str = "clear", params: Any = None) -> DriverPlan:
    """The reference driver's plan on ``track`` (name, path or Track) for the car ``params`` (default
    FormulaAlpha2022) in ``weather``."""
    from ac_core.sim import SimOptions, VehicleParams, native_track

    _check_weather(weather)
    core = native_track(track)
    options = SimOptions()
    options.weather = weather
    batch = _core.SimBatch(1, core, params if params is not None else VehicleParams(), options)
    driver = _core.ReferenceDriver(core, batch)
    speed = np.asarray(driver.speed_profile, dtype=np.float64)
    return DriverPlan(lap_time_s=float(driver.planned_lap_time), s=np.arange(speed.size) * float(driver.spacing),
                      speed_kmh=speed * 3.6)


def _check_weather(weather: str) -> None:
    from ac_core.sim import weather_names

    if weather not in weather_names():
        raise ValueError(f"unknown weather {weather!r}; valid values: {', '.join(weather_names())}")


def plot_reference_lap(lap: ReferenceLap, path: str | os.PathLike[str]) -> None:
    """Track map coloured by speed and the speed trace against distance, saved to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib, which is not installed; install it with `pip install matplotlib`"
        ) from None
    tr = lap.trace
    fig, (ax_map, ax_v) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1, 1.4]})
    pts = ax_map.scatter(tr["x"], tr["z"], c=tr["speed_kmh"], s=1.5, cmap="turbo")
    ax_map.set_aspect("equal")
    # Seen from above (+y) in the right-handed y-up frame, +z points down the page: without this
    # the map is mirrored (Spa would run anticlockwise).
    ax_map.invert_yaxis()
    ax_map.set_title(f"{lap.track}: {lap.lap_time_text}")
    ax_map.set_xlabel("x (m)")
    ax_map.set_ylabel("z (m)")
    fig.colorbar(pts, ax=ax_map, label="speed (km/h)")
    ax_v.plot(tr["s"], tr["speed_kmh"], lw=1)
    for c in lap.corner_minima():
        ax_v.annotate(
            f"{c.speed_kmh:.0f}",
            (c.s_m, c.speed_kmh),
            textcoords="offset points",
            xytext=(0, -12),
            ha="center",
            fontsize=8,
        )
    ax_v.set_xlabel("distance (m)")
    ax_v.set_ylabel("speed (km/h)")
    ax_v.grid(alpha=0.3)
    ax_v.set_title(
        f"top {lap.top_speed_kmh:.0f} km/h, lat {lap.peak_lateral_g:.1f} g, brake {lap.peak_braking_g:.1f} g"
    )
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)
