"""The racing logic shared by the single and the vector environment, vectorised over N cars.

One implementation for every backend: actions → controls → backend → pages + track geometry →
observation, reward, episode ends. Nothing here reads a backend's private state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ac_core.env import actions as A
from ac_core.env.backends import make_backend
from ac_core.env.backends.base import Backend
from ac_core.env.episode import EpisodeTracker
from ac_core.env.geometry import TrackGeometry
from ac_core.env.observation import Geometry, ObservationLayout, compose_observation
from ac_core.env.reward import COMPONENTS, compute_reward
from ac_core.env.settings import EnvSettings
from ac_core.env.step_frames import from_pages as aggregates_of_pages
from ac_core.errors import InputError

RESET_OPTIONS = ("random_start",)  # reset(options=...) keys: random_start (bool) starts anywhere on the lap
# Info keys that may have no value yet (NaN in info_arrays): the single env leaves them out of its info
# then, and the vector env's ``_key`` mask is False for those cars, as Gymnasium's vector envs mark a
# sub-env that did not report a key. One convention for both; NaN never reaches a comparison.
NONE_YET_KEYS = ("last_lap_time", "best_lap_time")


class EnvUsageError(InputError, ValueError):
    """A Gymnasium call with an argument the environment cannot use (an action of the wrong type, shape
    or range, reset options of the wrong type or with unknown keys); the message names it and what is valid.
    A ValueError, as Gymnasium's own argument checks raise."""


class EnvStateError(InputError, RuntimeError):
    """A Gymnasium call in the wrong state: step() before reset(), or any call after close()."""


def describe_value(value: Any) -> str:
    """A short one-line description of an argument (arrays by shape and dtype, not their contents)."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value).replace("\n", " ")
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def discrete_index(action: Any, n: int, where: str) -> int:
    """One Discrete(n) action as an int: an int, a NumPy integer or a 0-d integer array (as
    ``Discrete.contains`` accepts), in [0, n)."""
    if type(action) is not int:  # the fast path: a plain int
        if isinstance(action, np.integer) or (isinstance(action, np.ndarray) and action.shape == ()
                                              and action.dtype.kind in "iu"):
            action = int(action)
        else:
            raise EnvUsageError(f"{where}: the action is {describe_value(action)}, not an integer; the action "
                                f"space is Discrete({n}): use an int in [0, {n - 1}]")
    if not 0 <= action < n:
        raise EnvUsageError(f"{where}: the action {action} is out of range; the action space is Discrete({n}): "
                            f"use an int in [0, {n - 1}]")
    return action


def action_array(actions: Any, shape: tuple[int, ...], n_actions: int, where: str,
                 names: str = "(steer, throttle, brake)") -> np.ndarray:
    """Actions as an array of the expected shape: integers for a discrete action set (``n_actions`` > 0),
    numbers (cast to float32 when decoded) for a continuous one (``names``: what a row holds). The values
    are checked when decoded."""
    try:
        array = np.asarray(actions)
    except ValueError:  # a ragged nested sequence
        array = None
    if array is None or array.shape != shape or array.dtype.kind not in ("iu" if n_actions else "iuf"):
        got = "a ragged sequence" if array is None else describe_value(array)
        what = f"integers in [0, {n_actions - 1}]" if n_actions else f"numbers {names}"
        noun = "actions are" if len(shape) > 1 or n_actions else "action is"
        raise EnvUsageError(f"{where}: the {noun} {got}; use an array of shape {shape} of {what}")
    return array


def random_start_option(options: Any, where: str) -> bool | None:
    """``reset(options=...)``: None or a dict with only the known keys; returns its random_start."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise EnvUsageError(f"{where}: options = {describe_value(options)} is not a dict; use None or a dict "
                            f"with the keys: {', '.join(RESET_OPTIONS)}")
    unknown = [str(k) for k in options if k not in RESET_OPTIONS]
    if unknown:
        raise EnvUsageError(f"{where}: options has the unknown key {unknown[0]!r}; valid keys: "
                            f"{', '.join(RESET_OPTIONS)}")
    value = options.get("random_start")
    if value is not None and not isinstance(value, bool | np.bool_):
        raise EnvUsageError(f"{where}: options['random_start'] = {describe_value(value)} is not a bool; "
                            "use True, False or None (None: the lap_start setting decides)")
    return None if value is None else bool(value)


