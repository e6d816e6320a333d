"""A recording of AC's pages (``ac-core record``) replayed as a backend: the racing core's observation,
reward and episode logic run over frames someone else drove, a step at a time.

The car is not driven from here: ``apply`` is ignored, ``advance`` moves to the first recorded frame one
step later on the game's own clock (physics ``packetId``, one per 333 Hz physics tick: pauses, a slow
recorder and time scale leave it unchanged) and aggregates the frames in between as a live backend does.
:meth:`RecordingBackend.driver_controls` says what the recorded driver did over the next step. It is
not an ``env.backend`` (an env whose actions do nothing would mislead); :mod:`ac_core.train.recordings`
uses it to turn recordings into demonstrations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ac_core import pages as P
from ac_core.env import step_frames
from ac_core.env.backends.base import Backend
from ac_core.env.settings import PHYSICS_HZ, EnvSettings
from ac_core.errors import InputError

# The page fields the racing core reads (observation, geometry, reward, episode ends) and the clock.
NEEDED_FIELDS: dict[str, tuple[str, ...]] = {
    "physics": ("packetId", "speedKmh", "gas", "brake", "steerAngle", "gear", "rpms", "localVelocity", "accG",
                "localAngularVel", "heading", "numberOfTyresOut", "carDamage", "wheelSlip"),
    "graphics": ("carCoordinates", "completedLaps", "iLastTime"),
    "static": ("maxRpm",),
}
# Read when present: the lap position the info reports, the lap clock.
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {"graphics": ("normalizedCarPosition", "iCurrentTime")}
# A car that moves further than this between two frames beyond what its speed explains was moved by the
# game (a restart, back to the pits): a new stretch of driving starts there.
TELEPORT_MARGIN_M = 10.0


class RecordingFormatError(InputError, ValueError):
    """A recording that cannot be replayed (fields missing, no frames); the message names the fix."""


def _columns_of(name: str, shape: tuple[int, ...]) -> list[str]:
    from ac_core.telemetry_files import field_columns

    return field_columns(name, int(np.prod(shape)) if shape else 1)


@dataclass
class RecordedFrames:
    """A recording's frames as page arrays: ``physics`` and ``graphics`` [F] (AC page dtypes, the fields
    not recorded left zero), ``static`` 0-d; frames whose packetId did not move are dropped."""

    physics: np.ndarray
    graphics: np.ndarray
    static: np.ndarray
    source: str

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray], source: str) -> RecordedFrames:
        missing = []
        for kind, names in NEEDED_FIELDS.items():
            dtype = P.dtype_of(kind)
            missing += [f"{kind}.{n}" for n in names if any(c not in columns for c in _columns_of(n, dtype[n].shape))]
        if missing:
            raise RecordingFormatError(
                f"{source}: the recording lacks {', '.join(missing)}, which the env's observation needs; record "
                "with `ac-core record`'s default --fields (they include every field a demonstration needs)")
        n = len(columns["packetId"])
        pages = {kind: np.zeros(n if kind != "static" else (), dtype=P.dtype_of(kind)) for kind in NEEDED_FIELDS}
        for kind in NEEDED_FIELDS:
            dtype = P.dtype_of(kind)
            for name in NEEDED_FIELDS[kind] + OPTIONAL_FIELDS.get(kind, ()):
                names = _columns_of(name, dtype[name].shape)
                if not all(c in columns for c in names):
                    continue
                values = np.stack([columns[c] for c in names], axis=-1)
                if kind == "static":  # constant in a session: its first recorded value
                    finite = values[np.isfinite(values).all(axis=1)]
                    pages[kind][name] = finite[0].reshape(dtype[name].shape) if len(finite) else 0
                    continue
                values = np.nan_to_num(values, nan=0.0)
                pages[kind][name] = values.reshape((n, *dtype[name].shape)).astype(dtype[name].base)
        packet = pages["physics"]["packetId"].astype(np.int64)
        fresh = np.ones(n, dtype=bool)
        fresh[1:] = packet[1:] != packet[:-1]  # a fixed-rate recorder repeats a paused game's frame
        if not fresh.any():
            raise RecordingFormatError(f"{source}: the recording has no frames; record while the game runs")
        return cls(pages["physics"][fresh], pages["graphics"][fresh], pages["static"], source)

    @classmethod
    def load(cls, path: str | Path) -> RecordedFrames:
        from ac_core.telemetry_files import read_recording

        try:
            columns = read_recording(path)
        except (FileNotFoundError, ValueError) as e:
            raise RecordingFormatError(str(e)) from None
        return cls.from_columns(columns, str(path))

    def __len__(self) -> int:
        return len(self.physics)

    def stretches(self) -> list[tuple[int, int]]:
        """[start, end) frame ranges of continuous driving: a new one where the physics clock goes back
        (a new session) or the car jumps further than its speed explains (a restart, a teleport)."""
        packet = self.physics["packetId"].astype(np.int64)
        xz = self.graphics["carCoordinates"][:, (0, 2)].astype(np.float64)
        gap_s = np.diff(packet) / PHYSICS_HZ
        moved = np.hypot(*np.diff(xz, axis=0).T)
        speed = np.maximum(self.physics["speedKmh"][1:], self.physics["speedKmh"][:-1]) / 3.6
        cut = (gap_s <= 0) | (moved > speed * np.maximum(gap_s, 0) * 1.5 + TELEPORT_MARGIN_M)
        edges = [0, *(np.flatnonzero(cut) + 1).tolist(), len(packet)]
        return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


class RecordingBackend(Backend):
    """One car, its pages taken from ``frames`` (see the module docstring). ``start_at(frame, end)`` sets
    where the next ``reset_cars`` puts it and where its stretch of driving ends."""

    def __init__(self, settings: EnvSettings, frames: RecordedFrames, track: Any = None) -> None:
        from ac_core.track import load_track

        self.settings, self.frames, self.n = settings, frames, 1
        self.track = track if track is not None else load_track(settings.track)
        self.static = frames.static
        self._ticks = settings.ticks_per_step
        self._packet = frames.physics["packetId"].astype(np.int64)
        self._start, self._end = 0, len(frames)
        self.frame = 0
        self._show(0)
        self._aggregates = step_frames.from_pages(self.physics, settings.off_track_tyres)

    def _show(self, i: int) -> None:
        self.frame = i
        self.physics = self.frames.physics[i:i + 1]
        self.graphics = self.frames.graphics[i:i + 1]

    def start_at(self, frame: int, end: int) -> None:
        self._start, self._end = frame, end

    def step_end(self) -> int | None:
        """The frame one step after the current one (the first at least ``ticks_per_step`` physics ticks
        later), or None when the stretch ends before it."""
        ahead = self._packet[self.frame:self._end]  # rising within a stretch (stretches() cuts where it is not)
        j = self.frame + int(np.searchsorted(ahead, ahead[0] + self._ticks, side="left"))
        return j if j < self._end else None

    def driver_controls(self) -> np.ndarray | None:
        """What the recorded driver did over the next step, as the env's (steer, throttle, brake): the
        steering the car reached at its end (a discrete row's steering is a target), the pedals' mean
        over its frames (a row holds them for the step); None at the end of the stretch."""
        j = self.step_end()
        if j is None:
            return None
        p = self.frames.physics[self.frame + 1:j + 1]
        return np.array([p["steerAngle"][-1], p["gas"].mean(), p["brake"].mean()], dtype=np.float64)

    def apply(self, controls: np.ndarray) -> None:
        """The recording drove the car; the env's controls change nothing."""

    def advance(self) -> dict[str, Any]:
        j = self.step_end()
        if j is None:
            raise IndexError(f"{self.frames.source}: no frame one step after frame {self.frame}; "
                             "check step_end() before stepping")
        frames = self.frames.physics[self.frame + 1:j + 1]
        self._aggregates = step_frames.from_frames(frames, self.settings.off_track_tyres)
        self._show(j)
        return {"frames": len(frames), "recorded_frame": j}

    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        self._show(self._start)
        self._aggregates = step_frames.from_pages(self.physics, self.settings.off_track_tyres)

    def step_aggregates(self, off_track_tyres: int) -> dict[str, np.ndarray]:
        return self._aggregates
