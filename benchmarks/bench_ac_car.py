"""Loaded Assetto Corsa cars: how long a car folder takes to load, and what a loaded car costs per
physics tick against the built-in FormulaAlpha2022 (the baseline, measured in the same run).

* ``read_ac_car`` on each car of ../shared/data/ac_cars (all .ini and .lut files, the grip tables,
  the shift points).
* ``SimBatch.step(k)`` with 16 cars on the built-in Spa, k = 10, for the built-in car and each loaded
  car: car-ticks/s and the ratio to the built-in car (a loaded car adds table look-ups for the engine
  and the tyres, and the turbo's spool state).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ac_core.sim import read_ac_car

from .bench_sim import measure_ticks_per_second
from .conftest import full_run, record

CARS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ac_cars"
CARS = ["vw_sa_citi_golf", "uottawa_fsae_2027"]
N_CARS = 16
K = 10
_builtin_rate: list[float] = []
pytestmark = pytest.mark.skipif(not CARS_DIR.is_dir(), reason="no ../shared/data/ac_cars")


@pytest.mark.parametrize("car", CARS)
def test_car_folder_load_time(benchmark, car):
    benchmark.pedantic(read_ac_car, args=(CARS_DIR / car,), rounds=10 if not full_run() else 50, iterations=1,
                       warmup_rounds=1)
    record(benchmark, f"AC car folder load ({car})", "ac_core", value_ns=benchmark.stats.stats.mean * 1e9)


def _ticks(benchmark, params):
    return measure_ticks_per_second(benchmark, N_CARS, K, params)


def test_builtin_car_ticks_per_second(benchmark):
    rate = _ticks(benchmark, None)
    _builtin_rate.append(rate)
    record(benchmark, f"FormulaAlpha2022 physics ticks/s, {N_CARS} cars, k={K}", "baseline", value_ns=1e9 / rate,
           ticks_per_s=rate)


@pytest.mark.parametrize("car", CARS)
def test_loaded_car_ticks_per_second(benchmark, car):
    rate = _ticks(benchmark, read_ac_car(CARS_DIR / car).params)
    extra = {"ticks_per_s": rate}
    if _builtin_rate:
        extra["ratio_vs_baseline"] = rate / _builtin_rate[-1]
    record(benchmark, f"loaded {car} physics ticks/s, {N_CARS} cars, k={K}", "ac_core", value_ns=1e9 / rate,
           target=">= 300k physics ticks/s per core", target_ns=1e9 / 300_000, **extra)
