"""Top-down video of a car on its track (GIF or MP4), from recorded positions.

Used by ``ac-core record --video``, ``ac-core eval --video`` and the environment's ``render()``. The
frames come from what was recorded (``carCoordinates`` and speed), never from the simulator itself, so
any backend whose track model is known can be rendered. The view follows the car (``window_m``
across) with the last seconds of its path coloured by speed, and a minimap of the whole lap in a corner.

The car's drawn heading is its direction of travel (from successive positions), not the page's
``heading`` field, whose sign convention differs between AC versions and tools.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ac_core.errors import InputError

VIDEO_SUFFIXES = (".gif", ".mp4")
CAR_LENGTH_M, CAR_WIDTH_M = 5.6, 2.0  # a 2022 F1 car's footprint


class VideoError(InputError, ValueError):
    """A video that cannot be written; the message names the problem and the fix."""


@dataclass(frozen=True)
class VideoSettings:
    fps: float = 10.0  # frames per second of the video
    speedup: float = 1.0  # recorded seconds per video second
    window_m: float = 200.0  # width of the view that follows the car
    trail_s: float = 4.0  # seconds of path drawn behind the car
    size_px: int = 480  # the video is square
    max_frames: int = 6000  # refuse runaway renders (10 minutes at 10 fps)


def check_video_path(path: str | Path) -> Path:
    """The output path, or a VideoError saying which suffixes work and what MP4 needs."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise VideoError(f"video {out}: unknown format {suffix or '(no suffix)'!r}; use a .gif or .mp4 file name")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise VideoError(f"video {out}: MP4 needs ffmpeg on PATH (Debian: apt-get install ffmpeg); "
                         "or write a .gif, which needs nothing else")
    if not out.parent.exists():
        raise VideoError(f"video {out}: folder {out.parent} does not exist; create it first")
    return out


def frame_times(t: np.ndarray, settings: VideoSettings) -> np.ndarray:
    """Recording times of the video frames: every speedup/fps seconds across the recording."""
    if len(t) == 0:
        return np.zeros(0)
    step = settings.speedup / settings.fps
    times = np.arange(float(t[0]), float(t[-1]) + 1e-9, step)
    if len(times) > settings.max_frames:
        raise VideoError(f"the video would have {len(times)} frames (over {settings.max_frames}); "
                         "raise --video-speedup or lower --video-fps")
    return times


def travel_heading(x: np.ndarray, z: np.ndarray, min_step_m: float = 0.05) -> np.ndarray:
    """Direction of travel (radians in the x-z plane, atan2(dz, dx)) at each sample; held while the
    car stands still (steps shorter than min_step_m), and the first moving direction before that."""
    n = len(x)
    heading = np.zeros(n)
    if n < 2:
        return heading
    dx, dz = np.diff(x), np.diff(z)
    moving = np.hypot(dx, dz) >= min_step_m
    raw = np.arctan2(dz, dx)
    last = raw[moving][0] if moving.any() else 0.0
    for i in range(n - 1):
        if moving[i]:
            last = raw[i]
        heading[i + 1] = last
    heading[0] = heading[1]
    return heading


def _car_outline(x: float, z: float, heading: float) -> np.ndarray:
    """A car-shaped pentagon (pointed nose) at (x, z) facing heading, as [5, 2] (x, z)."""
    half_l, half_w = CAR_LENGTH_M / 2, CAR_WIDTH_M / 2
    local = np.array([[half_l, 0.0], [half_l * 0.4, half_w], [-half_l, half_w], [-half_l, -half_w],
                      [half_l * 0.4, -half_w]])
    c, s = math.cos(heading), math.sin(heading)
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([x, z])


def frame_text(title: str, elapsed_s: float, speed_kmh: float, gear: int | None = None) -> str:
    """The frame's caption: title, time, speed and (AC's coding: 0 R, 1 N, 2 first …) gear."""
    text = f"{title}\n" if title else ""
    text += f"t {elapsed_s:7.2f} s   {speed_kmh:5.1f} km/h"
    if gear is not None:
        text += "   gear " + ("R" if gear == 0 else "N" if gear == 1 else str(gear - 1))
    return text


