"""Gymnasium environment over AC pages: ``AssettoCorsaEnv`` (one car, any backend) and
``make_vector`` (N cars of the batched simulator).

Importing this module registers ``ac_core/AssettoCorsa-v0``, with the batched simulator as its vector
entry point::

    import gymnasium, ac_core.env
    env = gymnasium.make("ac_core/AssettoCorsa-v0", backend="sim", track="spa", render_mode="rgb_array")
    envs = gymnasium.make_vec("ac_core/AssettoCorsa-v0", num_envs=8)  # one batched simulator, 8 cars

Where this module is not imported (e.g. Stable-Baselines3's SubprocVecEnv workers started from a
program that imports it only inside a function), the id ``"ac_core.env:ac_core/AssettoCorsa-v0"`` makes
Gymnasium import it first.
"""

from __future__ import annotations

import gymnasium

from ac_core.env.racing_env import AssettoCorsaEnv
from ac_core.env.settings import EnvConfigError, EnvSettings, RewardWeights, make_settings
from ac_core.env.vector import RacingVectorEnv, make_vector

ENV_ID = "ac_core/AssettoCorsa-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="ac_core.env.racing_env:AssettoCorsaEnv",
                       vector_entry_point="ac_core.env.vector:RacingVectorEnv")

__all__ = [
    "ENV_ID", "AssettoCorsaEnv", "EnvConfigError", "EnvSettings", "RacingVectorEnv", "RewardWeights",
    "make_settings", "make_vector",
]  # fmt: skip
