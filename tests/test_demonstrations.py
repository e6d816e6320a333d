"""Demonstrations: `ac-core demo` records transitions in the config's own spaces, training keeps them in the
replay with DQfD's large-margin loss, and a set recorded for another config is refused in one line."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from ac_core.agents.agent import IQNAgent
from ac_core.agents.replay import ReplayBuffer
from ac_core.agents.settings import AgentConfig
from ac_core.cli import main
from ac_core.config import load_config
from ac_core.train.demonstrations import DemonstrationReplay, Demonstrations
from ac_core.train.learners import InlineLearner

TINY = """
env: {lap_start: "random", control_hz: 10, max_episode_seconds: 6, action_set: "discrete_fine", n_envs: 2}
agent: {batch_size: 16, n_quantiles: 4, n_quantiles_policy: 4, hidden_units: 32, learning_starts: 50,
        replay_size: 2_000, demo_share: 0.5}
train: {total_timesteps: 120, eval_interval: 120, save_interval: 120, eval_episodes: 1, log_interval: 60,
        torch_threads: 1, warmup_seconds: 0, progress: false}
"""


def _demos(n: int, obs_dim: int = 4, action: int = 2) -> Demonstrations:
    rng = np.random.default_rng(0)
    return Demonstrations(rng.random((n, obs_dim), dtype=np.float32), np.full(n, action, dtype=np.int64),
                          np.zeros(n, np.float32), np.zeros(n, np.float32), np.ones(n, np.float32),
                          rng.random((n, obs_dim), dtype=np.float32), meta={})


def test_the_demonstrations_stay_and_take_their_share_of_each_batch() -> None:
    replay = ReplayBuffer(8, 4)
    mixed = DemonstrationReplay(replay, _demos(100), share=0.25)
    rng = np.random.default_rng(1)
    only_demos = mixed.sample(16, rng)  # nothing of the agent's own yet: all from the demonstrations
    assert only_demos.expert is not None and only_demos.expert.sum() == 16 and len(mixed) == 100
    for _ in range(5):  # the agent's replay wraps around; the demonstrations are never overwritten
        mixed.add_batch(*(a[:4] for a in (np.ones((4, 4), np.float32), np.zeros(4, np.int64), np.zeros(4, np.float32),
                                        np.ones(4, np.float32), np.zeros(4, np.float32), np.ones((4, 4), np.float32))))
    batch = mixed.sample(16, rng)
    assert batch.expert is not None and batch.expert.sum() == 4 and len(mixed) == 108 and len(mixed.demos) == 100
    assert (batch.indices[batch.expert > 0] == -1).all() and (batch.actions[batch.expert > 0] == 2).all()
    mixed.update_priorities(batch.indices, np.ones(16))  # demonstration rows are skipped
    assert mixed.state_dict()["size"] == 8  # a saved replay holds the agent's experience only


def test_the_demonstrations_fade_out_over_demo_fade_steps() -> None:
    """agent.demo_fade_steps: the batch share and the large-margin weight fall linearly to zero, set by the
    learner at each env-step count (as the learning rate), and at weight zero the loss is the TD loss alone."""
    mixed = DemonstrationReplay(ReplayBuffer(64, 4), _demos(100), share=0.5, fade_steps=1000)
    rng = np.random.default_rng(2)
    own = _demos(64, action=1)
    mixed.add_batch(own.obs, own.actions, own.rewards, own.discounts, own.terminated, own.next_obs)
    for step, rows, weight in ((0, 8, 1.0), (500, 4, 0.5), (1000, 0, 0.0), (5000, 0, 0.0)):
        mixed.fade_to(step)
        batch = mixed.sample(16, rng)
        assert batch.expert is not None and batch.expert.sum() == rows and batch.expert_weight == weight, step
    config = AgentConfig(hidden_units=16, n_quantiles=4, n_quantiles_policy=4, batch_size=16, learning_starts=0,
                         demo_fade_steps=1000)
    agent = IQNAgent(4, 5, config)
    InlineLearner(agent, mixed, rng, lambda _step: 1e-3, lambda _step: 1.0).on_env_steps(1, 250)
    assert mixed.weight == 0.75 and agent.gradient_steps == 1

    mixed.fade_to(500)
    batch = mixed.sample(16, rng)
    batch.expert_weight = 0.0
    twin = copy.deepcopy(agent)
    torch.manual_seed(3)
    faded = agent.learn(batch)["loss"]
    torch.manual_seed(3)
    plain = twin.learn(dataclasses.replace(batch, expert=None, expert_weight=1.0))["loss"]
    assert faded == pytest.approx(plain)


def test_the_large_margin_loss_ranks_the_demonstrated_action_first() -> None:
    torch.manual_seed(0)
    agent = IQNAgent(4, 5, AgentConfig(hidden_units=32, n_quantiles=8, n_quantiles_policy=8, lr=1e-3,
                                       batch_size=32, demo_margin=0.8))
    mixed = DemonstrationReplay(ReplayBuffer(10, 4), _demos(256, action=3), share=1.0)
    rng = np.random.default_rng(0)
    losses = [agent.learn(mixed.sample(32, rng))["loss"] for _ in range(300)]
    q = agent.online.q_values(torch.as_tensor(mixed.demos.obs[:64]), 32)
    assert (q.argmax(dim=1) == 3).all()
    others = torch.cat([q[:, :3], q[:, 4:]], dim=1)
    assert (q[:, 3] - others.max(dim=1).values).min() > 0.5  # near the margin of 0.8
    assert losses[-1] < losses[0]


def test_demo_then_train_with_it_and_refuse_a_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    demo = tmp_path / "demos" / "reference.npz"
    # The reference driver with the held-controls options laps at 10 Hz through the 63-row table
    # (ac_core.sim.reference.driver_options): two laps in one episode, every step of them.
    assert main(["demo", "--config", str(config), "--laps", "2", "--out", str(demo)]) == 0
    demos = Demonstrations.load(demo)
    cfg = load_config(config)
    assert demos.meta["laps"] == 2 and demos.meta["episodes"] == 1 and demos.meta["driver"] == "reference"
    assert 2 * 1_050 < len(demos) < 2 * 1_300  # two laps of about 1:52 at 10 steps per second
    assert demos.meta["control_hz"] == 10.0 and demos.meta["action_set"] == "discrete_fine"
    assert demos.obs.shape[1] == demos.meta["obs_dim"] and demos.actions.max() < 63
    assert demos.meta["n_step"] == cfg.agent.n_step
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "ck"), "--log-dir", str(tmp_path / "logs"),
                 "--set", f"train.demonstrations={demo}", "--set", "agent.demo_pretrain_steps=40"]) == 0
    out = capsys.readouterr()
    assert f"pre-trained on {len(demos):,} demonstration transitions: 40 gradient steps" in out.out + out.err
    from ac_core.checkpoint import load_checkpoint

    # 120 env steps on 2 cars at one update per env step from the first (the set fills learning_starts),
    # plus the 40 before them
    assert load_checkpoint(tmp_path / "ck" / "last.pt").agent_state["gradient_steps"] >= 40 + 100
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "ck2"), "--log-dir", str(tmp_path / "l2"),
                 "--set", f"train.demonstrations={demo}", "--set", "env.control_hz=20"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "control_hz = 10.0, this run has 20.0" in err and "ac-core demo" in err
    # A driver that never completes a lap (the 120-step agent above) gives no set, and one line that says why.
    again = tmp_path / "demos" / "untrained.npz"
    assert main(["demo", "--config", str(config), "--laps", "1", "--driver", str(tmp_path / "ck" / "last.pt"),
                 "--out", str(again)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "completed no lap in 3 episodes" in err and not again.exists()


def test_the_reference_driver_laps_spa_with_held_controls_at_every_rate() -> None:
    """Held for a whole env step and rounded to the table, the driver's own gains leave the track at 10 Hz;
    the held-controls options lap at 10 and 33 Hz, within a second of each other."""
    from ac_core.env import AssettoCorsaEnv
    from ac_core.sim.reference import driver_options
    from ac_core.train.demonstrations import reference_driver

    def lap(control_hz: float, options: object = None) -> float | None:
        env = AssettoCorsaEnv(backend="sim", lap_start="flying", control_hz=control_hz, action_set="discrete_fine",
                              max_laps=1, max_episode_seconds=180)
        try:
            act = reference_driver(env, options)
            obs, _ = env.reset(seed=0)
            while True:
                obs, _, terminated, truncated, info = env.step(act(env, obs))
                if info.get("lap_completed"):
                    return float(info["last_lap_time"])
                if terminated or truncated:
                    return None
        finally:
            env.close()

    assert lap(10, driver_options(None)) is None
    held = [lap(hz) for hz in (10, 33.3)]
    assert all(t is not None and 105 < t < 120 for t in held), held
    assert abs(held[0] - held[1]) < 1.0, held
