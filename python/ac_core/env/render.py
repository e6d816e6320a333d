"""Rendering for the environments: ``render_mode="rgb_array"`` returns the videos' top-down frame
(:class:`ac_core.video.TopDownView`: the view follows the car, its last seconds coloured by speed, a
minimap of the lap); ``"human"`` shows the same frame in a window.

``render_mode`` is a Gymnasium constructor argument, not an environment setting: it changes what
``render()`` does, never the simulation. Positions are recorded only when a render mode is set, so an
env without one pays nothing.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from ac_core.env.core import EnvUsageError, RacingCore
from ac_core.errors import InputError
from ac_core.video import TopDownView, VideoSettings, frame_text, travel_heading

RENDER_MODES = ("rgb_array", "human")


class DisplayError(InputError, RuntimeError):
    """``render_mode="human"`` where no window can open (no display, or no interactive matplotlib backend)."""


def check_render_mode(render_mode: Any, modes: tuple[str, ...], where: str) -> str | None:
    if render_mode is not None and render_mode not in modes:
        valid = ", ".join(repr(m) for m in (None, *modes))
        raise EnvUsageError(f"{where}: render_mode = {render_mode!r} is not valid; use one of: {valid}")
    return render_mode


def has_display() -> bool:
    """Whether a window can be shown: Windows and macOS always; elsewhere an X11 or Wayland display."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def check_display(where: str) -> None:
    if not has_display():
        raise DisplayError(f"{where}: render_mode='human' needs a display, and neither DISPLAY nor WAYLAND_DISPLAY "
                           "is set; use render_mode='rgb_array' (e.g. with gymnasium.wrappers.RecordVideo) here")


class Window:
    """A matplotlib window showing frames at up to ``fps`` (pyplot's interactive backend)."""

    def __init__(self, title: str, fps: float) -> None:
        import matplotlib
        import matplotlib.pyplot as plt
        from matplotlib.backends import BackendFilter, backend_registry

        backend = matplotlib.get_backend().lower()
        if backend not in backend_registry.list_builtin(BackendFilter.INTERACTIVE):
            raise DisplayError(f"render_mode='human': matplotlib's backend is {backend!r}, which cannot open a "
                               "window; install Tk (python3-tk) or PyQt6, or set MPLBACKEND to an interactive "
                               "backend (e.g. TkAgg), or use render_mode='rgb_array'")
        self._plt, self._pause = plt, 1.0 / fps
        self.fig = plt.figure(title)
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.axis("off")
        self._ax, self._image = ax, None

    def show(self, frame: np.ndarray) -> None:
        if self._image is None:
            self._image = self._ax.imshow(frame)
            self._plt.show(block=False)
        else:
            self._image.set_data(frame)
        self._plt.pause(self._pause)  # draws, and lets the window handle its events

    def close(self) -> None:
        self._plt.close(self.fig)


class CarFrames:
    """The last ``trail_s`` seconds of each car's positions and speeds (a ring of steps shared by all
    cars, each car's own count since its episode started), drawn as top-down frames on request."""

    def __init__(self, core: RacingCore, settings: VideoSettings | None = None) -> None:
        self.core = core
        self.settings = settings or VideoSettings()
        self.length = max(2, math.ceil(self.settings.trail_s * core.settings.control_hz) + 1)
        self.samples = np.zeros((self.length, core.n, 3))  # x, z, speed (km/h)
        self.count = np.zeros(core.n, dtype=np.int64)  # samples of each car's current episode in the ring
        self.head = 0  # the ring's latest slot
        self._view: TopDownView | None = None  # the matplotlib figure, built at the first frame

    def _current(self) -> np.ndarray:
        coords = self.core.backend.graphics["carCoordinates"]
        return np.column_stack([coords[:, 0], coords[:, 2], self.core.backend.physics["speedKmh"]])

    def record(self) -> None:
        """After a step of every car: each car's new position."""
        self.head = (self.head + 1) % self.length
        self.samples[self.head] = self._current()
        self.count = np.minimum(self.count + 1, self.length)

    def restart(self, idx: np.ndarray) -> None:
        """After ``idx`` were reset: their path starts at their current position."""
        self.samples[self.head, idx] = self._current()[idx]
        self.count[idx] = 1

    def _start_heading(self, i: int) -> float:
        """A standing car's drawn heading: the track's direction where it stands (as the video draws the
        direction of travel, never the page's heading field)."""
        track, s = self.core.backend.track, float(self.core.geometry.s[i])
        if not math.isfinite(s):
            return 0.0
        x0, z0, _ = track.position(s)
        x1, z1, _ = track.position(track.wrap(s + 2.0))
        return math.atan2(z1 - z0, x1 - x0)

    def frame(self, i: int) -> np.ndarray:
        """Car ``i``'s frame as RGB [size_px, size_px, 3] uint8."""
        if self._view is None:
            self._view = TopDownView(self.core.backend.track, self.settings)
        n = int(max(self.count[i], 1))
        path = self.samples[(self.head - np.arange(n)[::-1]) % self.length, i]
        x, z, speed = path[:, 0], path[:, 1], path[:, 2]
        moved = n >= 2 and np.hypot(np.diff(x), np.diff(z)).max() >= 0.05
        heading = float(travel_heading(x, z)[-1]) if moved else self._start_heading(i)
        p = self.core.backend.physics
        title = f"car {i}" if self.core.n > 1 else ""
        self._view.draw(x, z, speed, heading,
                        frame_text(title, float(self.core.tracker.elapsed[i]), float(speed[-1]), int(p["gear"][i])))
        return self._view.rgb()

    def close(self) -> None:
        self._view = None
