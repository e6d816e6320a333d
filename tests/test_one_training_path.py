"""One training path: the single-process trainer, the Ray driver's evaluation and `ac-core eval` all
evaluate through ac_core.train.evaluation.greedy_episodes, and give the same figures for the same weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ac_core.checkpoint import load_checkpoint
from ac_core.config import config_from_dict
from ac_core.train import evaluation
from ac_core.train.evaluation import Evaluator

CONFIG: dict[str, Any] = {
    "env": {"track": "spa", "lap_start": "random", "control_hz": 10, "max_episode_seconds": 6, "n_envs": 2},
    "agent": {"batch_size": 16, "n_quantiles": 4, "n_quantiles_policy": 4, "hidden_units": 32,
              "learning_starts": 50, "epsilon_decay_steps": 200, "replay_size": 1_000},
    "train": {"total_timesteps": 120, "eval_interval": 120, "save_interval": 120, "eval_episodes": 1,
              "log_interval": 60, "torch_threads": 1, "progress": False},
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every call of the evaluation protocol, as (episodes, seed)."""
    seen: list[tuple[int, int]] = []
    original = evaluation.greedy_episodes

    def spy(env: Any, agent: Any, episodes: int, seed: int, observers: Any = ()) -> Any:
        seen.append((episodes, seed))
        return original(env, agent, episodes, seed, observers)

    monkeypatch.setattr(evaluation, "greedy_episodes", spy)
    return seen


def test_training_ray_and_eval_evaluate_through_one_function(tmp_path: Path, calls: list[tuple[int, int]]) -> None:
    from ac_core.train import train_racing
    from ac_core.train.checkpoint_eval import evaluate, load_agent
    from ac_core.train.evaluation import EVAL_SEED_OFFSET

    data = {**CONFIG, "train": {**CONFIG["train"], "checkpoint_dir": str(tmp_path / "ck"),
                                "log_dir": str(tmp_path / "logs")}}
    cfg = config_from_dict(data)
    result = train_racing(cfg)
    eval_seed = cfg.train.seed + EVAL_SEED_OFFSET
    assert calls == [(1, eval_seed)], "the training run's evaluation"
    trained = result.last_eval
    checkpoint = tmp_path / "ck" / "last.pt"
    assert load_checkpoint(checkpoint).step == result.step

    # ac-core eval of the same weights, on the same seed: the same protocol, the same score.
    summary = evaluate(checkpoint, 1, None, seed=eval_seed, plots=False, echo=lambda *_: None)
    assert calls[-1] == (1, eval_seed)
    assert summary["score"] == pytest.approx(trained["eval/score"])

    # The Ray driver's evaluation task runs this function on published weights.
    pytest.importorskip("ray")
    from ac_core.distributed.actors import evaluate_snapshot

    agent, stored_cfg, _ = load_agent(checkpoint)
    arrays = {name: tensor.numpy() for name, tensor in agent.online.state_dict().items()}
    ray_metrics = evaluate_snapshot(stored_cfg, arrays, agent.obs_dim, agent.n_actions)
    assert calls[-1] == (1, eval_seed)
    assert ray_metrics == pytest.approx(trained, nan_ok=True)


def test_an_evaluation_repeats_exactly_and_leaves_the_callers_rng_alone() -> None:
    import torch

    from ac_core.agents.agent import IQNAgent
    from ac_core.train.racing import racing_evaluator

    cfg = config_from_dict({**CONFIG, "train": {**CONFIG["train"], "eval_episodes": 3}})
    evaluator = racing_evaluator(cfg)
    try:
        agent = IQNAgent(evaluator.env.env.single_observation_space.shape[0], evaluator.env.n_actions, cfg.agent)
        torch.manual_seed(7)
        before = torch.rand(1)
        torch.manual_seed(7)
        first = evaluator(agent, 0)
        assert torch.rand(1) == before
        assert evaluator(agent, 0) == pytest.approx(first, nan_ok=True)
    finally:
        evaluator.close()


def test_rounds_run_episode_i_from_seed_plus_i() -> None:
    import gymnasium as gym

    class Greedy:
        def evaluation_actions(self, obs: Any) -> Any:
            return (obs[:, 2] > 0).astype(int)  # push the cart towards the pole's lean

    def make_env() -> Any:
        return gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")

    evaluator = Evaluator(make_env, 5, seed=100)
    try:
        records = evaluator.run(Greedy())
    finally:
        evaluator.close()
    assert [r.index for r in records] == [0, 1, 2, 3, 4]
    assert [r.seed for r in records] == [100, 101, 102, 103, 104]
    assert all(r.steps > 0 and r.total_reward == r.steps for r in records)
    single = Evaluator(lambda: gym.make("CartPole-v1"), 5, seed=100)
    try:
        again = single.run(Greedy())
    finally:
        single.close()
    # One car or two, episode i is the same episode: the protocol, not the batch, decides.
    assert [r.steps for r in again] == [r.steps for r in records]


def test_the_agent_imports_without_the_env() -> None:
    code = ("import sys, ac_core.agents.agent, ac_core.train.evaluation; "
            "print(sorted(m for m in sys.modules if m.startswith('ac_core.env') or m == 'ac_core.config'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
