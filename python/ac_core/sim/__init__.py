"""The built-in Assetto Corsa stand-in simulator: a 2022 Formula car ("FormulaAlpha2022") at 333 Hz,
or any Assetto Corsa car loaded from its unpacked data/ folder (:func:`load_ac_car`).

* :func:`make_sim` — the batched lockstep simulator (``SimBatch``): N cars, ``step(k)`` runs k
  physics ticks, per-car AC pages as NumPy structured-array views (dtypes from
  :mod:`ac_core.pages`) and a ``controls`` view (:data:`CONTROLS_DTYPE`) to write inputs into.
* :func:`reference_lap` — the model-based reference driver's lap (:class:`ReferenceLap`).
* :mod:`ac_core.sim.process` — the simulator as its own real-time process (``ac-core sim``).
* :func:`load_ac_car` / :func:`read_ac_car` — an AC car folder as a :class:`VehicleParams`;
  :func:`straight_line_run` — its 0-100 km/h and top speed on a flat straight.

The physics, the page filling and the driver are C++ (``cpp/src/sim``); see ``docs/simulator.md``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ac_core import _core
from ac_core.sim.ac_car import AcCar, AcCarError, load_ac_car, read_ac_car, resolve_car
from ac_core.sim.reference import DriverPlan, ReferenceLap, driver_plan, reference_lap

SimBatch = _core.SimBatch
SimOptions = _core.SimOptions
VehicleParams = _core.VehicleParams
DriverOptions = _core.DriverOptions
ReferenceDriver = _core.ReferenceDriver
PHYSICS_HZ: float = float(_core.PHYSICS_HZ)
CAR_MODEL: str = str(_core.CAR_MODEL)
# The simulator's start modes (C++ SimOptions.lap_start). The environment's lap_start choices are these
# plus "random" (ac_core.env.settings.LAP_STARTS, derived from this one).
LAP_STARTS: tuple[str, ...] = ("pit_out", "flying", "standing")

# One car's controls; the layout of the C++ CarInput (shift: +1 up / -1 down for the next step).
CONTROLS_DTYPE = np.dtype(
    {
        "names": ["steer", "throttle", "brake", "clutch", "shift", "drs"],
        "formats": ["<f4", "<f4", "<f4", "<f4", "i1", "u1"],
        "offsets": [0, 4, 8, 12, 16, 17],
        "itemsize": 20,
    }
)

__all__ = [
    "CAR_MODEL",
    "CONTROLS_DTYPE",
    "LAP_STARTS",
    "PHYSICS_HZ",
    "AcCar",
    "AcCarError",
    "DriverOptions",
    "DriverPlan",
    "ReferenceDriver",
    "ReferenceLap",
    "SimBatch",
    "SimOptions",
    "VehicleParams",
    "driver_plan",
    "load_ac_car",
    "make_sim",
    "native_track",
    "read_ac_car",
    "reference_lap",
    "resolve_car",
    "straight_line_run",
    "weather_names",
]


def weather_names() -> list[str]:
    """Valid ``weather`` values."""
    return list(_core.weather_names())


def native_track(track: Any) -> Any:
    """The C++ track object for a name ("spa"), a path (fast_lane.ai / TUMFTM .csv), an
    :class:`ac_core.track.Track` or an ``ac_core._core.Track``."""
    if isinstance(track, _core.Track):
        return track
    core = getattr(track, "core", None)
    if isinstance(core, _core.Track):
        return core
    if isinstance(track, (str, os.PathLike)):
        from ac_core.track import load_track

        return load_track(track).core
    raise TypeError(f"expected a track name, a path or a Track, got {type(track).__name__}")


def make_sim(
    n_cars: int = 1,
    track: Any = "spa",
    *,
    weather: str = "clear",
    lap_start: str = "flying",
    auto_shift: bool = True,
    params: Any = None,
    **options: Any,
) -> Any:
    """A :class:`SimBatch` of ``n_cars`` on ``track``. Extra keyword arguments set :class:`SimOptions`
    fields (e.g. ``flying_speed_kmh=250``). Raises ValueError for an unknown weather or lap start."""
    if weather not in weather_names():
        raise ValueError(f"unknown weather {weather!r}; valid values: {', '.join(weather_names())}")
    if lap_start not in LAP_STARTS:
        raise ValueError(f"unknown lap_start {lap_start!r}; valid values: {', '.join(LAP_STARTS)}")
    if n_cars < 1:
        raise ValueError(f"n_cars must be >= 1, got {n_cars}")
    opts = SimOptions()
    opts.weather = weather
    opts.lap_start = lap_start
    opts.auto_shift = auto_shift
    for key, value in options.items():
        if not hasattr(opts, key):
            raise TypeError(f"unknown simulator option {key!r}")
        setattr(opts, key, value)
    return SimBatch(n_cars, native_track(track), params if params is not None else VehicleParams(), opts)


def straight_line_run(params: Any = None, max_time_s: float = 150.0) -> dict[str, Any]:
    """A standing start on a flat straight at full throttle (automatic shifts, a wheelspin guard), as
    published figures are meant: ``time_to_100_kmh_s`` (-1 if not reached), ``time_to_97_kmh_s``,
    ``top_speed_kmh`` (where the speed settles), ``top_gear``, ``top_rpm``, ``rev_limited`` and
    ``speed_kmh`` every 0.1 s."""
    return dict(_core.straight_line_run(params if params is not None else VehicleParams(), max_time_s))
