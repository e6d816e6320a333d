"""``make_vector(n, …)``: N cars of the batched simulator as one Gymnasium VectorEnv.

Autoreset is SAME_STEP: a car whose episode ended is reset inside the same ``step()``; the
observation returned for it is the first of its new episode, and the last one of the old episode is
in ``infos["final_obs"]`` (with ``infos["_final_obs"]`` marking which cars). Episode statistics of
the ended episodes are in ``infos["final_info"]``. No Python loop runs over cars in the step path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ac_core.env import actions as A
from ac_core.env.core import EnvStateError, RacingCore, action_array, check_seed, random_start_option
from ac_core.env.racing_env import action_space, observation_space
from ac_core.env.settings import EnvSettings, make_settings


class RacingVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}  # noqa: RUF012

    def __init__(self, num_envs: int, config: dict[str, Any] | EnvSettings | None = None, **kwargs: Any) -> None:
        if isinstance(config, EnvSettings):
            settings = make_settings(config.to_dict(), **kwargs) if kwargs else config
        else:
            settings = make_settings(config, **kwargs)
        if num_envs < 1:
            raise ValueError(f"num_envs must be ≥ 1, got {num_envs}")
        self.settings = settings
        self.core = RacingCore(settings, n=num_envs)
        self.num_envs = num_envs
        self.single_observation_space = observation_space(self.core.layout.size)
        self.single_action_space = action_space(settings)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._all = np.arange(num_envs)
        self._rng = np.random.default_rng()
        discrete = A.is_discrete(settings.action_set)
        self._n_actions = int(self.single_action_space.n) if discrete else 0  # 0: continuous
        self._action_shape = (num_envs,) if discrete else (num_envs, 3)
        self._needs_reset = True  # until the first reset(); autoreset keeps every car running after it

    def _check_open(self, call: str) -> None:
        if self.closed:
            raise EnvStateError(f"RacingVectorEnv.{call}: the environment is closed; make a new one (make_vector)")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._check_open("reset()")
        check_seed(seed, "RacingVectorEnv.reset()")
        random_start = random_start_option(options, "RacingVectorEnv.reset()")
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self.single_action_space.seed(seed)
            self.action_space.seed(seed)
        obs = self.core.reset(self._all, self._rng, random_start)
        self._needs_reset = False
        return obs.copy(), self.core.info_arrays()

    def step(self, actions: np.ndarray):
        if self._needs_reset:
            self._check_open("step()")
            raise EnvStateError("RacingVectorEnv.step(): call reset() before the first step()")
        actions = action_array(actions, self._action_shape, self._n_actions, "RacingVectorEnv.step()")
        obs, reward, terminated, truncated = self.core.step(actions, "RacingVectorEnv.step()")
        infos: dict[str, Any] = self.core.info_arrays()
        done = terminated | truncated
        if done.any():
            idx = np.flatnonzero(done)
            infos["final_obs"] = np.where(done[:, None], obs, 0.0).astype(np.float32)
            infos["_final_obs"] = done.copy()
            infos["final_info"] = {k: v.copy() for k, v in infos.items()
                                   if isinstance(v, np.ndarray) and v.ndim == 1 and not k.startswith("_")}
            infos["_final_info"] = done.copy()
            obs = self.core.reset(idx, self._rng)
            # As Gymnasium's SAME_STEP: the reset cars' infos are those of their new episode.
            for key, value in self.core.info_arrays().items():
                infos[key][idx] = value[idx]
        return obs.copy(), reward.astype(np.float64), terminated.copy(), truncated.copy(), infos

    def close_extras(self, **kwargs: Any) -> None:
        self._needs_reset = True  # step() checks this flag only, so a closed env fails there too
        self.core.close()


def make_vector(num_envs: int, config: dict[str, Any] | EnvSettings | None = None, **kwargs: Any) -> RacingVectorEnv:
    """N cars of the ``sim`` backend, batched (the other backends drive one car)."""
    return RacingVectorEnv(num_envs, config, **kwargs)
