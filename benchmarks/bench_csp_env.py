"""Environment steps per second on the ``csp`` backend against the simulator process (``ac-core sim
--protocol csp``), beside the real-time ``sim-live`` backend measured in the same run.

* ``sim-live``, time scale 1: the baseline — what a joystick-driven trainer gets from the game.
* ``csp`` real time at time scale 1, 4 and 10 (CSP's SimState.v1 ``time_scale``).
* ``csp`` pause-step at time scale 1 and 10: pause → observe → act → resume for k ticks.

The ratio to the baseline is the speed-up a user would get in the game, provided the game itself
runs that fast (CSP's time scale is bounded by the machine running AC). 17 physics ticks per step
(control_hz 20), coasting from the flying-start point (the csp backend teleports the car there at
rest; sim-live's simulator starts it at speed: the step rate does not depend on it), no learning.
"""

from __future__ import annotations

import numpy as np
import pytest

from ac_core.env import AssettoCorsaEnv

from .conftest import full_run, record

STEPS = 60 if full_run() else 20
ACTION = 3 * 4 + 1  # straight, coasting: the car stays on the track for the whole run
_baseline: dict[str, float] = {}


def _run_env(benchmark, figure: str, role: str, **settings) -> None:
    env = AssettoCorsaEnv(lap_start="flying", max_episode_seconds=1e6, no_progress_s=1e6, off_track_grace_s=1e6,
                          terminate_on_collision=False, reset_timeout_s=10.0, **settings)
    ticks: list[int] = []
    try:
        env.reset(seed=0)

        def run() -> None:
            for _ in range(STEPS):
                _, _, term, trunc, info = env.step(ACTION)
                ticks.append(int(info["timing"].get("ticks", env.core.settings.ticks_per_step)))
                if term or trunc:
                    env.reset()

        benchmark.group = "csp env steps/s vs sim-live (real time)"
        benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    finally:
        env.close()
    per_s = STEPS / benchmark.stats.stats.median
    values = {"env_steps_per_s": per_s, "value_ns": 1e9 / per_s, "mean_ticks_per_step": float(np.mean(ticks)),
              "max_ticks_per_step": int(np.max(ticks))}
    if role == "baseline":
        _baseline["steps_per_s"] = per_s
    elif "steps_per_s" in _baseline:
        values["speedup_vs_sim_live"] = per_s / _baseline["steps_per_s"]
    record(benchmark, figure, role, **values)


def test_sim_live_real_time_baseline(benchmark) -> None:
    _run_env(benchmark, "env steps/s, sim-live, time scale 1", "baseline", backend="sim-live", time_scale=1.0)


@pytest.mark.parametrize("time_scale", [1.0, 4.0, 10.0])
def test_csp_real_time(benchmark, time_scale: float) -> None:
    _run_env(benchmark, f"env steps/s, csp realtime, time scale {time_scale:g}", "ac_core", backend="csp",
             csp_sim=True, csp_mode="realtime", time_scale=time_scale, csp_watchdog=False)


@pytest.mark.parametrize("time_scale", [1.0, 10.0])
def test_csp_pause_step(benchmark, time_scale: float) -> None:
    _run_env(benchmark, f"env steps/s, csp pause-step, time scale {time_scale:g}", "ac_core", backend="csp",
             csp_sim=True, csp_mode="pause", time_scale=time_scale, csp_watchdog=False)
