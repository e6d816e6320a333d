"""The generic training loop: env batching, resume equivalence, Ctrl-C, hooks, logs and checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from ac_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ac_core.config import Config, config_from_dict, load_config
from ac_core.run_directory import RunDirectoryError
from ac_core.train.batched_env import BatchedEnv
from ac_core.train.loop import Trainer, TrainerHooks


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Corridor(gym.Env):
    """Deterministic toy: walk along 0..5, reward 1 while at cell 3; every episode is cut at 10 steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int = 10) -> None:
        self.length = length
        self.position = self.t = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.position / 5, self.t / self.length], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position = self.t = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.position = int(np.clip(self.position + (1 if action == 1 else -1), 0, 5))
        self.t += 1
        truncated = self.t >= self.length
        info = {"lap_time": float(self.t) * 0.5} if truncated else {}
        return self._obs(), float(self.position == 3), False, truncated, info


def _config(tmp_path: Path, **train: Any) -> Config:
    agent = {"hidden_units": 16, "n_quantiles": 4, "n_quantiles_policy": 8, "batch_size": 16, "lr": 1e-3,
             "n_step": 3, "gamma": 0.9, "learning_starts": 40, "replay_size": 1000, "epsilon_decay_steps": 200,
             "target_update_period": 5}
    settings = {"total_timesteps": 400, "eval_interval": 100, "save_interval": 200, "eval_episodes": 2,
                "log_interval": 50, "seed": 7, "log_dir": str(tmp_path / "logs"),
                "checkpoint_dir": str(tmp_path / "ck"), "progress": False, "device": "cpu"}
    settings.update(train)
    return config_from_dict({"agent": agent, "train": settings})


def _lap_times(infos: Mapping[str, Any], valid: np.ndarray) -> dict[str, float]:
    if "lap_time" not in infos:
        return {}
    mask = infos["_lap_time"] & valid
    return {"lap_time_s": float(infos["lap_time"][mask].mean())} if mask.any() else {}


# ----- BatchedEnv --------------------------------------------------------------------------------


def test_single_env_resets_itself_and_reports_the_final_obs() -> None:
    env = BatchedEnv(Corridor(length=2))
    assert (env.n_envs, env.obs_dim, env.n_actions) == (1, 2, 2)
    env.reset(seed=0)
    env.step(np.array([1]))
    result = env.step(np.array([1]))
    assert result.truncated.tolist() == [True] and result.valid.tolist() == [True]
    assert result.final_obs[0].tolist() == pytest.approx([0.4, 1.0])
    assert result.obs.tolist() == [[0.0, 0.0]]
    assert result.infos["lap_time"].tolist() == [1.0] and result.infos["_lap_time"].tolist() == [True]


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_env_final_obs_and_autoreset_slots(mode: AutoresetMode) -> None:
    vector = SyncVectorEnv([lambda: Corridor(length=2), lambda: Corridor(length=3)], autoreset_mode=mode)
    env = BatchedEnv(vector)
    env.reset(seed=0)
    env.step(np.array([1, 1]))
    second = env.step(np.array([1, 1]))  # env 0 ends here
    assert second.truncated.tolist() == [True, False]
    assert second.final_obs[0].tolist() == pytest.approx([0.4, 1.0])
    third = env.step(np.array([1, 1]))  # env 1 ends here
    assert third.final_obs[1].tolist() == pytest.approx([0.6, 1.0])
    if mode == AutoresetMode.NEXT_STEP:
        assert second.obs[0].tolist() == pytest.approx([0.4, 1.0])
        assert third.valid.tolist() == [False, True]  # env 0 spent this call resetting
    else:
        assert second.obs[0].tolist() == [0.0, 0.0]
        assert third.valid.tolist() == [True, True]
    env.close()


def test_rejects_spaces_iqn_cannot_use() -> None:
    with pytest.raises(TypeError, match="Discrete"):
        BatchedEnv(gym.make("Pendulum-v1"))
    dict_env = Corridor()
    dict_env.observation_space = gym.spaces.Dict({"a": gym.spaces.Discrete(2)})
    with pytest.raises(TypeError, match="FlattenObservation"):
        BatchedEnv(dict_env)


