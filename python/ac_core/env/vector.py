"""``make_vector(n, …)``: N cars of the batched simulator as one Gymnasium VectorEnv, the registered
vector entry point (``gymnasium.make_vec("ac_core/AssettoCorsa-v0", num_envs=N)``).

Each car is an ``AssettoCorsaEnv`` (same observation, actions, reward, episode ends and info keys, see
its docstring), all stepped together. Autoreset (the ``autoreset_mode`` setting, Gymnasium's modes):

- ``SameStep`` (default, what the project's trainer uses): a car whose episode ended is reset inside
  the same ``step()``; the observation returned for it is the first of its new episode, the last one
  of the old episode is in ``infos["final_obs"]`` (``infos["_final_obs"]`` marks which cars), and the
  ended episodes' infos are in ``infos["final_info"]``.
- ``NextStep``: the car's last observation is returned as usual; the next ``step()`` resets it (its
  action is ignored, reward 0, terminated and truncated False, the new episode's first observation).
  Gymnasium's vector observation wrappers (NormalizeObservation, TransformObservation,
  DtypeObservation) need this mode.

Infos are arrays [N], each beside its ``_key`` mask (True for every car: each car reports every key
each step), as Gymnasium's SyncVectorEnv lays them out. A key with no value yet (``last_lap_time`` and
``best_lap_time`` before a timed lap) has its mask False for that car, and NaN as its value; the single
env leaves such a key out of its info.
No Python loop runs over cars in the step path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ac_core.env import actions as A
from ac_core.env.core import (
    NONE_YET_KEYS,
    EnvStateError,
    EnvUsageError,
    RacingCore,
    action_array,
    check_seed,
    random_start_option,
)
from ac_core.env.racing_env import action_space, observation_space, settings_from
from ac_core.env.render import CarFrames, check_render_mode
from ac_core.env.reward import COMPONENTS
from ac_core.env.settings import EnvSettings, make_settings

VECTOR_RENDER_MODES = ("rgb_array",)


def with_masks(infos: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """``infos`` with a ``_key`` mask beside each key that has none yet: ``mask`` (shared read-only: no
    array per key and step), and for a key that may have no value yet also where it has one."""
    for key in [k for k in infos if not k.startswith("_") and "_" + k not in infos]:
        infos["_" + key] = mask & np.isfinite(infos[key]) if key in NONE_YET_KEYS else mask
    return infos


def step_limit(settings: EnvSettings, max_episode_steps: Any, where: str) -> EnvSettings:
    """Gymnasium's ``max_episode_steps`` (as its own vector envs take it) as a truncation in simulated time,
    together with ``max_episode_seconds`` (whichever comes first)."""
    if max_episode_steps is None:
        return settings
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int | np.integer) \
            or max_episode_steps < 1:
        raise EnvUsageError(f"{where}: max_episode_steps = {max_episode_steps!r} is not valid; use None or an "
                            "int >= 1")
    # Half a step short of n steps: the episode clock (a float sum of step times) reaches it exactly at step n.
    seconds = (int(max_episode_steps) - 0.5) * settings.step_seconds
    if seconds >= settings.max_episode_seconds:
        return settings
    return make_settings(settings.to_dict(), max_episode_seconds=seconds)


class RacingVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": list(VECTOR_RENDER_MODES),  # noqa: RUF012
                "render_fps": 20}

    def __init__(self, num_envs: int, config: dict[str, Any] | EnvSettings | None = None,
                 render_mode: str | None = None, max_episode_steps: int | None = None, **kwargs: Any) -> None:
        where = "RacingVectorEnv()"
        if render_mode == "human":
            raise EnvUsageError(f"{where}: render_mode='human' is not available for the batched cars; use "
                                "render_mode='rgb_array' and wrap the env in gymnasium.wrappers.vector.HumanRendering")
        self.render_mode = check_render_mode(render_mode, VECTOR_RENDER_MODES, where)
        if isinstance(kwargs.get("autoreset_mode"), AutoresetMode):  # Gymnasium's enum, as SyncVectorEnv takes it
            kwargs["autoreset_mode"] = kwargs["autoreset_mode"].value
        settings = step_limit(settings_from(config, kwargs, where), max_episode_steps, where)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise EnvUsageError(f"{where}: num_envs = {num_envs!r} is not valid; use an int >= 1")
        self.settings = settings
        self.core = RacingCore(settings, n=num_envs)
        self.num_envs = int(num_envs)
        self.autoreset_mode = AutoresetMode(settings.autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode,
                         "render_fps": settings.control_hz}
        self.single_observation_space = observation_space(self.core.layout.size)
        self.single_action_space = action_space(settings)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._all = np.arange(num_envs)
        self._rng = np.random.default_rng()
        discrete = A.is_discrete(settings.action_set)
        self._n_actions = int(self.single_action_space.n) if discrete else 0  # 0: continuous
        self._action_shape = (num_envs,) if discrete else (num_envs, A.action_width(settings.action_set))
        self._action_names = A.action_names(settings.action_set)
        self._every_car = np.ones(num_envs, dtype=bool)
        self._every_car.flags.writeable = False
        self._pending = np.zeros(num_envs, dtype=bool)  # NextStep: cars the next step() resets
        self._frames = CarFrames(self.core) if self.render_mode else None
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
        self._pending[:] = False
        if self._frames is not None:
            self._frames.restart(self._all)
        return obs.copy(), with_masks(self.core.info_arrays(), self._every_car)

    def step(self, actions: np.ndarray):
        if self._needs_reset:
            self._check_open("step()")
            raise EnvStateError("RacingVectorEnv.step(): call reset() before the first step()")
        actions = action_array(actions, self._action_shape, self._n_actions, "RacingVectorEnv.step()",
                               self._action_names)
        obs, reward, terminated, truncated = self.core.step(actions, "RacingVectorEnv.step()")
        reward, terminated, truncated = reward.astype(np.float64), terminated.copy(), truncated.copy()
        infos: dict[str, Any] = self.core.info_arrays()
        if self._frames is not None:
            self._frames.record()
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            obs = self._next_step_resets(obs, reward, terminated, truncated, infos)
        else:
            obs = self._same_step_resets(obs, terminated | truncated, infos)
        return obs.copy(), reward, terminated, truncated, with_masks(infos, self._every_car)

    def _same_step_resets(self, obs: np.ndarray, done: np.ndarray, infos: dict[str, Any]) -> np.ndarray:
        if not done.any():
            return obs
        idx = np.flatnonzero(done)
        infos["final_obs"] = np.where(done[:, None], obs, 0.0).astype(np.float32)
        infos["_final_obs"] = done.copy()
        final_info = {k: v.copy() for k, v in infos.items()
                      if isinstance(v, np.ndarray) and v.ndim == 1 and not k.startswith("_")}
        infos["final_info"] = with_masks(final_info, done.copy())
        infos["_final_info"] = done.copy()
        obs = self.core.reset(idx, self._rng)
        # As Gymnasium's SAME_STEP: the reset cars' infos are those of their new episode.
        for key, value in self.core.info_arrays().items():
            infos[key][idx] = value[idx]
        if self._frames is not None:
            self._frames.restart(idx)
        return obs

    def _next_step_resets(self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                          infos: dict[str, Any]) -> np.ndarray:
        """Reset the cars whose episode ended at the last step. They were stepped with the others (the
        batch moves in lockstep); the reset puts them back at a start, so what is returned is their state."""
        pending, self._pending = self._pending, terminated | truncated
        if not pending.any():
            return obs
        idx = np.flatnonzero(pending)
        obs = self.core.reset(idx, self._rng)
        reward[idx] = 0.0
        terminated[idx] = truncated[idx] = False
        self._pending[idx] = False
        for key, value in self.core.info_arrays().items():
            infos[key][idx] = value[idx]
        for name in COMPONENTS:
            infos[f"reward_{name}"][idx] = 0.0
        if self._frames is not None:
            self._frames.restart(idx)
        return obs

    def render(self) -> tuple[np.ndarray, ...] | None:
        """``rgb_array``: each car's top-down frame (a tuple, as Gymnasium's SyncVectorEnv returns)."""
        if self._frames is None:
            return None
        self._check_open("render()")
        return tuple(self._frames.frame(i) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self._needs_reset = True  # step() checks this flag only, so a closed env fails there too
        if self._frames is not None:
            self._frames.close()
        self.core.close()


def make_vector(num_envs: int, config: dict[str, Any] | EnvSettings | None = None, **kwargs: Any) -> RacingVectorEnv:
    """N cars of the ``sim`` backend, batched (the other backends drive one car). Keyword arguments:
    settings (``autoreset_mode`` among them), ``render_mode`` ("rgb_array") and ``max_episode_steps``."""
    return RacingVectorEnv(num_envs, config, **kwargs)
