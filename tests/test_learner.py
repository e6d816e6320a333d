"""Learners: inline updates in the acting loop and the background-thread learner of the live backends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ac_core.agents.agent import IQNAgent
from ac_core.agents.replay import ReplayBuffer
from ac_core.checkpoint import load_checkpoint
from ac_core.config import AgentConfig, config_from_dict
from ac_core.train.learners import InlineLearner, ThreadedLearner
from ac_core.train.loop import Trainer, format_lap_time
from tests.test_trainer import Corridor

OBS_DIM, N_ACTIONS = 4, 3


def _agent(**overrides: Any) -> IQNAgent:
    settings: dict[str, Any] = {"hidden_units": 16, "n_quantiles": 4, "n_quantiles_policy": 4, "batch_size": 8,
                                "learning_starts": 16, "train_freq": 4, "gradient_steps": 2}
    config = AgentConfig(**{**settings, **overrides})
    return IQNAgent(OBS_DIM, N_ACTIONS, config)


def _filled_replay(n: int = 64) -> ReplayBuffer:
    rng = np.random.default_rng(0)
    replay = ReplayBuffer(256, OBS_DIM)
    obs = rng.normal(size=(n, OBS_DIM)).astype(np.float32)
    replay.add_batch(obs, rng.integers(0, N_ACTIONS, n), rng.normal(size=n), np.full(n, 0.9),
                     np.zeros(n, dtype=bool), obs[::-1].copy())
    return replay


def _learner(kind: type, agent: IQNAgent, replay: ReplayBuffer, **kwargs: Any) -> Any:
    return kind(agent, replay, np.random.default_rng(1), lambda step: 1e-3, lambda step: 1.0, **kwargs)


def _wait_idle(learner: ThreadedLearner, expected_steps: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s  # a liveness bound, not a speed assertion
    while ((learner.backlog or learner.agent.gradient_steps < expected_steps or learner.weight_lag)
           and time.monotonic() < deadline):
        time.sleep(0.005)


@pytest.mark.parametrize("kind", [InlineLearner, ThreadedLearner])
def test_both_learners_run_gradient_steps_per_train_freq_env_steps(kind: type) -> None:
    agent = _agent()
    learner = _learner(kind, agent, _filled_replay())
    learner.start()
    try:
        learner.on_env_steps(10, step=10)  # 2 rounds of train_freq 4 (2 steps left over) x 2 gradient steps
        learner.on_env_steps(2, step=12)  # completes a third round
        if kind is ThreadedLearner:
            _wait_idle(learner, 6)
        assert agent.gradient_steps == 6
        assert learner.steps_since_train == 0
        metrics = learner.pop_metrics()
        assert metrics["updates"] == 6 and np.isfinite(metrics["loss"])
        assert learner.pop_metrics().get("updates", 0) == 0  # popped means reset
    finally:
        learner.close()


def test_no_updates_before_learning_starts() -> None:
    agent = _agent(learning_starts=1000)
    learner = _learner(InlineLearner, agent, _filled_replay())
    learner.on_env_steps(100, step=100)
    assert agent.gradient_steps == 0 and learner.steps_since_train == 0


def test_thread_learner_acts_with_the_latest_published_weights() -> None:
    agent = _agent()
    learner = _learner(ThreadedLearner, agent, _filled_replay())
    learner.start()
    try:
        learner.on_env_steps(8, step=8)
        _wait_idle(learner, 4)
        assert learner.weight_lag == 0
        obs = np.random.default_rng(3).normal(size=(32, OBS_DIM)).astype(np.float32)
        torch.manual_seed(0)
        acted = learner.act(obs, 0.0, np.random.default_rng(0))
        torch.manual_seed(0)
        assert np.array_equal(acted, agent.greedy_actions(obs))
    finally:
        learner.close()


def test_paused_holds_updates_and_backlog_beyond_the_cap_is_skipped_and_counted() -> None:
    agent = _agent()
    learner = _learner(ThreadedLearner, agent, _filled_replay(), max_backlog_updates=3)
    learner.start()
    try:
        with learner.paused():
            learner.on_env_steps(40, step=40)  # 10 rounds x 2 = 20 updates credited, 3 kept
            time.sleep(0.05)
            assert agent.gradient_steps == 0
            assert learner.skipped_updates == 17
        _wait_idle(learner, 3)
        assert agent.gradient_steps == 3
        assert learner.pop_metrics()["skipped_updates"] == 17
    finally:
        learner.close()


def test_a_failure_in_the_learner_thread_surfaces_in_the_acting_thread() -> None:
    agent = _agent()
    learner = _learner(ThreadedLearner, agent, _filled_replay())

    def broken(batch: Any) -> dict[str, Any]:
        raise FloatingPointError("loss is NaN")

    agent.learn = broken  # type: ignore[method-assign]
    learner.start()
    try:
        learner.on_env_steps(4, step=4)
        deadline = time.monotonic() + 30
        while learner.error is None and time.monotonic() < deadline:
            time.sleep(0.005)
        with pytest.raises(RuntimeError, match=r"background learner failed.*loss is NaN"):
            learner.act(np.zeros((1, OBS_DIM), dtype=np.float32), 0.0, np.random.default_rng(0))
    finally:
        learner.close()


def test_trainer_with_the_thread_learner_trains_logs_and_checkpoints(tmp_path: Path) -> None:
    agent = {"hidden_units": 16, "n_quantiles": 4, "n_quantiles_policy": 4, "batch_size": 16,
             "learning_starts": 40, "replay_size": 1000, "epsilon_decay_steps": 200}
    train = {"total_timesteps": 400, "eval_interval": 200, "save_interval": 200, "eval_episodes": 1,
             "log_interval": 50, "seed": 3, "log_dir": str(tmp_path / "logs"), "checkpoint_dir": str(tmp_path / "ck"),
             "progress": False, "device": "cpu", "learner": "thread"}
    trainer = Trainer(config_from_dict({"agent": agent, "train": train}), Corridor)
    assert isinstance(trainer.learner, ThreadedLearner)
    result = trainer.train()
    # How many updates the thread runs before close() depends on the machine's load (credited updates
    # not yet run are dropped at close); it must have learned, and never more than was credited.
    cfg = trainer.config.agent
    credited = 400 // cfg.train_freq * cfg.gradient_steps  # an upper bound: learning starts later
    assert result.step == 400 and 0 < result.gradient_steps <= credited
    checkpoint = load_checkpoint(tmp_path / "ck" / "last.pt", trainer.agent)
    assert checkpoint.step == 400 and checkpoint.metadata["training"]["steps_since_train"] >= 0


def test_auto_learner_is_inline_for_the_simulator_and_a_thread_for_live_backends(tmp_path: Path) -> None:
    base = {"train": {"progress": False, "log_dir": str(tmp_path), "checkpoint_dir": str(tmp_path)},
            "agent": {"hidden_units": 8, "n_quantiles": 2, "n_quantiles_policy": 2}}
    assert isinstance(Trainer(config_from_dict(base), Corridor).learner, InlineLearner)
    assert not isinstance(Trainer(config_from_dict(base), Corridor).learner, ThreadedLearner)
    live = dict(base, env={"backend": "sim-live"})
    assert isinstance(Trainer(config_from_dict(live), Corridor).learner, ThreadedLearner)


def test_lap_times_are_formatted_for_the_progress_bar() -> None:
    assert format_lap_time(101.9354) == "1:41.935"
    assert format_lap_time(59.9999) == "1:00.000"
    assert format_lap_time(float("nan")) == "-"
