"""Learning yardstick: IQN solves CartPole-v1 (mean greedy return >= 195) within 100k env steps.

The bar is tianshou's IQN integration test (research/iqn_and_racing_rl.md §2, §7). Training stops at
the first evaluation (10 greedy episodes) that reaches it, so a healthy agent needs only a few
thousand steps; the 100k budget is the pass/fail limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import gymnasium as gym
import torch

from ac_core.config import config_from_dict
from ac_core.train.loop import Trainer, TrainerHooks

SOLVED = 195.0
BUDGET = 100_000

CARTPOLE_AGENT = {
    "gamma": 0.99, "lr": 1e-3, "batch_size": 64, "n_quantiles": 8, "n_quantiles_policy": 32, "n_cos": 64,
    "hidden_units": 128, "kappa": 1.0, "n_step": 3, "target_update": "hard", "target_update_period": 250,
    "grad_clip": 10.0, "epsilon_start": 1.0, "epsilon_end": 0.02, "epsilon_decay_steps": 10_000,
    "replay_size": 50_000, "learning_starts": 1_000, "train_freq": 4, "gradient_steps": 1,
}


def test_iqn_solves_cartpole_within_100k_steps(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    cfg = config_from_dict({
        "agent": CARTPOLE_AGENT,
        "train": {"total_timesteps": BUDGET, "eval_interval": 2_000, "save_interval": BUDGET, "eval_episodes": 10,
                  "seed": 0, "device": "cpu", "torch_threads": 1, "progress": False,
                  "keep_step_checkpoints": False, "log_dir": str(tmp_path / "logs"),
                  "checkpoint_dir": str(tmp_path / "checkpoints")},
    })
    evaluations: list[float] = []

    def solved(metrics: Mapping[str, float]) -> bool:
        evaluations.append(metrics["eval/mean_return"])
        return metrics["eval/mean_return"] >= SOLVED

    def train_envs() -> gym.vector.VectorEnv:
        return gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="sync")

    def eval_envs() -> gym.vector.VectorEnv:  # one episode per env, all 10 stepped as one batch
        return gym.make_vec("CartPole-v1", num_envs=10, vectorization_mode="sync")

    try:
        result = Trainer(cfg, train_envs, eval_env_factory=eval_envs, hooks=TrainerHooks(stop=solved)).train()
    finally:
        torch.set_num_threads(threads)
    print(f"CartPole-v1: {result.step} env steps, {result.gradient_steps} gradient steps, "
          f"{result.wall_seconds:.1f} s, evaluations {[round(e, 1) for e in evaluations]}")
    assert result.stopped_early, f"mean greedy return stayed below {SOLVED} for {BUDGET} steps: {evaluations}"
    assert result.last_eval["eval/mean_return"] >= SOLVED
    assert result.last_eval["eval/episodes"] == 10
    assert result.step <= BUDGET
    assert (tmp_path / "checkpoints" / "best.pt").exists()
