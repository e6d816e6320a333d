"""Environment settings: keyword arguments or the ``env:`` section of a YAML config, validated.

Unknown keys and bad values are rejected with a message naming the key and the valid choices.
The seed's keys keep their meaning: ``track``, ``car``, ``weather``, ``lap_start``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from ac_core.errors import InputError

BACKENDS = ("sim", "sim-live", "ac", "csp")
CSP_MODES = ("pause", "realtime")
ACTION_SETS = ("discrete", "discrete_fine", "continuous")
LAP_STARTS = ("pit_out", "flying", "standing", "random")
CARS = ("FormulaAlpha2022",)
PHYSICS_HZ = 333.0


class EnvConfigError(InputError, ValueError):
    """A bad environment setting: the message names the key and what is valid."""


@dataclass
class RewardWeights:
    """Per-step reward = progress·m − time − off_track·speed·tyres_out/4 − collision − smoothness·|Δsteer|."""

    progress: float = 0.1  # per metre of progress along the track
    time: float = 0.02  # per step: makes standing still cost
    off_track: float = 0.01  # per (m/s of speed × fraction of tyres out), per step
    collision: float = 10.0  # once per barrier contact
    smoothness: float = 0.05  # per unit of steering change per step


@dataclass
class EnvSettings:
    backend: str = "sim"
    track: str = "spa"  # built-in name, or a fast_lane.ai / TUMFTM .csv path
    car: str = "FormulaAlpha2022"
    weather: str = "clear"
    lap_start: str = "pit_out"  # pit_out | flying | standing | random (any point of the lap)
    control_hz: float = 20.0  # agent decisions per second; physics ticks per step = round(333 / control_hz)
    max_episode_seconds: float = 180.0  # truncation (simulated time)
    max_laps: int = 0  # truncate after this many completed laps (0: no limit)
    action_set: str = "discrete"  # discrete (28 actions) | discrete_fine (63, part throttle/brake) | continuous
    steer_rate: float = 4.0  # max steering change per second (full lock to lock in 0.5 s)
    off_track_tyres: int = 2  # terminate when more tyres than this are out...
    off_track_grace_s: float = 1.0  # ...for longer than this
    no_progress_s: float = 6.0  # terminate when the car has not gained 1 m of progress for this long
    terminate_on_collision: bool = True
    lookahead_points: int = 40
    lookahead_distance_m: float = 400.0
    ray_count: int = 15
    ray_range_m: float = 200.0
    reward: RewardWeights = field(default_factory=RewardWeights)
    # live backends
    prefix: str = "acpmf_"  # shared-memory page prefix (sim-live, ac)
    feeder: str = "auto"  # ac backend: auto | vjoy | uinput | pad
    restart_button: int = 3  # ac backend: controller button bound to "restart session" in AC
    # ac backend: how long the restart button is held. Content Manager can require system commands to
    # be held (its "hold" delay, 0.45 s by default): switch the delay off, or set this above it (0.6).
    restart_hold_s: float = 0.1
    reset_timeout_s: float = 20.0  # live backends: no new physics packet for this long (game not paused) = stopped
    # live backends: how long a step or reset waits on a paused game (graphics.status AC_PAUSE) before
    # GameStoppedError; 0 = for ever. An hour covers a break; finite because a game that closed while
    # paused can leave a page that still reads AC_PAUSE, which would otherwise hang a run unnoticed.
    pause_timeout_s: float = 3600.0
    spawn_sim: bool = True  # sim-live: start `ac-core sim` ourselves (False: attach to a running one)
    time_scale: float = 1.0  # sim-live: the spawned simulator's time scale; csp: CSP's SimState.v1 time_scale
    track_file: str | None = None  # ac backend: track model file (default: from the AC install)
    ac_root: str | None = None  # ac backend: AC install folder (to find content/tracks/<track>/…)
    # csp backend (CSP Custom AI, docs/csp.md)
    csp_mode: str = "pause"  # pause: pause → observe → act → resume for k ticks | realtime: runs at time_scale
    csp_sim: bool = False  # drive the built-in simulator (spawned, --protocol csp) instead of the game
    csp_car_index: int = 0  # the car CSP hands over (0 = the player's)
    csp_sim_state_version: int = 1  # 1: SimState.v1 (CSP ≥ 0.2.8, time_scale) | 0: SimState.v0 (older CSP)
    csp_watchdog: bool = True  # a watchdog process brakes the car if this process dies

    def __post_init__(self) -> None:
        if isinstance(self.reward, dict):  # built directly from a mapping, e.g. EnvSettings(reward={...})
            self.reward = _reward_weights(self.reward, "env.")

    @property
    def ticks_per_step(self) -> int:
        return max(1, round(PHYSICS_HZ / self.control_hz))

    @property
    def step_seconds(self) -> float:
        return self.ticks_per_step / PHYSICS_HZ

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_CHOICES = {
    "backend": BACKENDS,
    "action_set": ACTION_SETS,
    "lap_start": LAP_STARTS,
    "feeder": ("auto", "vjoy", "uinput", "pad"),
    "csp_mode": CSP_MODES,
}
_POSITIVE = {
    "control_hz", "max_episode_seconds", "steer_rate", "off_track_grace_s", "no_progress_s",
    "lookahead_distance_m", "ray_range_m", "reset_timeout_s", "time_scale", "restart_hold_s",
}  # fmt: skip
_NON_NEGATIVE = {"pause_timeout_s"}  # 0 has a meaning (no limit)
_MIN_INT = {"max_laps": 0, "off_track_tyres": 0, "lookahead_points": 1, "ray_count": 1, "restart_button": 1,
            "csp_car_index": 0}


def _coerce(key: str, value: Any, target: type, where: str) -> Any:
    """YAML gives '3e-4' as a string and 5_000_000 as an int: accept numbers written either way."""
    if target is bool:
        if isinstance(value, bool):
            return value
        raise EnvConfigError(f"{where}{key} must be true or false, got {value!r}")
    if target in (int, float):
        if isinstance(value, bool):
            raise EnvConfigError(f"{where}{key} must be a number, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.replace("_", ""))
            except ValueError:
                raise EnvConfigError(f"{where}{key} must be a number, got {value!r}") from None
        if not isinstance(value, (int, float)):
            raise EnvConfigError(f"{where}{key} must be a number, got {value!r}")
        if target is int:
            if float(value) != int(value):
                raise EnvConfigError(f"{where}{key} must be a whole number, got {value!r}")
            return int(value)
        return float(value)
    if target is str:
        if not isinstance(value, str):
            raise EnvConfigError(f"{where}{key} must be a string, got {value!r}")
        return value
    return value


def _field_types(cls: type) -> dict[str, type]:
    out = {}
    for f in fields(cls):
        t = f.type if isinstance(f.type, type) else {"str": str, "float": float, "int": int, "bool": bool}.get(
            str(f.type).replace(" | None", ""), object
        )
        out[f.name] = t
    return out


def make_settings(mapping: dict[str, Any] | None = None, *, where: str = "env.", **kwargs: Any) -> EnvSettings:
    """Validated settings from a mapping (e.g. a config's ``env:`` section) and/or keyword arguments."""
    raw = dict(mapping or {})
    raw.update(kwargs)
    types = _field_types(EnvSettings)
    valid = sorted(types)
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        raise EnvConfigError(
            f"unknown environment setting(s) {', '.join(where + k for k in unknown)}; valid keys: {', '.join(valid)}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "reward":
            values[key] = _reward_weights(value, where)
            continue
        if value is None and key in ("track_file", "ac_root"):
            values[key] = None
            continue
        value = _coerce(key, value, types[key], where)
        if isinstance(value, str) and not value.strip() and key not in ("prefix",):
            raise EnvConfigError(f"{where}{key} must be a non-empty string, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise EnvConfigError(f"{where}{key} = {value!r} is not valid; choose one of: {', '.join(_CHOICES[key])}")
        if key in _POSITIVE and not value > 0:
            raise EnvConfigError(f"{where}{key} must be > 0, got {value!r}")
        if key in _NON_NEGATIVE and not value >= 0:
            raise EnvConfigError(f"{where}{key} must be ≥ 0 (0: no limit), got {value!r}")
        if key in _MIN_INT and value < _MIN_INT[key]:
            raise EnvConfigError(f"{where}{key} must be ≥ {_MIN_INT[key]}, got {value!r}")
        values[key] = value
    settings = EnvSettings(**values)
    if settings.control_hz > PHYSICS_HZ:
        raise EnvConfigError(
            f"{where}control_hz must be ≤ {PHYSICS_HZ:g} (the physics rate), got {settings.control_hz}"
        )
    if settings.off_track_tyres > 3:
        raise EnvConfigError(
            f"{where}off_track_tyres must be 0..3 (terminate when more are out), got {settings.off_track_tyres}"
        )
    if settings.backend not in ("ac", "csp") and settings.car not in CARS:
        # The real game drives whatever car is loaded (checked against its static page); the built-in
        # simulator has one parameter set.
        raise EnvConfigError(f"{where}car = {settings.car!r} is not valid for backend {settings.backend!r}; "
                             f"choose one of: {', '.join(CARS)}")
    if settings.backend not in ("sim", "csp") and settings.lap_start == "random":
        raise EnvConfigError(f"{where}lap_start 'random' needs backend 'sim' or 'csp' (teleports); "
                             "choose one of: pit_out, flying, standing")
    _check_csp(settings, where)
    _check_weather(settings.weather, where)
    return settings


def _reward_weights(value: Any, where: str) -> RewardWeights:
    if isinstance(value, RewardWeights):
        return value
    if not isinstance(value, dict):
        raise EnvConfigError(f"{where}reward must be a mapping of weights, got {value!r}")
    valid = [f.name for f in fields(RewardWeights)]
    unknown = sorted(set(value) - set(valid))
    if unknown:
        raise EnvConfigError(f"unknown reward weight(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    out = {}
    for k, v in value.items():
        v = _coerce(k, v, float, f"{where}reward.")
        if v < 0:
            raise EnvConfigError(f"{where}reward.{k} must be ≥ 0 (it is subtracted or added by its sign), got {v}")
        out[k] = v
    return RewardWeights(**out)


def _check_csp(settings: EnvSettings, where: str) -> None:
    if settings.csp_sim_state_version not in (0, 1):
        raise EnvConfigError(f"{where}csp_sim_state_version = {settings.csp_sim_state_version!r} is not valid; "
                             "choose one of: 1 (CSP ≥ 0.2.8), 0 (older CSP, no time scale)")
    if settings.backend == "csp" and settings.csp_sim_state_version == 0 and settings.time_scale != 1.0:
        raise EnvConfigError(f"{where}time_scale = {settings.time_scale} needs csp_sim_state_version 1 "
                             "(SimState.v1, CSP ≥ 0.2.8); set time_scale to 1 for older CSP")


def _check_weather(weather: str, where: str) -> None:
    from ac_core import _core

    names = list(_core.weather_names()) if hasattr(_core, "weather_names") else ["clear"]
    if weather not in names:
        raise EnvConfigError(f"{where}weather = {weather!r} is not valid; choose one of: {', '.join(names)}")