# ----- training ----------------------------------------------------------------------------------


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.agent.online.state_dict().items()}


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = Trainer(_config(tmp_path / "a", save_replay=True), Corridor)
    straight_result = straight.train()

    first = Trainer(_config(tmp_path / "b", save_replay=True, total_timesteps=200), Corridor)
    first.train()
    resumed = Trainer(_config(tmp_path / "b", save_replay=True), Corridor)
    resumed_result = resumed.train(resume=True)

    assert resumed_result.step == straight_result.step == 400
    assert resumed_result.gradient_steps == straight_result.gradient_steps > 100
    assert resumed_result.episodes == straight_result.episodes == 40
    for key, value in _weights(straight).items():
        assert torch.equal(value, _weights(resumed)[key]), key
    assert np.array_equal(straight.replay.obs, resumed.replay.obs)
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state
    assert resumed_result.best_score == straight_result.best_score


def test_resume_without_replay_refills_before_learning(tmp_path: Path) -> None:
    Trainer(_config(tmp_path, total_timesteps=200), Corridor).train()
    saved = load_checkpoint(tmp_path / "ck" / "last.pt")
    resumed = Trainer(_config(tmp_path, total_timesteps=230), Corridor)
    assert resumed.resume()
    assert resumed.step == 200 and resumed.agent.gradient_steps == saved.agent_state["gradient_steps"]
    assert resumed.epsilon(resumed.step) == pytest.approx(0.05)
    result = Trainer(_config(tmp_path, total_timesteps=230), Corridor).train(resume=True)
    # 40 transitions must be collected again (learning_starts) before the next gradient step.
    assert result.gradient_steps - saved.agent_state["gradient_steps"] < 30


def test_damaged_replay_file_only_costs_a_refill(tmp_path: Path) -> None:
    Trainer(_config(tmp_path, total_timesteps=100, save_replay=True), Corridor).train()
    (tmp_path / "ck" / "replay.pt").write_bytes(b"damaged")
    resumed = Trainer(_config(tmp_path, save_replay=True), Corridor)
    with pytest.warns(UserWarning, match="refills"):
        assert resumed.resume()
    assert resumed.step == 100 and len(resumed.replay) == 0


def test_resume_rejects_a_checkpoint_without_training_state(tmp_path: Path) -> None:
    trainer = Trainer(_config(tmp_path), Corridor)
    save_checkpoint(tmp_path / "ck" / "last.pt", trainer.agent, 5, trainer.config)
    with pytest.raises(CheckpointError, match=r"has no training state"):
        trainer.resume()


def test_resume_with_nothing_saved_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    trainer = Trainer(_config(tmp_path, total_timesteps=20), Corridor)
    assert not trainer.resume()
    with pytest.raises(RunDirectoryError, match=r"no last\.pt in .*ck"):
        trainer.train(resume=True)


def test_ctrl_c_saves_last_checkpoint(tmp_path: Path) -> None:
    calls = {"n": 0}

    def interrupt_at_step_57(infos: Mapping[str, Any], valid: np.ndarray) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 57:
            raise KeyboardInterrupt
        return {}

    trainer = Trainer(_config(tmp_path), Corridor, hooks=TrainerHooks(step_metrics=interrupt_at_step_57))
    result = trainer.train()
    assert result.interrupted and result.step == 57
    assert load_checkpoint(tmp_path / "ck" / "last.pt").step == 57


