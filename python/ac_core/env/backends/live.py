"""Live backends: one car whose pages come from shared memory and whose controls go to a feeder.

:class:`LivePages` is what every live backend shares (``sim-live``, ``ac`` and ``csp`` in
:mod:`ac_core.env.backends.csp`): the AC pages of one car and checked snapshots of them into the page
arrays the observation reads; the functions below load the game's track model (:func:`game_track`)
and start this env's simulator process (:func:`spawn_simulator`, through :mod:`ac_core.sim.process`).
:class:`LiveBackend` adds the physics-paced stepping of ``sim-live`` and ``ac``.

``sim-live``: the built-in simulator as its own process (as ``ac-core sim`` runs it), driven through the pad
page — the exact code path used against the game (mapping, checked snapshots, poller, feeder,
physics-aligned stepper), run on any machine.

``ac``: Assetto Corsa itself: pages from ``Local\\acpmf_*`` (or /dev/shm via simshmbridge), controls
through vJoy (Windows) or uinput (Linux/Proton), the track model from the AC install's
``fast_lane.ai``.

Every physics packet reaches the env: a C++ poller thread turns each new physics packetId into a frame
(checked physics snapshot + the latest graphics snapshot) and queues it in a lock-free ring
(:class:`~ac_core.telemetry_stream.TelemetryStream`); each step drains the ring, builds the observation
from the newest frame and the step's aggregates (:mod:`ac_core.env.step_frames`: max tyres out, max
wheel slip, min speed, peak g, damage) from all of them, so an excursion between two steps counts.
``info["timing"]`` reports the step's frames, the frames the ring had to drop (0 in normal operation:
the ring holds ``LIVE_RING_FRAMES``, seconds of physics even at time scale 10), the packets the poller
never saw, and the packetId gap since the previous step.

Steps are aligned to the physics clock: a step ends after k new physics packetIds, so a paused game
(frozen packetId) simply stretches the step and the pause is not counted as driving time (episode
time adds the step's physics time, never wall time). While graphics.status is AC_PAUSE a step waits
for as long as ``pause_timeout_s`` allows and reports the wait in ``info["timing"]["paused_s"]``; a
game whose packets stop for ``reset_timeout_s`` while it is not paused raises ``GameStoppedError``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ac_core import _core
from ac_core import pages as P
from ac_core.env import step_frames
from ac_core.env.backends.base import Backend
from ac_core.env.settings import EnvConfigError, EnvSettings
from ac_core.errors import AcCoreError
from ac_core.feeders import make_feeder
from ac_core.game.content import AcInstall, car_matches, car_mismatch_message, normalise
from ac_core.shm import PageNotFoundError, PageSet
from ac_core.sim.process import start_simulator, stop_simulator, unique_sim_prefix
from ac_core.telemetry_stream import TelemetryStream, empty_frames

T = TypeVar("T")

PAD_RESTART_BUTTON = 1 << 2  # pad_page.hpp kPadRestartSession
# How often a waiting step looks at graphics.status and the packet clock: often enough that the
# timeouts and the reported pause are accurate to a tenth of a second, rare enough to cost nothing
# (a normal step ends in its first wait).
_WAIT_SLICE_S = 0.1
# Frames the ring between the poller and the env holds (1048 B each: 17 MB): 49 s of AC physics at
# time scale 1, 4.9 s at 10, so a training loop that checkpoints or evaluates between steps drops none.
LIVE_RING_FRAMES = 16384


class GameStoppedError(AcCoreError, RuntimeError):
    """The page producer stopped (game closed, simulator died) during an episode."""


def request_realtime(priority: int, poller: Any) -> dict[str, str]:
    """The real-time scheduling ``env.realtime_priority`` asks for (0: none): the poller thread (asked at
    its start), the calling thread (the one that steps) and the process's memory. What each got, by
    name; anything refused is one warning naming how to allow it, and the env runs on without it."""
    if priority <= 0:
        return {}
    import warnings

    thread_ok, thread = _core.make_thread_realtime(priority)
    memory_ok, memory = _core.lock_process_memory()
    got = {"poller": poller.realtime_detail, "stepping thread": thread, "memory": memory}
    allowed = (poller.realtime_ok, thread_ok, memory_ok)
    refused = [f"{what}: {detail}" for (what, detail), ok in zip(got.items(), allowed, strict=True) if not ok]
    if refused:
        warnings.warn(f"env.realtime_priority = {priority}: " + "; ".join(refused), RuntimeWarning, stacklevel=3)
    return got


class LivePages(Backend):
    """One car's AC pages from shared memory under ``prefix``: every physics packet as a frame through
    the poller's ring (``stream``), the newest in ``physics``/``graphics``, the step's aggregates over
    all of them; checked snapshots (``pages``) for the static page and for resets."""

    n = 1
    ring_frames = LIVE_RING_FRAMES  # the poller's ring (a power of two)

    def __init__(self, settings: EnvSettings, prefix: str) -> None:
        self.settings = settings
        self.prefix = prefix
        self.stream: TelemetryStream | None = None
        self.pages = PageSet(prefix)
        self.physics = np.zeros(1, dtype=P.PHYSICS_DTYPE)
        self.graphics = np.zeros(1, dtype=P.GRAPHICS_DTYPE)
        self.static = self.pages.static
        self._frames = empty_frames(self.ring_frames)
        self._latest = empty_frames(1)
        self._aggregates = step_frames.from_pages(self.physics, settings.off_track_tyres)
        self._last_frame_index = -1  # of the newest frame the env has taken (the poller counts from 0)
        self._last_packet_id = 0
        self.stream = TelemetryStream(
            prefix, ring_capacity=self.ring_frames, realtime_priority=settings.realtime_priority
        )
        self._poller = self.stream.poller
        self.realtime = request_realtime(settings.realtime_priority, self._poller)
        self._snapshot()

    def _snapshot(self) -> tuple[int, int]:
        """Checked snapshots straight from the pages (a reset's start), and the ring emptied: frames from
        before this point belong to no step."""
        self.discard_frames()
        pid = self.pages.read_physics(self.physics[0:1].reshape(()))
        gid = self.pages.read_graphics(self.graphics[0:1].reshape(()))
        self._last_packet_id = pid
        self._aggregates = step_frames.from_pages(self.physics, self.settings.off_track_tyres)
        return pid, gid

    def discard_frames(self) -> int:
        """Drop every queued frame (they belong to no step: a reset, or the time before the first one).
        Frames the ring could not hold before this point belong to no step either: the next step counts
        drops from the newest frame made so far (the poller's stats keep the all-time count)."""
        discarded = 0
        while True:
            got = self._poller.drain_into(self._frames)
            if got == 0:
                break
            discarded += got
            self._last_frame_index = int(self._frames["frame_index"][got - 1])
        if self._poller.latest_into(self._latest.reshape(())):
            self._last_frame_index = max(self._last_frame_index, int(self._latest["frame_index"][0]))
        return discarded

    def take_frames(self) -> dict[str, Any]:
        """The frames queued since the previous step: the newest into ``physics``/``graphics``, all of
        them into the step's aggregates. Returns the step's frame accounting for ``info["timing"]``:
        ``frames`` (taken), ``dropped`` (made by the poller but not queued: the ring was full; counted,
        never silent), ``missed_packets`` (packetIds the poller never saw) and ``packet_gap`` (newest
        packetId minus the previous step's)."""
        got = self._poller.drain_into(self._frames)
        frames = self._frames[:got]
        if got == 0 or got == len(self._frames):
            # Nothing queued (the step ended on a frame already taken), or the ring was full and newer
            # frames were dropped: the newest frame is the poller's latest.
            if not self._poller.latest_into(self._latest.reshape(())):
                raise GameStoppedError(f"no physics frame under prefix {self.prefix!r} yet")
            if got == 0 or self._latest["frame_index"][0] > frames["frame_index"][-1]:
                frames = self._latest if got == 0 else np.concatenate([frames, self._latest])
        newest = frames[-1]
        newest_index = int(newest["frame_index"])
        if newest_index == self._last_frame_index:  # nothing new at all: no frames, nothing missed
            frames = frames[-1:]
            self._aggregates = step_frames.from_frames(frames["physics"], self.settings.off_track_tyres)
            return {"frames": 0, "dropped": 0, "missed_packets": 0, "packet_gap": 0}
        # The poller numbers every frame it makes, queued or not: a hole in the numbers is a drop.
        dropped = max(0, newest_index - self._last_frame_index - len(frames))
        self._last_frame_index = newest_index
        self.physics[0] = newest["physics"]
        self.graphics[0] = newest["graphics"]
        self._aggregates = step_frames.from_frames(frames["physics"], self.settings.off_track_tyres)
        packet_id = int(newest["physics_packet_id"])
        gap, self._last_packet_id = packet_id - self._last_packet_id, packet_id
        return {"frames": len(frames), "dropped": dropped, "missed_packets": int(frames["missed_packets"].sum()),
                "packet_gap": gap}  # fmt: skip

    def step_aggregates(self, off_track_tyres: int) -> dict[str, np.ndarray]:
        return self._aggregates

    @property
    def frame_stats(self) -> dict[str, Any]:
        """The poller's counters since the backend started (frames, dropped, missed_packets, ...)."""
        return self.stream.stats if self.stream is not None else {}

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        self.pages.close()


class LiveBackend(LivePages):
    """Steps that end after k new physics packetIds (the poller + stepper), controls through a feeder."""

    def __init__(self, settings: EnvSettings, prefix: str) -> None:
        super().__init__(settings, prefix)
        self._stepper = _core.PhysicsStepper(self._poller, settings.ticks_per_step)
        self.feeder: Any = None
        self._step_count = 0
        # Set by a session supervisor: returns why the game process is gone (crashed, exited), else None;
        # asked whenever the packet clock stands still, so a crash is found at once, not after a timeout.
        self.process_gone: Callable[[], str | None] | None = None

    @property
    def step_target_packet_id(self) -> int:
        """The physics packetId the step in progress ends on (0 before the first step)."""
        return int(self._stepper.target_packet_id)

    # -- pages -----------------------------------------------------------------------------------
    def _game_paused(self) -> bool:
        """graphics.status is AC_PAUSE (read into the page set's own buffer: the step's snapshot in
        ``self.graphics`` is only taken once the step ends)."""
        self.pages.read_graphics()
        return int(self.pages.graphics["status"]) == int(P.AcStatus.PAUSE)

    def _wait(self, attempt: Callable[[float], T | None], timeout_s: float, what: str) -> tuple[T, float]:
        """Call ``attempt(slice_s)`` until it returns something; returns it and the seconds spent paused.

        AC freezes packetId while paused, so a frozen clock alone does not mean the game stopped: while
        graphics.status is AC_PAUSE this keeps waiting (up to ``pause_timeout_s``, 0 = for ever) and
        the no-packet timer starts again on resume. Without the pause, ``timeout_s`` seconds with no new
        physics packet at all raise GameStoppedError. "No new packet", not "no result": a slow game
        (time_scale < 1, a low control_hz) may take longer than ``timeout_s`` for one step, yet is alive.
        """
        pause_limit = self.settings.pause_timeout_s
        paused_s = 0.0
        paused_since: float | None = None
        last_id = self._poller.latest_packet_id
        last_change = time.monotonic()
        while True:
            t0 = time.monotonic()
            got = attempt(_WAIT_SLICE_S)
            if got is not None:
                if paused_since is not None:  # the slice in which the game resumed
                    paused_s += time.monotonic() - t0
                return got, paused_s
            now = time.monotonic()
            gone = self.process_gone() if self.process_gone is not None else None
            if gone is not None:
                raise GameStoppedError(f"{gone} while {what} (prefix {self.prefix!r})")
            if self._game_paused():
                # The whole slice counts: the clock was frozen through it, so the pause began before t0.
                paused_s += now - t0
                if paused_since is None:
                    paused_since = t0
                if pause_limit > 0 and now - paused_since > pause_limit:
                    raise GameStoppedError(
                        f"the game under prefix {self.prefix!r} has been paused for more than "
                        f"{pause_limit:g} s (env.pause_timeout_s) while {what}; resume it, or set "
                        "env.pause_timeout_s to 0 to wait for ever"
                    )
                last_change = now  # the no-packet clock starts on resume
                continue
            paused_since = None
            latest = self._poller.latest_packet_id
            if latest != last_id:
                last_id, last_change = latest, now
            elif now - last_change > timeout_s:
                raise GameStoppedError(
                    f"no new physics packet for {timeout_s:g} s while {what}, and the game is not paused: the "
                    f"game or simulator under prefix {self.prefix!r} stopped; restart it (`ac-core doctor` "
                    "shows its state), then reset the environment"
                )

    def _wait_packets(self, count: int, timeout_s: float, what: str) -> int:
        """Wait until `count` new physics packets arrived (waiting out a pause); returns the last packetId."""
        last = int(self.physics["packetId"][0])
        for _ in range(count):
            got, _paused = self._wait(lambda s, after=last: self._poller.wait_for_packet(after, s), timeout_s, what)
            last = int(got)
        return last

    # -- Backend ---------------------------------------------------------------------------------
    def apply(self, controls: np.ndarray) -> None:
        steer, throttle, brake = (float(v) for v in controls[0])
        self.feeder.write(steer, throttle, brake)

    def advance(self) -> dict[str, Any]:
        # The stepper keeps its target packetId across calls, so waiting in slices loses no ticks.
        result, paused_s = self._wait(self._stepper.step, self.settings.reset_timeout_s, "stepping")
        packet_id, lateness_s, timed_out = result
        frames = self.take_frames()  # the poller queues a frame before the stepper sees its packetId
        self._step_count += 1
        stats = self._stepper.stats
        return {"packet_id": int(packet_id), "lateness_ms": 1000.0 * float(lateness_s), "timed_out": bool(timed_out),
                "lateness_p50_ms": 1000.0 * float(stats.get("p50_s", np.nan)),
                "lateness_p99_ms": 1000.0 * float(stats.get("p99_s", np.nan)),
                # wall seconds this step waited on a paused game (not episode time: that counts physics ticks)
                "paused_s": paused_s, **frames}

    def close(self) -> None:
        if self.feeder is not None and hasattr(self.feeder, "close"):
            self.feeder.close()
            self.feeder = None
        super().close()

    def _press(self, button_bits: int, what: str, hold_s: float = 0.1) -> None:
        """Press and release a button (level-triggered: the reader acts on the 0 → 1 edge). AC reads
        buttons once per rendered frame, so the press is held for several frames, not one tick."""
        self.feeder.write(0.0, 0.0, 0.0, 0.0, button_bits)
        held_until = time.monotonic() + hold_s
        self._wait_packets(3, self.settings.reset_timeout_s, what)
        time.sleep(max(0.0, held_until - time.monotonic()))
        self.feeder.write(0.0, 0.0, 0.0, 0.0, 0)


class SimLiveBackend(LiveBackend):
    """The built-in simulator in its own process, real time (or ``time_scale``), through the pad page."""

    def __init__(self, settings: EnvSettings) -> None:
        self._process: subprocess.Popen | None = None
        prefix = settings.prefix
        if settings.spawn_sim:
            if prefix == "acpmf_":  # never collide with a real game or another simulator
                prefix = unique_sim_prefix(self)
            self._process = spawn_simulator(settings, prefix)
        try:
            # The pad page first: the simulator attaches to it as its controller.
            self.feeder_pad = _core.PadFeeder(prefix)
            super().__init__(settings, prefix)
        except BaseException:
            self._stop_process()
            raise
        self.feeder = self.feeder_pad
        from ac_core.track import load_track

        self.track = load_track(settings.track)

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        if random_start:
            raise EnvConfigError("lap_start 'random' needs the in-process 'sim' backend")
        self._press(PAD_RESTART_BUTTON, "resetting the simulator")
        # Wait until the simulator applied the release too, then for a fresh packet.
        sequence = self.feeder.sequence
        deadline = time.monotonic() + self.settings.reset_timeout_s
        while self.feeder.applied[0] < sequence:
            if time.monotonic() > deadline:
                raise GameStoppedError("the simulator did not acknowledge the reset within the timeout")
            self._wait_packets(1, self.settings.reset_timeout_s, "waiting for the reset")
        self._snapshot()

    def _stop_process(self) -> None:
        stop_simulator(self._process)
        self._process = None

    def close(self) -> None:
        super().close()
        self._stop_process()


def spawn_simulator(settings: EnvSettings, prefix: str, timeout_s: float = 30.0, *, protocol: str = "pad",
                    time_scale: float | None = None) -> subprocess.Popen:
    """Start the built-in simulator for this environment (its car, track, weather, start, time scale)."""
    options: dict[str, Any] = {}
    if settings.backend == "sim-live":  # the built-in simulator drives env.car (a loaded AC car or the default)
        from ac_core.sim.ac_car import resolve_car

        folder = resolve_car(settings.car, settings.ac_root)
        if folder is not None:
            options["car"] = str(folder)
    return start_simulator(prefix=prefix, timeout_s=timeout_s, track=settings.track, weather=settings.weather,
                           lap_start="flying" if settings.lap_start == "random" else settings.lap_start,
                           time_scale=settings.time_scale if time_scale is None else time_scale,
                           protocol=protocol, **options)


def ac_install_candidates() -> list[Path]:
    home = Path.home()
    return [
        Path(r"C:\Program Files (x86)\Steam\steamapps\common\assettocorsa"),
        Path(r"C:\Program Files\Steam\steamapps\common\assettocorsa"),
        home / ".steam/steam/steamapps/common/assettocorsa",
        home / ".local/share/Steam/steamapps/common/assettocorsa",
    ]


def check_car(settings: EnvSettings, car_model: str) -> None:
    """EnvConfigError naming both cars and the fixes unless the game runs the configured car."""
    problem = car_problem(settings, car_model)
    if problem:
        raise EnvConfigError(problem)


def car_problem(settings: EnvSettings, car_model: str) -> str | None:
    """None when the game runs the configured car: its folder id, its ui name (ui_car.json, when the AC
    folder is known) or the seed's spelling (``FormulaAlpha2022`` for ``vrc_formula_alpha_2022``); else
    what is wrong and how to fix either side."""
    ui_name = None
    for root in [Path(settings.ac_root)] if settings.ac_root else ac_install_candidates():
        if (root / "content/cars" / car_model).is_dir():
            ui_name = AcInstall(root).car_ui_name(car_model)
            break
    if car_matches(settings.car, car_model, ui_name):
        return None
    return car_mismatch_message(settings.car, car_model, ui_name)


def find_fast_lane(track: str, layout: str, ac_root: str | None) -> Path:
    roots = [Path(ac_root)] if ac_root else ac_install_candidates()
    tried = []
    for root in roots:
        for candidate in ([root / "content/tracks" / track / layout / "ai/fast_lane.ai"] if layout else []) + [
            root / "content/tracks" / track / "ai/fast_lane.ai"
        ]:
            tried.append(str(candidate))
            if candidate.is_file():
                return candidate
    raise EnvConfigError(
        f"no fast_lane.ai for track {track!r}{f' layout {layout!r}' if layout else ''}; tried: {'; '.join(tried)}. "
        "Set env.ac_root to your Assetto Corsa folder, or env.track_file to a fast_lane.ai or TUMFTM .csv"
    )


def game_track(settings: EnvSettings, static: np.ndarray) -> Any:
    """The track model of the session the game runs, after checking that it runs the configured car
    and track (EnvConfigError naming both otherwise)."""
    summary = P.static_summary(static)
    car, track = summary["carModel"], summary["track"]
    problems = [car_problem(settings, car)]
    if settings.track_file is None and normalise(track) != normalise(settings.track):
        problems.append(f"AC runs the track {track!r}, but the config asks for env.track = {settings.track!r}: load "
                        f"{settings.track!r} in AC (or let env.ac_launch load it), or set env.track to {track!r}")
    if any(problems):
        raise EnvConfigError("; ".join(p for p in problems if p))
    from ac_core.track import load_track

    path = settings.track_file or str(find_fast_lane(track, summary["trackConfiguration"], settings.ac_root))
    return load_track(path)


class AcBackend(LiveBackend):
    """Assetto Corsa: its pages, a virtual joystick, and its own track model."""

    def __init__(self, settings: EnvSettings) -> None:
        try:
            super().__init__(settings, settings.prefix)
        except PageNotFoundError as e:
            raise GameStoppedError(str(e)) from None
        try:
            self.track = game_track(settings, self.static)
        except BaseException:
            self.close()
            raise
        try:
            self.feeder = make_feeder(settings.feeder, prefix=settings.prefix)
        except BaseException:
            self.close()
            raise
        self._restart_bits = 1 << (settings.restart_button - 1)

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        if random_start:
            raise EnvConfigError("lap_start 'random' needs the in-process 'sim' backend (AC cannot teleport)")
        # AC's "restart session" is bound to a controller button (docs/windows.md); press it, then wait
        # for AC_LIVE and an advancing physics clock.
        self._press(self._restart_bits, "restarting the AC session", self.settings.restart_hold_s)
        deadline = time.monotonic() + self.settings.reset_timeout_s
        while True:
            self._wait_packets(1, self.settings.reset_timeout_s, "waiting for the restarted session")
            self._snapshot()
            if int(self.graphics["status"][0]) == int(P.AcStatus.LIVE):
                break
            if time.monotonic() > deadline:
                raise GameStoppedError(
                    "AC did not return to AC_LIVE after the restart button: check that the button is bound to "
                    "'restart session' in AC's controls (docs/windows.md)"
                )