class TopDownView:
    """The video's frame: a view ``window_m`` across that follows the car, its recent path coloured by
    speed, and a minimap of the lap. Built once per track; :meth:`draw` moves it, :meth:`rgb` returns the
    pixels. Used for the video files and for the environment's ``render()``.

    A figure of its own (matplotlib's Agg canvas, no pyplot), so rendering never changes the process's
    matplotlib backend and needs no display."""

    DPI = 80

    def __init__(self, track: Any, settings: VideoSettings | None = None) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from matplotlib.patches import Polygon

        from ac_core.plots import track_edges

        self.settings = settings or VideoSettings()
        size_in = self.settings.size_px / self.DPI
        left, right = track_edges(track, step=4.0)
        self.fig = Figure(figsize=(size_in, size_in), dpi=self.DPI)
        FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_facecolor("#3d7a3d")  # grass
        surface = np.vstack([left, right[::-1]])
        ax.add_patch(Polygon(surface, closed=True, facecolor="#5a5a5a", edgecolor="none"))
        for edge in (left, right):
            ax.plot(np.append(edge[:, 0], edge[0, 0]), np.append(edge[:, 1], edge[0, 1]), color="white", lw=1.0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        self.ax = ax
        self.trail = LineCollection([], cmap="plasma", norm=Normalize(0.0, 350.0), linewidths=2.5)
        ax.add_collection(self.trail)
        self.car = Polygon(_car_outline(0.0, 0.0, 0.0), closed=True, facecolor="#e10600", edgecolor="white", lw=0.8)
        ax.add_patch(self.car)
        self.label = ax.text(0.02, 0.98, "", transform=ax.transAxes, va="top", ha="left", color="white",
                             family="monospace", fontsize=9,
                             bbox={"facecolor": "black", "alpha": 0.55, "edgecolor": "none"})
        mini = self.fig.add_axes((0.70, 0.02, 0.28, 0.28))
        mini.plot(left[:, 0], left[:, 1], color="white", lw=0.6)
        mini.set_aspect("equal")
        mini.axis("off")
        mini.invert_yaxis()
        (self.dot,) = mini.plot([0.0], [0.0], "o", color="#e10600", ms=4)

    def draw(self, x: np.ndarray, z: np.ndarray, speed_kmh: np.ndarray, heading: float, text: str) -> None:
        """Show the car at the last of the points (``x``, ``z``: its recent path, oldest first, each with
        its speed) facing ``heading`` (atan2(dz, dx)), with ``text`` in the corner."""
        points = np.column_stack([x, z])
        if len(points) >= 2:
            self.trail.set_segments(np.stack([points[:-1], points[1:]], axis=1))
            self.trail.set_array(np.asarray(speed_kmh[:-1], dtype=np.float64))
        else:
            self.trail.set_segments([])
        cx, cz = float(x[-1]), float(z[-1])
        self.car.set_xy(_car_outline(cx, cz, heading))
        half = self.settings.window_m / 2
        self.ax.set_xlim(cx - half, cx + half)
        # +z points down the page seen from above (AC is right-handed, y up), as in the track map.
        self.ax.set_ylim(cz + half, cz - half)
        self.dot.set_data([cx], [cz])
        self.label.set_text(text)

    def rgb(self) -> np.ndarray:
        """The drawn frame as an RGB array [size_px, size_px, 3] of uint8."""
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()


def render_topdown(out: str | Path, track: Any, t: np.ndarray, x: np.ndarray, z: np.ndarray,
                   speed_kmh: np.ndarray, settings: VideoSettings | None = None, title: str = "",
                   gear: np.ndarray | None = None) -> int:
    """Writes the video to ``out`` (.gif or .mp4) and returns the number of frames.

    ``t`` are recording times in seconds (increasing), ``x``/``z`` AC world coordinates, ``speed_kmh``
    the speed per sample; ``gear`` (AC's coding: 0 R, 1 N, 2 first …) is shown when given.
    """
    settings = settings or VideoSettings()
    path = check_video_path(out)
    t, x, z, speed = (np.asarray(a, dtype=np.float64) for a in (t, x, z, speed_kmh))
    if not (len(t) == len(x) == len(z) == len(speed)):
        raise VideoError(f"video {path}: t, x, z and speed need the same length, got "
                         f"{len(t)}, {len(x)}, {len(z)}, {len(speed)}")
    if len(t) < 2:
        raise VideoError(f"video {path}: nothing to render ({len(t)} samples); record for longer")
    if np.any(np.diff(t) < 0):
        raise VideoError(f"video {path}: sample times go backwards; pass them in recording order")
    times = frame_times(t, settings)
    heading = travel_heading(x, z)

    from matplotlib import animation

    view = TopDownView(track, settings)
    if path.suffix.lower() == ".gif":
        writer: Any = animation.PillowWriter(fps=settings.fps)
    else:
        writer = animation.FFMpegWriter(fps=settings.fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    with writer.saving(view.fig, str(path), dpi=view.DPI):
        for now in times:
            k = int(np.clip(np.searchsorted(t, now, side="right") - 1, 0, len(t) - 1))
            k0 = int(np.searchsorted(t, now - settings.trail_s, side="left"))
            view.draw(x[k0:k + 1], z[k0:k + 1], speed[k0:k + 1], heading[k],
                      frame_text(title, now - t[0], speed[k], None if gear is None else int(gear[k])))
            writer.grab_frame()
    return len(times)
