"""``csp``: drive one car through CSP's Custom AI pages, in sync with its physics.

The observation, reward and episode logic read the same AC pages as every other backend (the
shared :class:`~ac_core.env.backends.live.LivePages`); CSP adds what a virtual joystick cannot:

* controls written straight into ``CarControls<N>`` (no joystick, no AC control bindings);
* resets by teleport: to the configured start (``standing``/``flying`` on the line or before it,
  ``pit_out`` to the pits) or to any point of the lap (``random``), the car at rest and braking;
* every physics packet as a frame through the poller's ring (as on every live backend): the newest is
  the observation, all of them feed the step's aggregates;
* steps paced by the car page's ``packet_id``:

  - ``csp_mode: pause`` — the simulation is paused while the agent thinks; a step resumes it for k
    physics ticks and pauses again (Linesight-style synchronous stepping). Faster than real time
    when ``time_scale`` > 1, and never late however slow the agent is.
  - ``csp_mode: realtime`` — the simulation runs freely at ``time_scale`` (CSP ≥ 0.2.8); a step ends
    k ticks after the previous one.

CSP acknowledges nothing, so each step reports the ticks that really ran (``info["timing"]``).
``csp_sim: true`` spawns the built-in simulator with ``--protocol csp``, which serves the same pages.
"""

from __future__ import annotations

import math
import subprocess
from typing import Any

import numpy as np

from ac_core import csp
from ac_core.env.backends.live import (
    GameStoppedError,
    LivePages,
    game_track,
    spawn_simulator,
)
from ac_core.env.settings import EnvSettings
from ac_core.shm import PageNotFoundError
from ac_core.sim.process import stop_simulator, unique_sim_prefix

# Teleport targets sit this far above the centre line's elevation so the car is never placed inside
# the road surface [INF: CSP's handling of the height is undocumented; AC drops the car onto the road].
TELEPORT_LIFT_M = 0.3
TELEPORT_TOLERANCE_M = 3.0
# How long a step waits for the poller to turn the step's last physics packet into a frame (it spins
# around the expected packet: normally well under a millisecond).
FRAME_CATCH_UP_S = 0.05
FLYING_START_DISTANCE_M = 300.0  # as the simulator's flying start: this far before the line (at rest here)


class CspBackend(LivePages):
    """One car under CSP Custom AI control: the game (default) or the built-in simulator."""

    def __init__(self, settings: EnvSettings) -> None:
        self._process: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None
        self.session: Any = None
        prefix = settings.prefix
        if settings.csp_sim:
            if prefix == csp.AC_DEFAULT_PREFIX:  # never collide with a real game or another simulator
                prefix = unique_sim_prefix(self)
            # The simulator runs at time scale 1; CSP's SimState scales it, as in the game.
            self._process = spawn_simulator(settings, prefix, protocol="csp", time_scale=1.0)
        try:
            try:
                super().__init__(settings, prefix)
            except PageNotFoundError as e:
                raise GameStoppedError(str(e)) from None
            if settings.csp_sim:
                from ac_core.track import load_track

                self.track = load_track(settings.track_file or settings.track)
            else:
                self.track = game_track(settings, self.static)
            self._open_session(settings, csp.csp_prefix_for(prefix))
        except BaseException:
            self.close()
            raise
        self._k = settings.ticks_per_step
        self._pause_mode = settings.csp_mode == "pause"

    def _open_session(self, settings: EnvSettings, csp_prefix: str) -> None:
        self.session = csp.CspSession(prefix=csp_prefix, car_index=settings.csp_car_index,
                                      sim_state_version=settings.csp_sim_state_version)
        if settings.csp_watchdog:
            from ac_core.csp import watchdog

            self._watchdog = watchdog.spawn(csp_prefix, settings.csp_car_index, settings.csp_sim_state_version)
        try:
            self.session.wait_for_car(settings.reset_timeout_s)
        except csp.CspError as e:
            raise GameStoppedError(str(e)) from None
        if settings.csp_sim_state_version == 1:
            self.session.time_scale = settings.time_scale
        if settings.csp_mode == "pause":
            self.session.paused = True

    # -- Backend ---------------------------------------------------------------------------------
    def apply(self, controls: np.ndarray) -> None:
        steer, throttle, brake = (float(v) for v in controls[0])
        self.session.write_drive(steer, throttle, brake)

    def advance(self) -> dict[str, Any]:
        timeout = self.settings.reset_timeout_s
        try:
            if self._pause_mode:
                packet_id, ticks, wall_s = self.session.step_paused(self._k, timeout)
            else:
                packet_id, ticks, wall_s = self.session.wait_ticks(self._k, timeout)
        except csp.CspError as e:
            raise GameStoppedError(str(e)) from None
        # The step's frames from the poller's ring; first let the poller see the physics packet the
        # step ended on (paused, no newer one comes; CSP's own counter is not physics.packetId).
        newest = self.pages.read_physics()
        if newest != 0:
            self._poller.wait_for_packet(newest - 1, FRAME_CATCH_UP_S)
        frames = self.take_frames()
        return {"packet_id": int(packet_id), "ticks": int(ticks), "ticks_requested": self._k,
                "step_wall_ms": 1000.0 * float(wall_s), "csp_mode": self.settings.csp_mode, **frames}

    def start_position(self, rng: np.random.Generator, random_start: bool) -> tuple[list[float], list[float]] | None:
        """World position and facing of the episode start; None = CSP's own pit teleport."""
        length = float(self.track.length)
        if random_start:
            s = float(rng.uniform(0.0, length))
        elif self.settings.lap_start == "pit_out":
            return None
        elif self.settings.lap_start == "flying":
            s = length - min(FLYING_START_DISTANCE_M, 0.9 * length)
        else:  # standing: on the line
            s = 0.0
        x, z, y = self.track.position(s)
        heading = float(self.track.heading(s))
        return [x, y + TELEPORT_LIFT_M, z], [math.sin(heading), 0.0, math.cos(heading)]

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        target = self.start_position(rng, random_start)
        timeout = self.settings.reset_timeout_s
        try:
            if target is None:
                self.session.teleport_to_pits(timeout)
            else:
                self.session.teleport(target[0], target[1], timeout, TELEPORT_TOLERANCE_M)
        except csp.CspError as e:
            raise GameStoppedError(str(e)) from None
        self._snapshot()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()  # safe controls, unpaused at time scale 1, detached
            self.session = None
        if self._watchdog is not None:
            try:
                self._watchdog.wait(timeout=2.0)  # it sees the detach and exits
            except subprocess.TimeoutExpired:
                stop_simulator(self._watchdog)
            self._watchdog = None
        if hasattr(self, "pages"):
            super().close()
        stop_simulator(self._process)
        self._process = None
