"""``sim``: the built-in simulator in-process, N cars in lockstep, k physics ticks per step."""

from __future__ import annotations

from typing import Any

import numpy as np

from ac_core.env.backends.base import Backend
from ac_core.env.settings import EnvSettings

# Random starts: a speed the car can hold through the next 150 m, well inside its grip.
RANDOM_START_LATERAL_G = 2.0
RANDOM_START_MAX_SPEED = 60.0  # m/s
RANDOM_START_MIN_SPEED = 15.0


def sim_car(settings: EnvSettings) -> tuple[Any, float, float]:
    """The parameter set env.car names, with the lateral g and the speed (m/s) random starts may use:
    FormulaAlpha2022's, or an AC car folder's (ac_core.sim.ac_car; bad files raise AcCarError)."""
    from ac_core import _core
    from ac_core.sim.ac_car import read_ac_car, resolve_car

    folder = resolve_car(settings.car, settings.ac_root)
    if folder is None:
        return _core.VehicleParams(), RANDOM_START_LATERAL_G, RANDOM_START_MAX_SPEED
    car = read_ac_car(folder)
    # Well inside the car's grip without aero (FormulaAlpha2022's 2 g is ~0.9 of its static mu), and
    # below its top speed.
    return car.params, 0.9 * car.static_lateral_g, min(RANDOM_START_MAX_SPEED, 0.8 * car.max_speed_kmh / 3.6)


class SimBackend(Backend):
    def __init__(self, settings: EnvSettings, n: int) -> None:
        from ac_core import _core
        from ac_core.track import load_track

        self.settings = settings
        self.n = n
        self.track = load_track(settings.track)
        options = _core.SimOptions()
        options.weather = settings.weather
        options.lap_start = "flying" if settings.lap_start == "random" else settings.lap_start
        self.params, self._start_lateral_g, self._start_max_speed = sim_car(settings)
        self.batch = _core.SimBatch(n, self.track.core, self.params, options)
        self.physics = self.batch.physics
        self.graphics = self.batch.graphics
        self.static = self.batch.static
        self._controls = self.batch.controls
        self._k = settings.ticks_per_step
        s = np.arange(0.0, self.track.length, 5.0)
        self._curv_s = s
        self._abs_curv = np.abs(np.array([self.track.curvature(x) for x in s]))

    def apply(self, controls: np.ndarray) -> None:
        c = self._controls
        c["steer"] = controls[:, 0]
        c["throttle"] = controls[:, 1]
        c["brake"] = controls[:, 2]

    def advance(self) -> dict[str, Any]:
        self.batch.step(self._k)
        return {}

    def _safe_speed(self, s: float) -> float:
        window = int(150 / 5)
        i = int(s // 5) % len(self._curv_s)
        idx = (np.arange(i, i + window)) % len(self._curv_s)
        kappa = float(self._abs_curv[idx].max())
        v = np.sqrt(self._start_lateral_g * 9.81 / max(kappa, 1e-6))
        return float(np.clip(v, min(RANDOM_START_MIN_SPEED, self._start_max_speed), self._start_max_speed))

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        self._controls[idx] = 0
        for car in np.asarray(idx).tolist():
            if random_start:
                s = float(rng.uniform(0.0, self.track.length))
                self.batch.teleport(car, s, 0.0, 0.0, self._safe_speed(s), clear_history=True)
            else:
                self.batch.reset(car)
