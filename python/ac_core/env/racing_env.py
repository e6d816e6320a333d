"""``AssettoCorsaEnv``: one car, Gymnasium API, any backend."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ac_core.env import actions as A
from ac_core.env.core import (
    EnvStateError,
    RacingCore,
    action_array,
    check_seed,
    discrete_index,
    random_start_option,
)
from ac_core.env.settings import EnvSettings, make_settings


def observation_space(size: int) -> gym.spaces.Box:
    return gym.spaces.Box(low=-10.0, high=10.0, shape=(size,), dtype=np.float32)


def action_space(settings: EnvSettings) -> gym.spaces.Space:
    if A.is_discrete(settings.action_set):
        return gym.spaces.Discrete(len(A.action_table(settings.action_set)))
    return gym.spaces.Box(
        low=np.array([-1.0, 0.0, 0.0], dtype=np.float32), high=np.array([1.0, 1.0, 1.0], dtype=np.float32)
    )


class AssettoCorsaEnv(gym.Env):
    """Drive one car. Keyword arguments or ``config=`` (a config's ``env:`` mapping) set it up;
    see ``ac_core.env.settings.EnvSettings`` for every setting."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, config: dict[str, Any] | EnvSettings | None = None, **kwargs: Any) -> None:
        super().__init__()
        if isinstance(config, EnvSettings):
            self.settings = make_settings(config.to_dict(), **kwargs) if kwargs else config
        else:
            self.settings = make_settings(config, **kwargs)
        self.core = RacingCore(self.settings, n=1)
        self.observation_space = observation_space(self.core.layout.size)
        self.action_space = action_space(self.settings)
        self._idx0 = np.zeros(1, dtype=np.int64)
        self._discrete = A.is_discrete(self.settings.action_set)
        self._n_actions = int(self.action_space.n) if self._discrete else 0
        self._action = np.zeros(1, dtype=np.int64)  # the discrete action as the core's batch of one
        self._rng = np.random.default_rng()
        self._needs_reset = True
        self._closed = False

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise EnvStateError(f"AssettoCorsaEnv.{call}: the environment is closed; make a new one "
                                "(gymnasium.make or AssettoCorsaEnv(...))")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._check_open("reset()")
        check_seed(seed, "AssettoCorsaEnv.reset()")
        random_start = random_start_option(options, "AssettoCorsaEnv.reset()")
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        obs = self.core.reset(self._idx0, self._rng, random_start)
        self._needs_reset = False
        return obs[0].copy(), self._info()

    def step(self, action: Any):
        if self._needs_reset:
            self._check_open("step()")
            raise EnvStateError("AssettoCorsaEnv.step(): call reset() before step() (and after an episode ends)")
        if self._discrete:
            self._action[0] = discrete_index(action, self._n_actions, "AssettoCorsaEnv.step()")
            a = self._action
        else:
            a = action_array(action, (3,), 0, "AssettoCorsaEnv.step()")[None]
        obs, reward, terminated, truncated = self.core.step(a, "AssettoCorsaEnv.step()")
        if terminated[0] or truncated[0]:
            self._needs_reset = True
        return obs[0].copy(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def _info(self) -> dict[str, Any]:
        # NaN means "none yet" (e.g. no lap time) in the vector infos; a single env says None.
        info = {k: (None if v.dtype.kind == "f" and np.isnan(v[0]) else v[0].item())
                for k, v in self.core.info_arrays().items()}
        info["raw"] = self.core.raw_fields(0)
        if self.core.last_timing:
            info["timing"] = dict(self.core.last_timing)
        return info

    def close(self) -> None:
        """Release the backend (pages, processes); a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self._needs_reset = True  # step() checks this flag only, so a closed env fails there too
        self.core.close()
