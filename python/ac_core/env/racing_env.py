"""``AssettoCorsaEnv``: one car, Gymnasium API, any backend."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ac_core.env import actions as A
from ac_core.env.core import (
    NONE_YET_KEYS,
    EnvStateError,
    EnvUsageError,
    RacingCore,
    action_array,
    check_seed,
    discrete_index,
    random_start_option,
)
from ac_core.env.render import RENDER_MODES, CarFrames, Window, check_display, check_render_mode
from ac_core.env.settings import EnvSettings, make_settings

# gymnasium.make's own keyword arguments: make() consumes them (TimeLimit, the checker, ...); given to the
# env itself they are refused with a TypeError, as Gymnasium's own envs refuse them.
MAKE_ARGUMENTS = ("max_episode_steps", "disable_env_checker", "order_enforce", "autoreset", "apply_api_compatibility")


class EnvArgumentError(EnvUsageError, TypeError):
    """A keyword argument the env constructor does not take (a TypeError, as Python and Gymnasium's own
    envs raise, so callers that retry without an argument on TypeError, e.g. Stable-Baselines3, still work)."""


def settings_from(config: Any, kwargs: dict[str, Any], where: str) -> EnvSettings:
    """Settings from ``config`` (a mapping or EnvSettings) and keyword arguments (setting names)."""
    for name in MAKE_ARGUMENTS:
        if name in kwargs:
            raise EnvArgumentError(f"{where} got the keyword argument {name!r}, which is gymnasium.make's own; "
                                   f"pass it to gymnasium.make(...) instead of the env")
    if isinstance(config, EnvSettings):
        return make_settings(config.to_dict(), **kwargs) if kwargs else config
    return make_settings(config, **kwargs)


def observation_space(size: int) -> gym.spaces.Box:
    return gym.spaces.Box(low=-10.0, high=10.0, shape=(size,), dtype=np.float32)


def action_space(settings: EnvSettings) -> gym.spaces.Space:
    if A.is_discrete(settings.action_set):
        return gym.spaces.Discrete(len(A.action_table(settings.action_set)))
    low, high = A.CONTINUOUS_BOUNDS[settings.action_set]
    return gym.spaces.Box(low=np.array(low, dtype=np.float32), high=np.array(high, dtype=np.float32))


class AssettoCorsaEnv(gym.Env):
    """Drive one car around a track: Assetto Corsa itself, or the built-in simulator that writes AC's pages.

    ``gymnasium.make("ac_core/AssettoCorsa-v0", **settings)`` or ``AssettoCorsaEnv(config=None, render_mode=None,
    **settings)``: keyword arguments or ``config=`` (a config's ``env:`` mapping, or ``EnvSettings``) set it up;
    ``ac_core.env.settings.EnvSettings`` lists every setting with its range (docs: README "Environment").

    **Observation**: ``Box(-10, 10, (20 + 3·lookahead_points + ray_count,), float32)`` (155 with the defaults),
    fixed normalisation, no running statistics. In order (``env.core.layout.slices`` names each block):

    ===============  =====  ==========================================================================
    block            width  content
    ===============  =====  ==========================================================================
    velocity         2      local velocity (lateral, + left; forward) / 100 m/s
    yaw_rate         1      yaw rate / 2 rad/s
    accel            2      acceleration (lateral, longitudinal) / 5 g
    inputs           3      the car's steering (−1..1), throttle, brake as the physics applied them
    gear             1      (AC gear − 1) / 8: R −1/8, N 0, 1st 1/8 …
    rpm              1      rpm / max rpm
    wheel_slip       4      tanh(slip / 5), FL FR RL RR
    tyres_out        1      tyres off the track / 4
    lateral          1      offset from the centre line / 10 m (+ left)
    heading_error    1      car heading − track heading, rad / π
    lookahead        2M     the centre line ahead in the car's frame: (forward / lookahead_distance_m,
                            left / 50 m) at M = lookahead_points distances, denser near the car
    curvature_ahead  M      track curvature at the same distances × 50 m (+ left turn)
    rays             R      distance to the track edge along R = ray_count rays over ±90° / ray_range_m
    prev_action      3      the last applied (steer, throttle, brake)
    ===============  =====  ==========================================================================

    **Actions** (``action_set``); steering is a target the wheel moves to at ``steer_rate`` per second:

    - ``discrete`` (default): ``Discrete(28)``, 7 steering targets × (full throttle, coast, half brake,
      full brake); ``ac_core.env.actions.describe_discrete_actions()`` names each.
    - ``discrete_fine``: ``Discrete(63)``, 9 steering targets × 7 pedal levels (part throttle and brake).
    - ``continuous``: ``Box([-1, 0, 0], [1, 1, 1])`` = (steer, throttle, brake); the larger pedal wins.
    - ``continuous_pedal``: ``Box([-1, -1], [1, 1])`` = (steer, pedal): pedal > 0 throttle, < 0 brake;
      symmetric and normalised, for SAC / PPO / TD3.

    **Reward** per step (weights ``reward.*``): ``progress`` · metres gained along the track (negative
    backwards; metres gained off the track paid at ``off_track_progress`` of the rate) − ``time`` −
    ``off_track`` · speed (m/s) · tyres out / 4 − ``collision`` (a barrier contact) − ``smoothness`` ·
    |steering change|. Each term is in ``info["reward_<term>"]``.

    **Starting state**: ``lap_start``: ``pit_out`` (standing in the pit exit, default), ``flying`` (at speed
    before the line) and the simulator's other starts, or ``random`` (sim and csp: anywhere on the lap at a
    speed the car can hold); ``reset(options={"random_start": True})`` asks for a random start once.
    The same seed gives the same observations.

    **Episode end**: *terminated* when more than ``off_track_tyres`` tyres are out for longer than
    ``off_track_grace_s``, at a barrier contact (``terminate_on_collision``), or after ``no_progress_s``
    without 1 m of progress; *truncated* after ``max_episode_seconds`` of simulated time or ``max_laps``
    laps (``gymnasium.make(..., max_episode_steps=n)`` adds Gymnasium's step limit as well).

    **Info** (every step and reset; a key with no value yet is left out, as the vector env's ``_key`` mask
    is False for it):
    ``reward_progress``, ``reward_time``, ``reward_off_track``, ``reward_collision``, ``reward_smoothness``
    (this step's terms), ``speed_kmh``, ``s`` (metres along the lap), ``lateral`` (m, + left), ``tyres_out``,
    ``completed_laps`` (this episode), ``lap_completed`` (a lap ended this step), ``last_lap_time`` and
    ``best_lap_time`` (s, this episode's; left out until a lap is timed), ``last_lap_clean`` (no off-track
    event in the last completed lap: AC's track limits), ``off_track_events``, ``collisions``,
    ``episode_time`` (s), ``episode_return``, ``avg_speed_kmh``, ``distance`` (m of progress this episode),
    ``normalized_position`` (AC's 0..1 lap position), ``raw`` (a dict of the car's page fields), and on
    the live backends ``timing`` (a dict: the step's real timing, e.g. ``lateness_ms``, ``paused_s``; with
    ``env.ac_launch`` also ``relaunches`` and ``dropped_episodes``, the run's totals). ``episode_dropped``
    (True) marks a step cut off by a game crash or hang that was relaunched: truncated, reward 0, the last
    observation; the episode is not a real one (the trainer drops it).

    **Rendering**: ``render_mode="rgb_array"``: ``render()`` returns the top-down frame of the project's
    videos (the view follows the car, its last 4 s coloured by speed, a minimap of the lap) as uint8
    [480, 480, 3], at ``metadata["render_fps"]`` = ``control_hz`` (so ``gymnasium.wrappers.RecordVideo``
    works); ``"human"``: the same frame in a window (needs a display), updated every step.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 20}  # noqa: RUF012

    def __init__(self, config: dict[str, Any] | EnvSettings | None = None, render_mode: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        self.render_mode = check_render_mode(render_mode, RENDER_MODES, "AssettoCorsaEnv()")
        if render_mode == "human":
            check_display("AssettoCorsaEnv()")
        self.settings = settings_from(config, kwargs, "AssettoCorsaEnv()")
        self.core = RacingCore(self.settings, n=1)
        self.metadata = {**type(self).metadata, "render_fps": self.settings.control_hz}
        self.observation_space = observation_space(self.core.layout.size)
        self.action_space = action_space(self.settings)
        self._idx0 = np.zeros(1, dtype=np.int64)
        self._discrete = A.is_discrete(self.settings.action_set)
        self._n_actions = int(self.action_space.n) if self._discrete else 0
        self._action_shape = (A.action_width(self.settings.action_set),)
        self._action_names = A.action_names(self.settings.action_set)
        self._action = np.zeros(1, dtype=np.int64)  # the discrete action as the core's batch of one
        self._rng = np.random.default_rng()
        self._frames = CarFrames(self.core) if self.render_mode else None
        self._window: Window | None = None
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
        if self._frames is not None:
            self._frames.restart(self._idx0)
            self._show()
        return obs[0].copy(), self._info()

    def step(self, action: Any):
        if self._needs_reset:
            self._check_open("step()")
            raise EnvStateError("AssettoCorsaEnv.step(): call reset() before step() (and after an episode ends)")
        if self._discrete:
            self._action[0] = discrete_index(action, self._n_actions, "AssettoCorsaEnv.step()")
            a = self._action
        else:
            a = action_array(action, self._action_shape, 0, "AssettoCorsaEnv.step()", self._action_names)[None]
        obs, reward, terminated, truncated = self.core.step(a, "AssettoCorsaEnv.step()")
        if terminated[0] or truncated[0]:
            self._needs_reset = True
        if self._frames is not None:
            self._frames.record()
            self._show()
        return obs[0].copy(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the car's top-down frame; ``human``: shows it in the window (also done by every
        step and reset); no render mode: None, with Gymnasium's warning."""
        if self.render_mode is None:
            gym.logger.warn("AssettoCorsaEnv.render() without a render mode; pass render_mode='rgb_array' or "
                            "'human' to gymnasium.make")
            return None
        self._check_open("render()")
        frame = self._frames.frame(0)
        if self.render_mode == "human":
            if self._window is None:
                self._window = Window("ac_core/AssettoCorsa-v0", self.settings.control_hz)
            self._window.show(frame)
            return None
        return frame

    def _show(self) -> None:
        if self.render_mode == "human":
            self.render()

    def _info(self) -> dict[str, Any]:
        # A key with no value yet (no lap time) is left out, as the vector env's mask says False for it.
        info = {k: v[0].item() for k, v in self.core.info_arrays().items()
                if not (k in NONE_YET_KEYS and np.isnan(v[0]))}
        info["raw"] = self.core.raw_fields(0)
        if self.core.last_timing:
            info["timing"] = dict(self.core.last_timing)
        if self.core.episode_dropped:
            info["episode_dropped"] = True  # a crashed or hung game was relaunched: not a real episode end
        return info

    def close(self) -> None:
        """Release the backend (pages, processes); a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self._needs_reset = True  # step() checks this flag only, so a closed env fails there too
        if self._window is not None:
            self._window.close()
            self._window = None
        if self._frames is not None:
            self._frames.close()
        self.core.close()
