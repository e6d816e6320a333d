"""Keep a launched game running under a live backend: find a crash or a hang, relaunch, carry on.

:class:`SupervisedBackend` wraps the ``ac`` or ``csp`` backend when ``env.ac_launch`` is on. It starts
the session (:class:`~ac_core.game.session.GameSession`), builds the inner backend on its pages, and
tells the inner backend how to see the game process die (``process_gone``: a crash is noticed within
a wait slice, not after the no-packet timeout).

When a step or a reset raises :class:`GameStoppedError` — the physics packetId frozen while the game
is not paused (a hang, after ``env.reset_timeout_s``), the game process gone (a crash), or the pages
removed — it stops the game (a hung one is killed), relaunches it, waits for live pages with the same
car and track, and rebuilds the inner backend. Up to ``env.relaunch_tries`` relaunches in a row may
fail; then :class:`GameSessionLostError` ends the run (the trainer saves its checkpoint on any
exception, run_directory.finish_run).

A step interrupted this way returns ``{"session_relaunched": True, ...}`` from :meth:`advance`; the
environment turns that step into a dropped episode (truncated, reward 0, the last observation,
``info["episode_dropped"]``). Every step's timing also carries ``relaunches`` and ``dropped_episodes``
(the totals so far), which the training loop logs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ac_core.env.backends.base import Backend
from ac_core.env.backends.live import GameStoppedError
from ac_core.env.settings import EnvSettings
from ac_core.errors import AcCoreError
from ac_core.game.session import GameLaunchError, GameSession, LaunchOptions
from ac_core.shm import PageNotFoundError, PageTornError, SessionGoneError, SessionStalledError

# What a dead or hung game raises from the inner backend's calls.
SESSION_FAULTS = (GameStoppedError, SessionGoneError, SessionStalledError, PageNotFoundError, PageTornError)


class GameSessionLostError(AcCoreError):
    """The game kept crashing or hanging: ``relaunch_tries`` relaunches in a row failed."""


class SupervisedBackend(Backend):
    """A live backend on a game this process launched, relaunched after a crash or a hang."""

    n = 1

    def __init__(self, settings: EnvSettings, make_inner: Callable[[EnvSettings], Backend],
                 session: GameSession | None = None) -> None:
        self.settings = settings
        self._make_inner = make_inner
        self.session = session if session is not None else GameSession(LaunchOptions.from_settings(settings))
        self.inner: Backend | None = None
        self.relaunches = 0
        self.dropped_episodes = 0
        self.last_fault: str | None = None
        try:
            self.session.launch()
            self._attach()
        except BaseException:
            self.close()
            raise

    # -- the pages and track of the current session ------------------------------------------------
    @property
    def physics(self) -> np.ndarray:  # type: ignore[override]
        return self.inner.physics

    @property
    def graphics(self) -> np.ndarray:  # type: ignore[override]
        return self.inner.graphics

    @property
    def static(self) -> np.ndarray:  # type: ignore[override]
        return self.inner.static

    @property
    def track(self) -> Any:  # type: ignore[override]
        return self.inner.track

    def _process_gone(self) -> str | None:
        code = self.session.exit_code()
        return None if code is None else f"the game process exited with code {code}"

    def _attach(self) -> None:
        self.inner = self._make_inner(self.settings)
        if hasattr(self.inner, "process_gone"):
            self.inner.process_gone = self._process_gone

    # -- recovery ---------------------------------------------------------------------------------
    def _recover(self, fault: BaseException) -> None:
        """Stop the dead or hung game, relaunch it and attach a new inner backend (or give up)."""
        reason = str(fault).split(";")[0]
        self.last_fault = reason
        if self.inner is not None:
            with contextlib.suppress(Exception):  # pages of a dead game: closing is best effort
                self.inner.close()
            self.inner = None
        last_error: BaseException = fault
        for attempt in range(1, self.settings.relaunch_tries + 1):
            try:
                self.session.relaunch()
                self._attach()
            except (GameLaunchError, *SESSION_FAULTS) as e:
                last_error = e
                self.session.stop()
                if self.inner is not None:
                    self.inner.close()
                    self.inner = None
                time.sleep(min(5.0, 0.5 * attempt))
                continue
            self.relaunches += 1
            return
        tries = self.settings.relaunch_tries
        if tries == 0:
            raise GameSessionLostError(
                f"the game stopped ({reason}) and env.relaunch_tries is 0: restart it, then continue with "
                "`ac-core train --resume`, or set env.relaunch_tries above 0 to relaunch it automatically"
            ) from None
        raise GameSessionLostError(
            f"the game stopped ({reason}) and {tries} relaunch{'es' if tries != 1 else ''} in a row failed "
            f"(last: {str(last_error).split(';')[0]}); fix the game (`ac-core smoke-test`), then continue with "
            "`ac-core train --resume`, or raise env.relaunch_tries"
        ) from None

    def _counts(self) -> dict[str, Any]:
        return {"relaunches": self.relaunches, "dropped_episodes": self.dropped_episodes}

    # -- Backend ---------------------------------------------------------------------------------
    def apply(self, controls: np.ndarray) -> None:
        try:
            self.inner.apply(controls)
        except SESSION_FAULTS as e:  # the next advance() sees the same fault and recovers
            self.last_fault = str(e)

    def advance(self) -> dict[str, Any]:
        try:
            return {**self.inner.advance(), **self._counts()}
        except SESSION_FAULTS as e:
            self._recover(e)
        self.dropped_episodes += 1
        return {"session_relaunched": True, "fault": self.last_fault, **self._counts()}

    def step_aggregates(self, off_track_tyres: int) -> dict[str, np.ndarray]:
        # The inner backend's aggregates over every frame of the step (after a relaunch: its fresh pages').
        return self.inner.step_aggregates(off_track_tyres)

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        try:
            self.inner.reset_cars(idx, rng, random_start)
            return
        except SESSION_FAULTS as e:
            self._recover(e)
        self.inner.reset_cars(idx, rng, random_start)  # a fault again right after a relaunch is not retried

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
            self.inner = None
        self.session.close()
