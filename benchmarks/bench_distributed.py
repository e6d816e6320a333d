"""Scale-out throughput on a local Ray cluster against the single-process trainer, same run, same config.

- Total env steps/s (learning on, the same replay ratio) with 1, 2 and 4 simulator collectors, and the
  single-process ``Trainer`` on the same machine. On a 2-core machine this shows Ray's overhead more
  than scaling: the learner, the collectors, the replay and Ray's own processes share two cores.
- The transport's costs: pushing a 256-transition batch to the replay actor (per transition) against
  a direct call, and one weight sync (a full snapshot of the online network) against an in-process copy.

Each figure is in ``extra_info``; ``ac-core bench``-style ratios are against ``single_process`` here.
Skipped without Ray (``pip install .[distributed]``).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is not installed: pip install .[distributed] for the scale-out benchmarks",
                allow_module_level=True)
# Imported by the local_ray fixture, after it sets RAY_AUTH_MODE: Ray reads the auth mode when it is
# imported, so importing it here (at collection) would fix "disabled" before the fixture runs.
ray: Any = None

from tests.ray_head import SESSION_TOKEN  # noqa: E402

from ac_core.config import Config, config_from_dict  # noqa: E402
from ac_core.distributed.learner_core import LearnerCore, load_snapshot, snapshot_of  # noqa: E402
from ac_core.distributed.messages import TransitionBatch  # noqa: E402
from ac_core.distributed.replay_service import ReplayService  # noqa: E402
from ac_core.distributed.settings import ClusterSettings, ScaleOutSettings  # noqa: E402

STEPS = 3_000  # env steps per measured round
BATCH = 256


def bench_config(tmp: Path) -> Config:
    return config_from_dict({
        "env": {"lap_start": "random", "n_envs": 8},
        "agent": {"hidden_units": 128, "batch_size": 64, "n_quantiles": 8, "n_quantiles_policy": 8, "n_cos": 32,
                  "learning_starts": 500, "replay_size": 100_000, "train_freq": 8, "epsilon_decay_steps": 50_000},
        "train": {"total_timesteps": 10**9, "eval_interval": 10**9, "save_interval": 10**9, "torch_threads": 1,
                  "progress": False, "device": "cpu", "log_dir": str(tmp / "logs"),
                  "checkpoint_dir": str(tmp / "ck")},
    })


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Path]:
    """One local cluster for the module (as `--ray-address local` starts), quiet, HOME in a temp dir."""
    tmp = Path(tempfile.mkdtemp(prefix="acrb", dir="/tmp"))
    saved = {key: os.environ.get(key) for key in ("HOME", "RAY_USAGE_STATS_ENABLED", "RAY_DEDUP_LOGS",
                                                   "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    # Token authentication with the test session's token: Ray keeps the auth mode and token it first
    # saw in a process, and the distributed tests in the same pytest run use token mode.
    os.environ.update(HOME=str(tmp), RAY_USAGE_STATS_ENABLED="0", RAY_DEDUP_LOGS="0", RAY_AUTH_MODE="token",
                      RAY_AUTH_TOKEN=SESSION_TOKEN)
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    global ray
    import ray as ray_module

    ray = ray_module
    ray.init(num_cpus=6, include_dashboard=False, object_store_memory=200 * 1024 * 1024, logging_level="ERROR",
             _temp_dir=str(tmp / "r"))
    try:
        yield tmp
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_single_process_trainer(benchmark, tmp_path: Path) -> None:
    from ac_core.train.loop import Trainer
    from ac_core.train.racing import make_env_factory

    factory, _ = make_env_factory(bench_config(tmp_path))
    trainers: list[Trainer] = []

    def setup() -> tuple[tuple, dict]:
        # A folder per round: a run directory holds one run (a second would need --resume or --force).
        trainer = Trainer(bench_config(tmp_path / f"round{len(trainers)}"), factory)
        trainer.config.train.total_timesteps = STEPS
        trainer.evaluate = lambda agent, step: {}  # evaluation is not part of this figure
        trainers.append(trainer)
        return (), {}

    benchmark.group = "scale-out: total env steps/s with learning"
    benchmark.pedantic(lambda: trainers[-1].train(), setup=setup, rounds=3)
    benchmark.extra_info["role"] = "single_process"
    benchmark.extra_info["env_steps_per_s"] = STEPS / benchmark.stats.stats.median


@pytest.mark.parametrize("collectors", [1, 2, 4])
def test_cluster_collectors(benchmark, local_ray: Path, tmp_path: Path, collectors: int) -> None:
    from ac_core.distributed.driver import ClusterTrainer

    trainer = ClusterTrainer(bench_config(tmp_path), ClusterSettings("local"),
                             ScaleOutSettings(collectors=collectors, report_interval_s=1.0), log=lambda m: None)
    trainer.start()
    try:
        # Warm up: every collector has reported and the learner is past learning_starts.
        assert trainer.run_until(lambda: all(trainer.collector_reports) and trainer.learner_report is not None
                                 and trainer.learner_report.gradient_steps > 0, timeout_s=300)
        def counters() -> tuple[dict[str, int], int, int]:
            stats = ray.get(trainer.replay.stats.remote())
            skipped = trainer.learner_report.skipped_updates if trainer.learner_report else 0
            updates = trainer.learner_report.gradient_steps if trainer.learner_report else 0
            return {name: s.env_steps for name, s in stats.sources.items()}, updates, skipped

        def advance() -> None:
            target = trainer.step + STEPS
            trainer.run_until(lambda: trainer.step >= target, timeout_s=300)

        sources0, updates0, skipped0 = counters()
        clock0 = time.perf_counter()
        benchmark.group = "scale-out: total env steps/s with learning"
        benchmark.pedantic(advance, rounds=3)
        sources1, updates1, skipped1 = counters()
        seconds = time.perf_counter() - clock0
        steps = sum(sources1.values()) - sum(sources0.values())
        benchmark.extra_info["role"] = f"{collectors}_collectors"
        benchmark.extra_info["env_steps_per_s"] = STEPS / benchmark.stats.stats.median
        benchmark.extra_info["per_collector_steps_per_s"] = {
            name: round((sources1[name] - sources0.get(name, 0)) / seconds) for name in sorted(sources1)}
        # The learner runs as fast as it can beside the collectors; when it cannot keep the configured
        # ratio (train_freq), the credit it cannot use is skipped. Report what it managed.
        benchmark.extra_info["updates_per_s"] = (updates1 - updates0) / seconds
        benchmark.extra_info["updates_per_env_step"] = (updates1 - updates0) / max(steps, 1)
        benchmark.extra_info["configured_updates_per_env_step"] = 1 / trainer.cfg.agent.train_freq
        benchmark.extra_info["skipped_updates"] = skipped1 - skipped0
        benchmark.extra_info["weight_lag_max"] = trainer.report()["perf/weight_lag_max"]
    finally:
        trainer.close()


def transition_batch(obs_dim: int, count: int = BATCH) -> TransitionBatch:
    rng = np.random.default_rng(0)
    return TransitionBatch(rng.standard_normal((count, obs_dim), dtype=np.float32), np.zeros(count, np.int64),
                           np.zeros(count, np.float32), np.ones(count, np.float32), np.zeros(count, np.float32),
                           rng.standard_normal((count, obs_dim), dtype=np.float32), "bench", count, 0)


@pytest.mark.parametrize("path", ["in_process", "ray_actor"])
def test_push_cost_per_transition(benchmark, local_ray: Path, path: str) -> None:
    from ac_core.distributed.actors import ReplayActor
    from ac_core.train.racing import env_spaces

    obs_dim, _ = env_spaces(bench_config(local_ray))
    batch = transition_batch(obs_dim)
    if path == "in_process":
        replay = ReplayService(100_000, obs_dim)
        run = lambda: replay.push(batch)  # noqa: E731
    else:
        actor = ReplayActor.options(num_cpus=0).remote(100_000, obs_dim)
        run = lambda: ray.get(actor.push.remote(batch))  # noqa: E731
    benchmark.group = f"scale-out: push {BATCH} transitions of {obs_dim} floats"
    benchmark.pedantic(run, rounds=30, warmup_rounds=3)
    benchmark.extra_info["role"] = path
    benchmark.extra_info["bytes_per_batch"] = int(batch.obs.nbytes * 2 + 4 * batch.rewards.nbytes)
    benchmark.extra_info["us_per_transition"] = benchmark.stats.stats.median / BATCH * 1e6


@pytest.mark.parametrize("path", ["in_process", "ray_actor"])
def test_weight_sync_cost(benchmark, local_ray: Path, path: str) -> None:
    from ac_core.agents.agent import IQNAgent
    from ac_core.distributed.actors import LearnerActor, ReplayActor
    from ac_core.train.racing import env_spaces

    cfg = bench_config(local_ray)
    obs_dim, n_actions = env_spaces(cfg)
    consumer = IQNAgent(obs_dim, n_actions, cfg.agent, "cpu")
    if path == "in_process":
        core = LearnerCore(cfg, obs_dim, n_actions)

        def run() -> None:  # what a weight sync costs without a transport: snapshot, then load
            load_snapshot(consumer, snapshot_of(core.agent, 0, "x"))
        nbytes = core.weights.nbytes
    else:
        replay = ReplayActor.options(num_cpus=0).remote(1_000, obs_dim)
        learner = LearnerActor.options(num_cpus=0, max_concurrency=2).remote(cfg.to_dict(), obs_dim, n_actions, replay,
                                                                            50, 4)
        nbytes = ray.get(learner.get_weights.remote("", -1)).nbytes

        def run() -> None:
            load_snapshot(consumer, ray.get(learner.get_weights.remote("", -1)))
    benchmark.group = "scale-out: one weight sync"
    benchmark.pedantic(run, rounds=20, warmup_rounds=2)
    benchmark.extra_info["role"] = path
    benchmark.extra_info["snapshot_bytes"] = int(nbytes)
