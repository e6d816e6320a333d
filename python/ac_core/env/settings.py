"""Environment settings: keyword arguments or the ``env:`` section of a YAML config, validated.

Every field declares its type and valid range or choices (:func:`ac_core.settings_spec.setting`);
:func:`make_settings` checks them with the same validator and message format as the rest of the
config, then the combinations that only make sense together. The seed's keys keep their meaning:
``track``, ``car``, ``weather``, ``lap_start``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ac_core.env.backends.registry import BACKEND_NAMES
from ac_core.env.backends.registry import BACKENDS as BACKEND_SPECS
from ac_core.errors import InputError
from ac_core.settings_spec import choices_text, fail, parse_section, setting
from ac_core.sim import LAP_STARTS as SIM_LAP_STARTS

BACKENDS = BACKEND_NAMES  # the registered backends (ac_core.env.backends.BACKENDS)
CSP_MODES = ("pause", "realtime")
ACTION_SETS = ("discrete", "discrete_fine", "continuous", "continuous_pedal")
# The vector env's autoreset modes (gymnasium.vector.AutoresetMode values, as Gymnasium's SyncVectorEnv takes).
AUTORESET_MODES = ("SameStep", "NextStep")
# The simulator's start modes, plus "random": the environment teleports the car to any point of the lap.
RANDOM_LAP_START = "random"
LAP_STARTS = (*SIM_LAP_STARTS, RANDOM_LAP_START)
FEEDERS = ("auto", "vjoy", "uinput", "pad")
CARS = ("FormulaAlpha2022",)
PHYSICS_HZ = 333.0

# Upper bounds, each far above any useful value, that keep a typo from costing memory or a step's time:
# a weight above this makes the loss (and its gradients) thousands of times larger than the defaults
# (0.01 to 10) do; one ray or look-ahead point more is one more geometry query per car and step.
MAX_REWARD_WEIGHT = 1000.0
MAX_RAYS = 360  # one per degree of the ±90° fan is already far finer than the track's resolution
MAX_LOOKAHEAD_POINTS = 1000
MAX_DISTANCE_M = 10_000.0  # longer than any straight; a whole lap of Spa is 7 km
# Episode lengths, grace periods and timeouts: about four months; a value this large means "never"
# (benchmarks drive one endless episode with 1e6), and keeps sums of step times exact in float64.
MAX_SECONDS = 1e7


class EnvConfigError(InputError, ValueError):
    """A bad environment setting: the message names the key and what is valid."""


@dataclass
class RewardWeights:
    """Per-step reward = progress·m − time − off_track·speed·tyres_out/4 − collision − smoothness·|Δsteer|."""

    progress: float = setting(0.1, low=0, high=MAX_REWARD_WEIGHT, doc="per metre of progress along the track")
    time: float = setting(0.02, low=0, high=MAX_REWARD_WEIGHT, doc="per step: makes standing still cost")
    off_track: float = setting(0.01, low=0, high=MAX_REWARD_WEIGHT,
                               doc="per (m/s of speed × fraction of tyres out), per step")
    off_track_progress: float = setting(1.0, low=0, high=1,
                                        doc="share of progress paid while more than off_track_tyres tyres are out "
                                            "(AC's cut): 0 makes cutting a corner gain nothing")
    collision: float = setting(10.0, low=0, high=MAX_REWARD_WEIGHT, doc="once per barrier contact")
    smoothness: float = setting(0.05, low=0, high=MAX_REWARD_WEIGHT, doc="per unit of steering change per step")


@dataclass
class EnvSettings:
    backend: str = setting("sim", choices=BACKENDS)
    track: str = setting("spa", doc="built-in name, or a fast_lane.ai / TUMFTM .csv path")
    car: str = setting("FormulaAlpha2022", doc="sim/sim-live: FormulaAlpha2022, an AC car folder (or its data/) or an "
                                               "AC car id under env.ac_root; ac/csp: the car the game runs")
    weather: str = setting("clear", doc="checked against the simulator's weather names")
    lap_start: str = setting("pit_out", choices=LAP_STARTS, doc="random: any point of the lap")
    control_hz: float = setting(20.0, low=0, low_open=True, high=PHYSICS_HZ,
                                doc="agent decisions per second; physics ticks per step = round(333 / control_hz)")
    max_episode_seconds: float = setting(180.0, low=0, low_open=True, high=MAX_SECONDS,
                                         doc="truncation (simulated time)")
    max_laps: int = setting(0, low=0, high=10_000, doc="truncate after this many completed laps (0: no limit)")
    action_set: str = setting("discrete", choices=ACTION_SETS,
                              doc="discrete (28 actions) | discrete_fine (63, part throttle/brake) | continuous "
                                  "(steer, throttle, brake) | continuous_pedal (steer, pedal), all in -1..1")
    autoreset_mode: str = setting("SameStep", choices=AUTORESET_MODES,
                                  doc="make_vector only: SameStep resets a finished car inside the step that ended "
                                      "its episode (last observation in infos['final_obs']); NextStep in the next "
                                      "step() call, as Gymnasium's vector wrappers need")
    steer_rate: float = setting(4.0, low=0, low_open=True, high=1000.0,
                                doc="max steering change per second (full lock to lock in 0.5 s)")
    off_track_tyres: int = setting(2, low=0, high=3, doc="terminate when more tyres than this are out...")
    off_track_grace_s: float = setting(1.0, low=0, low_open=True, high=MAX_SECONDS, doc="...for longer than this")
    no_progress_s: float = setting(6.0, low=0, low_open=True, high=MAX_SECONDS,
                                   doc="terminate when the car has not gained 1 m of progress for this long")
    terminate_on_collision: bool = setting(True)
    lookahead_points: int = setting(40, low=1, high=MAX_LOOKAHEAD_POINTS)
    lookahead_distance_m: float = setting(400.0, low=0, low_open=True, high=MAX_DISTANCE_M)
    ray_count: int = setting(15, low=1, high=MAX_RAYS)
    ray_range_m: float = setting(200.0, low=0, low_open=True, high=MAX_DISTANCE_M)
    reward: RewardWeights = field(default_factory=RewardWeights)  # env.reward: checked as its own section
    # live backends
    prefix: str = setting("acpmf_", empty_ok=True, doc="shared-memory page prefix (sim-live, ac)")
    feeder: str = setting("auto", choices=FEEDERS, doc="ac backend: how the controls reach the game")
    restart_button: int = setting(3, low=1, high=128,
                                  doc="ac backend: controller button bound to 'restart session' (vJoy has 128)")
    # ac backend: how long the restart button is held. Content Manager can require system commands to
    # be held (its "hold" delay, 0.45 s by default): switch the delay off, or set this above it (0.6).
    restart_hold_s: float = setting(0.1, low=0, low_open=True, high=60.0)
    reset_timeout_s: float = setting(20.0, low=0, low_open=True, high=MAX_SECONDS,
                                     doc="live backends: no new physics packet for this long (not paused) = stopped")
    # live backends: how long a step or reset waits on a paused game (graphics.status AC_PAUSE) before
    # GameStoppedError; 0 = for ever. An hour covers a break; finite because a game that closed while
    # paused can leave a page that still reads AC_PAUSE, which would otherwise hang a run unnoticed.
    pause_timeout_s: float = setting(3600.0, low=0, high=MAX_SECONDS)
    spawn_sim: bool = setting(True, doc="sim-live: start `ac-core sim` ourselves (False: attach to a running one)")
    realtime_priority: int = setting(
        0, low=0, high=99,
        doc="live backends: 0 = normal threads; 1-99 = the telemetry poller and the stepping thread run real-time "
            "(Linux SCHED_FIFO at this priority + mlockall; Windows THREAD_PRIORITY_TIME_CRITICAL + "
            "timeBeginPeriod(1)); needs permission (docs/plumbing.md, 'Real-time threads'), else a warning")
    time_scale: float = setting(1.0, low=0, low_open=True, high=1000.0,
                                doc="sim-live: the spawned simulator's time scale; csp: SimState.v1 time_scale")
    track_file: str | None = setting(None, doc="ac backend: track model file (default: from the AC install)")
    ac_root: str | None = setting(None, doc="AC install folder: content/tracks/<track>/… (ac backend), "
                                           "content/cars/<env.car>/ (sim backends)")
    # ac and csp backends: ac_core starts the session itself (docs/windows.md, `ac-core launch`)
    ac_launch: bool = setting(False, doc="ac/csp: write race.ini, start the game, wait for live pages; relaunch it "
                                         "after a crash or hang (needs ac_root)")
    ac_documents: str | None = setting(None, doc="Documents/Assetto Corsa folder (default: the user's, or the "
                                                 "Proton prefix's on Linux)")
    ac_starter: str = setting("acs", choices=("acs", "content_manager", "command"),
                              doc="how the game starts: acs.exe, Content Manager, or env.ac_command")
    ac_command: str | None = setting(None, doc="command line that starts the game, with {exe} {root} {race_ini} "
                                               "{documents} {prefix} {python} filled in (e.g. 'wine {exe}')")
    ac_layout: str = setting("", empty_ok=True, doc="track layout folder ('' for a single-layout track)")
    ac_skin: str | None = setting(None, doc="car skin folder (default: the car's first)")
    ac_time_of_day: float = setting(13.0, low=8.0, high=18.0, doc="hours (AC's sun range is 08:00 to 18:00)")
    ac_ai_opponents: int = setting(0, low=0, high=30, doc="AI cars in the session (0: alone)")
    ac_launch_timeout_s: float = setting(180.0, low=1.0, high=3600.0,
                                         doc="how long a launch waits for live pages (a first Proton start is slow)")
    relaunch_tries: int = setting(3, low=0, high=100,
                                  doc="ac_launch: relaunches in a row after a crash or hang before training stops")
    # csp backend (CSP Custom AI, docs/csp.md)
    csp_mode: str = setting("pause", choices=CSP_MODES,
                            doc="pause: pause → observe → act → resume for k ticks | realtime: runs at time_scale")
    csp_sim: bool = setting(False, doc="drive the built-in simulator (spawned, --protocol csp) instead of the game")
    csp_car_index: int = setting(0, low=0, high=1023, doc="the car CSP hands over (0 = the player's)")
    csp_sim_state_version: int = setting(1, choices=(1, 0),
                                         doc="1: SimState.v1 (CSP ≥ 0.2.8, time_scale) | 0: SimState.v0 (older CSP)")
    csp_watchdog: bool = setting(True, doc="a watchdog process brakes the car if this process dies")

    def __post_init__(self) -> None:
        if not isinstance(self.reward, RewardWeights):  # built directly from a mapping, e.g. EnvSettings(reward={...})
            self.reward = RewardWeights(**parse_section(RewardWeights, self.reward, section="env.reward", source="",
                                                        error=EnvConfigError))

    @property
    def ticks_per_step(self) -> int:
        return max(1, round(PHYSICS_HZ / self.control_hz))

    @property
    def step_seconds(self) -> float:
        return self.ticks_per_step / PHYSICS_HZ

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_settings(mapping: Mapping[str, Any] | None = None, *, source: str = "", **kwargs: Any) -> EnvSettings:
    """Validated settings from a mapping (e.g. a config's ``env:`` section) and/or keyword arguments.

    ``source`` (a file name, ``--set``) starts every message; EnvConfigError names the key as
    ``env.<key>`` with its valid range or choices."""
    raw: Any = mapping
    if kwargs and (mapping is None or isinstance(mapping, Mapping)):  # anything else is rejected as not a mapping
        raw = {**(mapping or {}), **kwargs}
    settings = EnvSettings(**parse_section(EnvSettings, raw, section="env", source=source, error=EnvConfigError))
    check_combinations(settings, source)
    return settings


def check_combinations(settings: EnvSettings, source: str = "", error: type[Exception] = EnvConfigError) -> None:
    """The rules that involve more than one key (each key's own range is its field's)."""
    spec = BACKEND_SPECS[settings.backend]
    if spec.builtin_car and settings.car not in CARS:
        # The real game drives whatever car is loaded (checked against its static page); the built-in
        # simulator drives FormulaAlpha2022 or an unpacked AC car folder (ac_core.sim.ac_car).
        _check_sim_car(settings, source, error)
    if not spec.teleports and settings.lap_start == RANDOM_LAP_START:
        teleporting = " or ".join(name for name, s in BACKEND_SPECS.items() if s.teleports)
        fail(error, source, "env.lap_start", settings.lap_start, f"needs backend {teleporting} (teleports)",
             choices_text(SIM_LAP_STARTS))
    _check_csp(settings, source, error)
    if settings.ac_launch and not spec.game:
        games = " or ".join(name for name, s in BACKEND_SPECS.items() if s.game)
        fail(error, source, "env.ac_launch", settings.ac_launch, f"needs backend {games} (not {settings.backend})",
             f"set env.backend to {games}, or env.ac_launch to false")
    if settings.ac_launch and not settings.ac_root:
        fail(error, source, "env.ac_root", settings.ac_root, "is needed by env.ac_launch",
             "set env.ac_root to the Assetto Corsa folder (the one with acs.exe)")
    if settings.ac_launch and settings.backend == "csp" and settings.csp_sim:
        fail(error, source, "env.ac_launch", settings.ac_launch, "cannot launch the game with csp_sim: true",
             "set env.csp_sim to false to launch AC, or env.ac_launch to false for the simulator")
    _check_weather(settings.weather, source, error)


def _check_sim_car(settings: EnvSettings, source: str, error: type[Exception]) -> None:
    from ac_core.sim.ac_car import AcCarError, resolve_car

    try:
        resolve_car(settings.car, settings.ac_root)
    except AcCarError:
        where = f"nor a car id under {settings.ac_root}/content/cars" if settings.ac_root else "(env.ac_root unset)"
        fail(error, source, "env.car", settings.car, f"is not a built-in car, not a car folder {where}",
             f"{choices_text(CARS)}, an AC car folder (content/cars/<id>) or set env.ac_root")


def _check_csp(settings: EnvSettings, source: str, error: type[Exception]) -> None:
    if settings.backend == "csp" and settings.csp_sim_state_version == 0 and settings.time_scale != 1.0:
        fail(error, source, "env.time_scale", settings.time_scale,
             "needs csp_sim_state_version 1 (SimState.v1, CSP ≥ 0.2.8)", "set time_scale to 1 for older CSP")


def _check_weather(weather: str, source: str, error: type[Exception]) -> None:
    from ac_core.sim import weather_names

    names = tuple(weather_names())
    if weather not in names:
        fail(error, source, "env.weather", weather, "is not valid", choices_text(names))
