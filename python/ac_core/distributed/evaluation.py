"""Greedy evaluation of a cluster run's weights, the same way ``ac_core.training`` evaluates.

Training runs on the built-in simulator, so evaluation does too: one flying lap per evaluation car
(a whole lap of time), greedy, fixed seed — the score decides best.pt (lap time, lower is better).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ac_core.agents.agent import IQNAgent
from ac_core.config import Config
from ac_core.distributed.learner_core import load_snapshot
from ac_core.distributed.messages import WeightSnapshot
from ac_core.racing import RacingEvaluator, env_settings_from_config

SCORE_KEY = "eval/score"


def make_evaluator(cfg: Config) -> RacingEvaluator:
    settings = env_settings_from_config(cfg.env.to_kwargs(), backend="sim")
    overrides: dict[str, Any] = {"backend": "sim", "max_laps": 1,
                                 "max_episode_seconds": max(settings.max_episode_seconds, 240.0)}
    if settings.lap_start == "random":
        overrides["lap_start"] = "flying"
    eval_settings = env_settings_from_config(cfg.env.to_kwargs(), **overrides)

    def make_eval_env(cars: int) -> Any:
        from ac_core.env import make_vector

        return make_vector(cars, eval_settings)

    return RacingEvaluator(make_eval_env, int(cfg.train.eval_episodes), int(cfg.train.seed) + 1_000_003)


def evaluate_snapshot(cfg: Config, arrays: dict[str, np.ndarray], obs_dim: int, n_actions: int) -> dict[str, float]:
    agent = IQNAgent(obs_dim, n_actions, cfg.agent, "cpu")
    load_snapshot(agent, WeightSnapshot(0, 0, arrays))
    evaluator = make_evaluator(cfg)
    try:
        return dict(evaluator(agent, 0))
    finally:
        evaluator.close()