def check_seed(seed: Any, where: str) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
        raise EnvUsageError(f"{where}: seed = {describe_value(seed)} is not valid; use None or an int >= 0")


class RacingCore:
    def __init__(self, settings: EnvSettings, n: int = 1, backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend if backend is not None else make_backend(settings, n)
        self.n = self.backend.n
        self.layout = ObservationLayout.for_settings(settings)
        self.geometry_engine = TrackGeometry(self.backend.track, settings)
        self.geometry = Geometry.empty(self.n, settings.lookahead_points, settings.ray_count)
        self.tracker = EpisodeTracker(self.n, settings)
        self.obs = np.zeros((self.n, self.layout.size), dtype=np.float32)
        self.applied = np.zeros((self.n, 3), dtype=np.float32)  # steer, throttle, brake last applied
        self.max_steer_delta = settings.steer_rate / settings.control_hz
        self.track_length = float(self.backend.track.length)
        self.last_reward = np.zeros(self.n)
        self.last_parts: dict[str, np.ndarray] = {k: np.zeros(self.n) for k in COMPONENTS}
        self.last_timing: dict[str, Any] = {}
        self.last_aggregates: dict[str, np.ndarray] = {}
        # The last step was cut off by a game crash or hang (a launched session relaunched under it, see
        # backends/supervisor.py): its episode is dropped, not finished.
        self.episode_dropped = False

    # -- geometry and observation ----------------------------------------------------------------
    def _refresh_geometry(self, idx: np.ndarray | None = None) -> None:
        b = self.backend
        if idx is not None:
            self.geometry.s[idx] = np.nan  # fresh start: no warm-start hint
        self.geometry_engine.compute(b.physics, b.graphics, self.geometry)

    def _observe(self) -> np.ndarray:
        return compose_observation(
            self.obs, self.layout, self.settings, self.backend.physics, float(self.backend.static["maxRpm"]),
            self.geometry, self.applied,
        )  # fmt: skip

    # -- episode control -------------------------------------------------------------------------
    def reset(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool | None = None) -> np.ndarray:
        if random_start is None:
            random_start = self.settings.lap_start == "random"
        self.backend.reset_cars(idx, rng, random_start)
        self.applied[idx] = 0.0
        self._refresh_geometry(idx)
        p, g = self.backend.physics, self.backend.graphics
        self.tracker.reset(idx, p["carDamage"][idx, :4].sum(axis=1), g["completedLaps"][idx])
        fresh = aggregates_of_pages(p, self.settings.off_track_tyres)  # the start: its one frame
        if not self.last_aggregates:
            self.last_aggregates = fresh
        for key, value in fresh.items():
            self.last_aggregates[key][idx] = value[idx]
        return self._observe()

    def step(self, action: np.ndarray, where: str = "step") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One step of every car; ``action`` has one entry (discrete) or row (continuous) per car; a value
        out of range (discrete) or not finite (continuous) raises EnvUsageError naming ``where``."""
        try:
            if A.is_discrete(self.settings.action_set):
                target = A.decode_discrete(action, A.action_table(self.settings.action_set))
            else:
                target = A.decode_continuous(action, self.settings.action_set)
        except ValueError as exc:
            raise EnvUsageError(f"{where}: {exc}") from None
        prev_steer = self.applied[:, 0].copy()
        self.applied[:, 0] = A.rate_limit(prev_steer, target[:, 0], self.max_steer_delta)
        self.applied[:, 1:] = target[:, 1:]
        self.backend.apply(self.applied)
        self.last_timing = self.backend.advance()
        self.episode_dropped = bool(self.last_timing.get("session_relaunched", False))
        if self.episode_dropped:
            # The car now sits in a new session: nothing of this step is a transition of the old episode.
            # Truncate with the last observation and no reward; the caller drops the episode.
            zero = np.zeros(self.n)
            self.last_reward, self.last_parts = zero, {k: zero.copy() for k in COMPONENTS}
            return self.obs, zero, np.zeros(self.n, dtype=bool), np.ones(self.n, dtype=bool)

        prev_s = self.geometry.s.copy()
        self._refresh_geometry()
        ds = self.geometry.s - prev_s
        ds = (ds + self.track_length / 2) % self.track_length - self.track_length / 2  # across s = 0
        progress = np.nan_to_num(ds)

        p, g = self.backend.physics, self.backend.graphics
        speed = p["speedKmh"].astype(np.float64) / 3.6
        # Off-track, damage and the off-track penalty over every physics frame of the step, not only
        # the newest one the observation shows.
        agg = self.last_aggregates = self.backend.step_aggregates(self.settings.off_track_tyres)
        collided, terminated, truncated = self.tracker.update(
            self.settings.step_seconds, progress, agg["max_tyres_out"], agg["off_fraction"], agg["off_at_end"],
            agg["max_damage"], g["completedLaps"], g["iLastTime"], speed,
        )  # fmt: skip
        reward, parts = compute_reward(
            self.settings.reward, progress, agg["off_track_speed"], agg["off_fraction"], collided,
            self.applied[:, 0] - prev_steer,
        )
        self.tracker.episode_return += reward
        self.last_reward, self.last_parts = reward, parts
        return self._observe(), reward, terminated, truncated

    # -- info ------------------------------------------------------------------------------------
    def info_arrays(self) -> dict[str, np.ndarray]:
        """Per-car info as arrays [N] (the vector env's infos; the single env takes element 0); NaN in
        ``NONE_YET_KEYS`` means no value yet."""
        t, p, g = self.tracker, self.backend.physics, self.backend.graphics
        info: dict[str, np.ndarray] = {f"reward_{k}": v for k, v in self.last_parts.items()}
        info.update(
            speed_kmh=p["speedKmh"].astype(np.float64),
            s=self.geometry.s.copy(),
            lateral=self.geometry.lateral.copy(),
            tyres_out=p["numberOfTyresOut"].astype(np.int64),
            completed_laps=t.laps_in_episode.copy(),
            lap_completed=t.lap_completed.copy(),
            last_lap_time=t.last_lap_s.copy(),
            last_lap_clean=t.last_lap_clean.copy(),
            best_lap_time=t.best_lap_s.copy(),
            off_track_events=t.off_track_events.copy(),
            collisions=t.collisions.copy(),
            episode_time=t.elapsed.copy(),
            episode_return=t.episode_return.copy(),
            avg_speed_kmh=np.where(t.steps > 0, t.speed_sum / np.maximum(t.steps, 1) * 3.6, 0.0),
            distance=t.distance.copy(),
            normalized_position=g["normalizedCarPosition"].astype(np.float64),
        )
        # What the step's physics frames showed between the observations (ac_core.env.step_frames).
        a = self.last_aggregates
        info.update(
            step_frames=a["frames"].astype(np.int64),
            step_max_tyres_out=a["max_tyres_out"].astype(np.int64),
            step_max_wheel_slip=a["max_wheel_slip"].copy(),
            step_min_speed_kmh=a["min_speed_mps"] * 3.6,
            step_peak_g=a["peak_g"].copy(),
        )
        return info

    def raw_fields(self, i: int) -> dict[str, Any]:
        """A car's raw page fields an analysis usually wants (packetId is left out: it counts across
        episodes, as AC's does, and would make infos differ between identical episodes)."""
        p, g = self.backend.physics[i], self.backend.graphics[i]
        return {
            "speedKmh": float(p["speedKmh"]), "gear": int(p["gear"]),
            "rpms": int(p["rpms"]), "gas": float(p["gas"]), "brake": float(p["brake"]),
            "steerAngle": float(p["steerAngle"]), "heading": float(p["heading"]),
            "carCoordinates": g["carCoordinates"].tolist(), "normalizedCarPosition": float(g["normalizedCarPosition"]),
            "numberOfTyresOut": int(p["numberOfTyresOut"]), "carDamage": p["carDamage"].tolist(),
            "completedLaps": int(g["completedLaps"]), "iCurrentTime": int(g["iCurrentTime"]),
            "iLastTime": int(g["iLastTime"]), "iBestTime": int(g["iBestTime"]),
            "currentSectorIndex": int(g["currentSectorIndex"]), "status": int(g["status"]),
        }  # fmt: skip

    def close(self) -> None:
        self.backend.close()
