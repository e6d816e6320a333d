"""Drive any Gymnasium env — a single ``gymnasium.Env`` or a ``gymnasium.vector.VectorEnv`` — as a batch.

The training loop, the Ray collectors and the evaluation protocol see one
interface: ``reset() -> obs [E, D]`` and ``step(actions)`` ->
:class:`BatchStep`, where ``final_obs`` is the true observation that followed each action (the last
observation of an episode at its end, whatever the env's autoreset mode) and ``valid`` marks the
slots that were real steps (Gymnasium's next-step autoreset spends one call resetting a finished
env; that slot is not a transition). A slot with ``valid`` False and ``truncated`` True is a dropped
episode (``info["episode_dropped"]``: a live game crashed or hung and was relaunched): neither the
step nor the episode's pending steps are transitions. Infos are always vector-style: ``{key: array, "_key": mask}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

EnvFactory = Callable[[], gym.Env | VectorEnv]
# (vector-style infos, mask of envs whose step was valid) -> scalars to log, e.g. {"lap/time_s": 104.2}.
StepMetricsHook = Callable[[Mapping[str, Any], np.ndarray], Mapping[str, float]]


@dataclass
class BatchStep:
    obs: np.ndarray  # [E, D] observation to act on next
    final_obs: np.ndarray  # [E, D] observation that followed the action (final one at episode ends)
    rewards: np.ndarray  # [E] float32
    terminated: np.ndarray  # [E] bool
    truncated: np.ndarray  # [E] bool
    valid: np.ndarray  # [E] bool: False for autoreset slots that are not transitions
    infos: dict[str, Any]
    same_step_reset: bool = False  # ended episodes' infos are in infos["final_info"] (Gymnasium's SAME_STEP)

    def info_for(self, index: int) -> dict[str, Any]:
        """Env ``index``'s info for this transition, as one env's info: the ended episode's last info
        where the env was already reset, keys without a value (``_key`` False) left out."""
        infos = self.infos
        if self.same_step_reset and bool(self.terminated[index] | self.truncated[index]) and "final_info" in infos:
            infos = infos["final_info"]
        return _one_env_info(infos, index)


def _one_env_info(infos: Mapping[str, Any], index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_") or key in ("final_info", "final_obs"):
            continue
        mask = infos.get("_" + key)
        if mask is not None and not bool(np.asarray(mask)[index]):
            continue
        if isinstance(value, Mapping):
            out[key] = _one_env_info(value, index)
        else:
            item = np.asarray(value)[index]
            out[key] = item.item() if np.ndim(item) == 0 else item
    return out


def _flat_dim(space: gym.Space, what: str) -> int:
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(f"{what} must be a gymnasium.spaces.Box of floats, got {space}; "
                        "wrap the env with gymnasium.wrappers.FlattenObservation")
    return int(np.prod(space.shape))


class BatchedEnv:
    """Uniform batched view of a single or vector Gymnasium env with a Discrete action space."""

    def __init__(self, env: gym.Env | VectorEnv, autoreset: bool = True) -> None:
        """``autoreset=False``: a single env is not reset after its episode ends (the evaluation resets
        each episode itself, with its seed; a reset of the real game costs seconds)."""
        self.env = env
        self.autoreset = autoreset
        self.is_vector = isinstance(env, VectorEnv)
        if self.is_vector:
            self.n_envs = env.num_envs
            obs_space, action_space = env.single_observation_space, env.single_action_space
            self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
            if self.autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
                raise ValueError(f"vector env autoreset_mode {self.autoreset_mode} is not supported; "
                                 "use AutoresetMode.NEXT_STEP (the default) or SAME_STEP")
        else:
            self.n_envs = 1
            obs_space, action_space = env.observation_space, env.action_space
        self.obs_dim = _flat_dim(obs_space, "the observation space")
        if not isinstance(action_space, gym.spaces.Discrete):
            raise TypeError(f"IQN needs a Discrete action space, got {action_space}")
        self.n_actions = int(action_space.n)
        self._action_start = int(action_space.start)
        self._needs_reset = np.zeros(self.n_envs, dtype=bool)

    def _obs(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=np.float32).reshape(self.n_envs, self.obs_dim)

    def reset(self, seed: int | None = None) -> np.ndarray:
        self._needs_reset[:] = False
        obs, _ = self.env.reset(seed=seed)
        return self._obs(obs)

    def step(self, actions: np.ndarray) -> BatchStep:
        env_actions = np.asarray(actions, dtype=np.int64) + self._action_start
        if not self.is_vector:
            return self._step_single(int(env_actions[0]))
        obs, rewards, terminated, truncated, infos = self.env.step(env_actions)
        obs = self._obs(obs)
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        final_obs = obs
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            valid = ~self._needs_reset
            self._needs_reset = terminated | truncated
        else:
            valid = np.ones(self.n_envs, dtype=bool)
            done = terminated | truncated
            if done.any():
                final_obs = obs.copy()
                for index in np.flatnonzero(done):
                    final_obs[index] = np.asarray(infos["final_obs"][index], dtype=np.float32).reshape(-1)
        return BatchStep(obs, final_obs, np.asarray(rewards, dtype=np.float32), terminated, truncated,
                         valid, dict(infos), self.autoreset_mode == AutoresetMode.SAME_STEP)

    def _step_single(self, action: int) -> BatchStep:
        obs, reward, terminated, truncated, info = self.env.step(action)
        final_obs = self._obs(obs)
        next_obs = final_obs
        if (terminated or truncated) and self.autoreset:
            next_obs = self._obs(self.env.reset()[0])
        # A dropped episode (the game crashed or hung and was relaunched): not a transition, and the
        # episode's pending steps go too (valid False with truncated True, see NStepAssembler.add).
        dropped = bool(info.get("episode_dropped", False))
        return BatchStep(next_obs, final_obs, np.asarray([reward], dtype=np.float32),
                         np.asarray([terminated]), np.asarray([truncated or dropped]),
                         np.asarray([not dropped]), _as_vector_info(info))

    def close(self) -> None:
        self.env.close()


def _as_vector_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """One env's info in a vector env's layout: each value as a length-1 array beside its ``_key``
    mask, nested dicts (e.g. ``timing``) likewise, as Gymnasium's vector envs lay them out."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = _as_vector_info(value) if isinstance(value, Mapping) else np.asarray([value])
        out["_" + key] = np.ones(1, dtype=bool)
    return out
