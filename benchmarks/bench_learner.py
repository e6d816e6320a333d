"""Training on a live backend: the agent's reaction time with the background-thread learner against
the inline learner, in the same run.

On `sim-live` (the simulator as its own real-time process, 20 decisions per second) the trainer runs
a short IQN training with one gradient step per env step. What is measured is the time from an
observation's return (env.step) to the next action's write: with the inline learner a whole
gradient step (15-25 ms on a CPU) sits in that gap; with the thread learner only the forward pass
does. The stepper's own lateness is reported beside it. Seconds of wall time per learner; more steps
with AC_CORE_BENCH_FULL=1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import full_run, record

FIGURE = "training on sim-live: observation → next action (20 Hz, 1 update/step)"
LEARNING_STARTS = 100


def _config(mode: str, steps: int, tmp: Path) -> Any:
    from ac_core.config import config_from_dict

    return config_from_dict({
        "env": {"backend": "sim-live", "lap_start": "flying", "control_hz": 20, "n_envs": 1,
                "action_set": "discrete_fine"},
        "agent": {"hidden_units": 256, "n_quantiles": 8, "n_quantiles_policy": 8, "batch_size": 64,
                  "learning_starts": LEARNING_STARTS, "train_freq": 1, "gradient_steps": 1,
                  "epsilon_decay_steps": 2_000},
        "train": {"total_timesteps": steps, "eval_interval": 10**9, "save_interval": 10**9, "progress": False,
                  "torch_threads": 1, "device": "cpu", "learner": mode, "log_dir": str(tmp / "logs"),
                  "checkpoint_dir": str(tmp / "ck"), "log_interval": 10**9},
    })


def run_training(mode: str, steps: int, tmp: Path) -> dict[str, np.ndarray]:
    """Trains `steps` env steps; returns the reaction times and step lateness after learning starts (ms)."""
    from ac_core.train.loop import Trainer, TrainerHooks
    from ac_core.train.racing import lap_metrics, make_env_factory

    cfg = _config(mode, steps, tmp)
    make_env, _ = make_env_factory(cfg)
    reaction: list[float] = []
    lateness: list[float] = []

    def timed_env() -> Any:
        env = make_env()
        step = env.step
        returned: list[float] = []

        def timed_step(action: Any) -> Any:
            start = time.perf_counter()
            if returned:
                reaction.append(1000.0 * (start - returned[-1]))
            out = step(action)
            returned[:] = [time.perf_counter()]
            return out

        reset = env.reset

        def untimed_reset(*args: Any, **kwargs: Any) -> Any:
            returned.clear()  # a reset between two steps is not the agent reacting
            return reset(*args, **kwargs)

        env.step = timed_step
        env.reset = untimed_reset
        return env

    def metrics(infos: Any, valid: np.ndarray) -> dict[str, float]:
        out = lap_metrics(infos, valid)
        if "step_lateness_ms" in out:
            lateness.append(out["step_lateness_ms"])
        return out

    Trainer(cfg, timed_env, hooks=TrainerHooks(step_metrics=metrics)).train()
    skip = LEARNING_STARTS + 50  # once the replay holds enough and updates run
    return {"reaction_ms": np.asarray(reaction[skip:]), "lateness_ms": np.asarray(lateness[skip:])}


@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_reaction_time_while_learning(benchmark, mode: str, tmp_path: Path) -> None:
    steps = 1_200 if full_run() else 300
    result: dict[str, np.ndarray] = {}
    benchmark.group = FIGURE
    benchmark.pedantic(lambda: result.update(run_training(mode, steps, tmp_path)), rounds=1, iterations=1)
    reaction, lateness = result["reaction_ms"], result["lateness_ms"]
    assert reaction.size > 0, "no steps after learning started"
    record(
        benchmark,
        FIGURE,
        "ac_core" if mode == "thread" else "baseline",
        value_ns=float(np.percentile(reaction, 50) * 1e6),
        p99_ns=float(np.percentile(reaction, 99) * 1e6),
        max_ns=float(reaction.max() * 1e6),
        samples=int(reaction.size),
        step_lateness_p50_ms=float(np.percentile(lateness, 50)) if lateness.size else None,
        step_lateness_p99_ms=float(np.percentile(lateness, 99)) if lateness.size else None,
        what=f"{mode} learner",
    )
