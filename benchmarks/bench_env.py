"""Environment steps per second on the `sim` backend: one env, and vectors of 16 and 64 cars
(target ≥ 20,000 steps/s on 2 cores without learning), beside the bare simulator doing the same
physics (17 ticks per step) so the environment's own overhead shows as a ratio."""

from __future__ import annotations

import numpy as np
import pytest

from ac_core import _core
from ac_core.env import AssettoCorsaEnv, make_vector
from ac_core.track import load_track

STEPS = 50
COAST = 3 * 4 + 1


@pytest.mark.parametrize("cars", [1, 16, 64])
def test_env_steps(benchmark, cars: int) -> None:
    if cars == 1:
        env = AssettoCorsaEnv(lap_start="random", max_episode_seconds=1e6, no_progress_s=1e6, off_track_grace_s=1e6,
                              terminate_on_collision=False)
        env.reset(seed=0)

        def run() -> None:
            for _ in range(STEPS):
                env.step(COAST)
    else:
        env = make_vector(cars, lap_start="random")
        env.reset(seed=0)
        actions = np.full(cars, COAST)

        def run() -> None:
            for _ in range(STEPS):
                env.step(actions)

    benchmark.group = f"env steps, {cars} car(s)"
    benchmark.extra_info["env_steps_per_call"] = STEPS * cars
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    benchmark.extra_info["env_steps_per_s"] = STEPS * cars / benchmark.stats.stats.median
    env.close()


@pytest.mark.parametrize("cars", [1, 16, 64])
def test_bare_simulator_same_physics(benchmark, cars: int) -> None:
    sim = _core.SimBatch(cars, load_track("spa").core)

    def run() -> None:
        for _ in range(STEPS):
            sim.step(17)

    benchmark.group = f"env steps, {cars} car(s)"
    benchmark.extra_info["env_steps_per_call"] = STEPS * cars
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    benchmark.extra_info["env_steps_per_s"] = STEPS * cars / benchmark.stats.stats.median