def test_hooks_checkpoints_and_tensorboard_logs(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    evaluations: list[Mapping[str, float]] = []

    def stop_after_second(metrics: Mapping[str, float]) -> bool:
        evaluations.append(dict(metrics))
        return len(evaluations) == 2

    hooks = TrainerHooks(step_metrics=_lap_times, score_key="eval/lap_time_s", lower_is_better=True,
                         stop=stop_after_second)
    cfg = _config(tmp_path, save_interval=100, total_timesteps=1000)
    result = Trainer(cfg, Corridor, hooks=hooks).train()
    assert result.stopped_early and result.step == 200
    assert evaluations[0]["eval/lap_time_s"] == 5.0  # 10 steps x 0.5 from the info hook
    assert evaluations[0]["eval/episodes"] == 2 and evaluations[0]["eval/mean_length"] == 10
    assert result.best_score == 5.0
    names = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert names == ["best.pt", "config.yaml", "last.pt", "step_100.pt", "step_200.pt"]
    assert load_config(tmp_path / "ck" / "config.yaml") == cfg
    best = load_checkpoint(tmp_path / "ck" / "best.pt")
    assert best.step == 100 and best.metadata["best_score"] == 5.0
    accumulator = EventAccumulator(str(tmp_path / "logs"))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    for tag in ("train/loss", "train/q_mean", "train/learning_rate", "train/quantile_spread", "train/epsilon",
                "rollout/episode_return", "rollout/episode_length", "perf/steps_per_second",
                "env/lap_time_s", "eval/mean_return", "eval/lap_time_s"):
        assert tag in tags, tag


def test_learning_rate_decays_with_env_steps(tmp_path: Path) -> None:
    cfg = config_from_dict({**_config(tmp_path).to_dict(), "agent": {
        **_config(tmp_path).to_dict()["agent"], "lr": 1e-3, "lr_end": 1e-5, "lr_decay_steps": 400}})
    trainer = Trainer(cfg, Corridor)
    trainer.train()
    # The last update ran at step 399 or 400: lr = 1e-3 * (1e-2) ** (step / 400).
    assert trainer.agent.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5, rel=0.02)


def test_custom_evaluation_hook_replaces_the_default(tmp_path: Path) -> None:
    seen: list[int] = []

    def evaluate(agent: Any, step: int) -> dict[str, float]:
        seen.append(step)
        return {"eval/score": float(step)}

    result = Trainer(_config(tmp_path), Corridor, hooks=TrainerHooks(evaluate=evaluate, score_key="eval/score")
                     ).train()
    assert seen == [100, 200, 300, 400]
    assert result.best_score == 400.0


def test_prioritized_replay_and_vector_envs_train(tmp_path: Path) -> None:
    cfg = config_from_dict({**_config(tmp_path).to_dict(), "agent": {**_config(tmp_path).to_dict()["agent"],
                                                                     "prioritized": True}})

    def vector() -> gym.vector.VectorEnv:
        return SyncVectorEnv([Corridor, Corridor, Corridor])

    trainer = Trainer(cfg, vector, eval_env_factory=Corridor)
    result = trainer.train()
    assert result.step >= 400 and result.gradient_steps > 100
    # Autoreset slots are not counted as steps: each env made step / 3 real steps of 10-step episodes.
    assert result.step % 3 == 0 and result.episodes == 3 * (result.step // 3 // 10)
    assert trainer.replay.tree.total() > 0


def test_a_resume_scored_by_another_rule_drops_the_best_score_and_says_so() -> None:
    """A best saved under the old racing score (the best lap, cut or not) cannot be compared with clean-lap
    scores: loading it under another rule warns and leaves the best to the next evaluation."""
    from ac_core.train.racing import SCORE_RULE
    from ac_core.train.run_state import RunState

    saved = RunState(100, 100, "eval/score", lower_is_better=True, score_rule=SCORE_RULE)
    saved.best_score = 97.763
    same = RunState(100, 100, "eval/score", lower_is_better=True, score_rule=SCORE_RULE)
    same.load_metadata(2_700_000, saved.to_metadata())
    assert same.best_score == pytest.approx(97.763)

    old = {k: v for k, v in saved.to_metadata().items() if k != "score_rule"}  # a checkpoint from before rules
    resumed = RunState(100, 100, "eval/score", lower_is_better=True, score_rule=SCORE_RULE)
    with pytest.warns(UserWarning, match="scored by another rule"):
        resumed.load_metadata(2_700_000, old)
    assert resumed.best_score is None and resumed.step == 2_700_000
    assert resumed.record_evaluation({"eval/score": 103.2})  # a clean 1:43.2 is the new best
