"""Built-in simulator throughput (physics ticks per second per core) and real-time loop regularity.

* ``SimBatch.step(k)`` for 1, 16 and 64 cars on the built-in Spa: car-ticks/s (target DESIGN.md §8:
  >= 300k physics ticks/s per core). Pages are written once per k-tick step; k = 10 here.
* Baseline in the same run: a vectorised NumPy dynamic bicycle (linear tyres, no load transfer,
  no powertrain, no track queries, no pages) stepping the same number of cars; the ratio is
  recorded in extra_info. The C++ model does far more per tick, so the ratio understates it.
* The real-time process loop (``RealtimeRunner``, as ``ac-core sim`` runs it): lateness of each
  tick's wake-up against its absolute deadline, p50/p99/max over ~1 s (full run: 5 s).
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from ac_core import _core
from ac_core.sim import make_sim, native_track

from .conftest import full_run, record

N_CARS = [1, 16, 64]
K = 10
_baseline_rate: dict[int, float] = {}


class NumpyBicycle:
    """Vectorised dynamic bicycle with linear tyres: the cheapest plausible per-tick vehicle step."""

    def __init__(self, n: int) -> None:
        self.x = np.zeros(n)
        self.z = np.zeros(n)
        self.yaw = np.zeros(n)
        self.vx = np.full(n, 50.0)
        self.vy = np.zeros(n)
        self.r = np.zeros(n)
        self.delta = np.full(n, 0.02)

    def step(self, dt: float = 1 / 333.0) -> None:
        m, iz, lf, lr, cf, cr = 805.0, 500.0, 1.97, 1.63, 80e3, 90e3
        vx = np.maximum(self.vx, 1.0)
        af = np.arctan2(self.vy + lf * self.r, vx) - self.delta
        ar = np.arctan2(self.vy - lr * self.r, vx)
        fyf, fyr = -cf * af, -cr * ar
        drag = 0.5 * 1.18 * 1.65 * self.vx**2
        self.vx += dt * ((-drag - fyf * np.sin(self.delta)) / m + self.r * self.vy)
        self.vy += dt * ((fyf * np.cos(self.delta) + fyr) / m - self.r * self.vx)
        self.r += dt * (lf * fyf * np.cos(self.delta) - lr * fyr) / iz
        self.yaw += dt * self.r
        self.x += dt * (self.vx * np.sin(self.yaw) + self.vy * np.cos(self.yaw))
        self.z += dt * (self.vx * np.cos(self.yaw) - self.vy * np.sin(self.yaw))


@pytest.mark.parametrize("n", N_CARS)
def test_numpy_bicycle_baseline(benchmark, n):
    model = NumpyBicycle(n)

    def run() -> None:
        for _ in range(K):
            model.step()

    benchmark.pedantic(run, rounds=20 if not full_run() else 200, iterations=5, warmup_rounds=2)
    rate = n * K / benchmark.stats.stats.mean
    _baseline_rate[n] = rate
    record(benchmark, f"NumPy bicycle, {n} cars", "baseline", value_ns=1e9 / rate, ticks_per_s=rate)


def measure_ticks_per_second(benchmark, n: int, k: int = K, params=None) -> float:
    """Physics car-ticks/s of ``n`` cars stepped ``k`` ticks at a time at Spa (``params``: the car)."""
    sim = make_sim(n, "spa", lap_start="flying", params=params)
    rng = np.random.default_rng(0)
    sim.controls["throttle"] = rng.uniform(0.3, 1.0, n)
    sim.controls["steer"] = rng.uniform(-0.05, 0.05, n)
    steps = [0]

    def run() -> None:
        sim.step(k)
        steps[0] += 1
        if steps[0] % 200 == 0:  # keep the cars on the track (fresh flying starts)
            sim.reset_all()

    benchmark.pedantic(run, rounds=50 if not full_run() else 500, iterations=5, warmup_rounds=3)
    return n * k / benchmark.stats.stats.mean


@pytest.mark.parametrize("n", N_CARS)
def test_simbatch_ticks_per_second(benchmark, n):
    rate = measure_ticks_per_second(benchmark, n)
    extra = {"ticks_per_s": rate}
    if n in _baseline_rate:
        extra["ratio_vs_baseline"] = rate / _baseline_rate[n]
    record(
        benchmark,
        f"SimBatch physics ticks/s, {n} cars, k={K}",
        "ac_core",
        target=">= 300k physics ticks/s per core",
        target_ns=1e9 / 300_000,
        value_ns=1e9 / rate,
        **extra,
    )


def test_realtime_loop_lateness(benchmark):
    prefix = f"benchsim{uuid.uuid4().hex[:8]}_"
    seconds = 5.0 if full_run() else 1.0
    runner = _core.RealtimeRunner(native_track("spa"), prefix=prefix)
    try:

        def run() -> None:
            runner.run_for(seconds)

        t0 = time.perf_counter()
        benchmark.pedantic(run, rounds=1, iterations=1)
        wall = time.perf_counter() - t0
        stats = runner.stats
    finally:
        runner.close()
    record(
        benchmark,
        "sim process loop lateness (333 Hz, absolute deadlines)",
        "ac_core",
        target="p99 <= 0.5 ms, no drift",
        target_ns=500_000,
        value_ns=stats["lateness_p50_us"] * 1e3,
        p99_ns=stats["lateness_p99_us"] * 1e3,
        max_ns=stats["lateness_max_us"] * 1e3,
        ticks=stats["ticks"],
        expected_ticks=round(seconds * 333),
        wall_s=wall,
        resyncs=stats["resyncs"],
    )
