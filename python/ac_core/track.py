"""Track model of the built-in AC stand-in: load tracks, query geometry, batched per-step geometry.

Conventions (the same as ``cpp/include/ac_core/track.hpp``; see ``docs/track.md``):

* World frame as AC: y is up, the horizontal plane is x/z (taken as right-handed).
* Heading ψ (yaw about +y): forward = (x, z) = (sin ψ, cos ψ); ψ grows when turning left.
* Positive lateral offset = left of the driving direction; positive curvature = left turn.
* Car frame: (forward, left). Ray angles and heading errors are positive to the left.
* Arc length s ∈ [0, length): s = 0 is the start/finish line.

The heavy work runs in C++ (``ac_core._core``); this module adds argument checks, NumPy
conveniences and the preallocated buffers for :class:`BatchGeometry`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ac_core import _core
from ac_core.errors import InputError

Surface = _core.Surface
LookaheadLine = _core.LookaheadLine
TrackFileError = _core.TrackFileError
Projection = _core.Projection
TrackSample = _core.TrackSample

__all__ = [
    "BatchGeometry",
    "GeometryBuffers",
    "LookaheadLine",
    "Projection",
    "Surface",
    "Track",
    "TrackFileError",
    "TrackSample",
    "UnknownTrackError",
    "builtin_track_names",
    "default_lookahead",
    "default_ray_angles",
    "load_track",
    "track_from_vertices",
    "write_fast_lane_ai",
]

_SAMPLE_COLUMNS = (
    "s",
    "x",
    "z",
    "y",
    "heading",
    "curvature",
    "width_left",
    "width_right",
    "grade",
    "runoff_left",
    "runoff_right",
)

_LINE_NAMES = {
    "centre": LookaheadLine.CENTRE,
    "center": LookaheadLine.CENTRE,
    "left": LookaheadLine.LEFT_EDGE,
    "right": LookaheadLine.RIGHT_EDGE,
}


class UnknownTrackError(InputError, FileNotFoundError):
    """A track that is neither a built-in name nor an existing file (``--track``, ``env.track``)."""


def builtin_track_names() -> list[str]:
    """Names accepted by :func:`load_track` without a file (``["spa"]``)."""
    return list(_core.builtin_track_names())


def default_lookahead(count: int = 40, max_distance: float = 400.0) -> np.ndarray:
    """``count`` look-ahead distances spread evenly up to ``max_distance`` metres (10, 20, … 400)."""
    if count < 1 or not max_distance > 0:
        raise ValueError(f"need count >= 1 and max_distance > 0, got {count}, {max_distance}")
    return np.linspace(max_distance / count, max_distance, count)


def default_ray_angles(count: int = 15, spread_deg: float = 180.0) -> np.ndarray:
    """``count`` ray angles (rad) evenly over ``spread_deg`` centred on straight ahead, + = left."""
    if count < 1:
        raise ValueError(f"need at least one ray, got {count}")
    if count == 1:
        return np.zeros(1)
    half = math.radians(spread_deg) / 2.0
    return np.linspace(half, -half, count)


def _f64(a: object, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


class Track:
    """A closed track: centre line with widths, elevation and run-off; see the module docstring."""

    def __init__(self, core: _core.Track) -> None:
        self._core = core

    # -- metadata ---------------------------------------------------------------------------
    @property
    def core(self) -> _core.Track:
        """The C++ object (pass it to other C++-backed components, e.g. the simulator)."""
        return self._core

    @property
    def name(self) -> str:
        return self._core.name

    @property
    def length(self) -> float:
        """Lap length in metres (horizontal arc length of the centre line)."""
        return self._core.length

    @property
    def sector_starts(self) -> tuple[float, float, float]:
        """Lap fractions where sectors 1, 2 and 3 begin (the first is 0)."""
        s2, s3 = self._core.sector_starts
        return (0.0, float(s2), float(s3))

    @property
    def sectors(self) -> tuple[tuple[float, float], ...]:
        """Three (start, end) lap fractions."""
        a = self.sector_starts
        return ((a[0], a[1]), (a[1], a[2]), (a[2], 1.0))

    @property
    def pit_exit(self) -> tuple[float, float]:
        """(s, lateral offset) where the pit lane rejoins the track."""
        return (self._core.pit_exit_s, self._core.pit_exit_lateral)

    @property
    def sample_spacing(self) -> float:
        return self._core.sample_spacing

    def sector_at(self, s: float) -> int:
        return self._core.sector_at(s)

    def wrap(self, s: float) -> float:
        return self._core.wrap(s)

    def delta_s(self, s_from: float, s_to: float) -> float:
        """Shortest signed distance along the lap from ``s_from`` to ``s_to``."""
        return self._core.delta_s(s_from, s_to)

    def total_turning(self) -> float:
        """Signed heading change over one lap: 2π counter-clockwise, −2π clockwise."""
        return self._core.total_turning()

    def samples(self) -> np.ndarray:
        """(n, 3) x, z, y of the fine samples (s = i * sample_spacing)."""
        return self._core.samples()

    # -- scalar queries ----------------------------------------------------------------------
    def at(self, s: float) -> TrackSample:
        return self._core.at(s)

    def elevation(self, s: float) -> float:
        return self._core.elevation(s)

    def grade(self, s: float) -> float:
        return self._core.grade(s)

    def curvature(self, s: float) -> float:
        return self._core.curvature(s)

    def heading(self, s: float) -> float:
        return self._core.heading(s)

    def position(self, s: float, lateral: float = 0.0) -> tuple[float, float, float]:
        """World (x, z, y) at ``s`` and ``lateral`` (+ = left); y is the centre-line elevation."""
        return self._core.position(s, lateral)

    def project(self, x: float, z: float, s_hint: float | None = None) -> Projection:
        """Closest centre-line point; ``s_hint`` (last known s) makes it a fast local search."""
        return self._core.project(x, z, math.nan if s_hint is None else s_hint)

    def surface_at(self, s: float, lateral: float) -> Surface:
        return self._core.surface_at(s, lateral)

    def grip(self, surface: Surface) -> float:
        return self._core.grip(surface)

    def ray_to_edge(
        self, x: float, z: float, ray_heading: float, max_range: float, s_hint: float | None = None
    ) -> float:
        """Distance along ``ray_heading`` (a world ψ) to the first track edge; 0 when off the track."""
        return self._core.ray_to_edge(x, z, ray_heading, max_range, math.nan if s_hint is None else s_hint)

    # -- vectorised queries (loops in C++) -----------------------------------------------------
    def sample_many(self, s: np.ndarray) -> dict[str, np.ndarray]:
        """Column arrays (s, x, z, y, heading, curvature, widths, grade, run-off) at each ``s``."""
        s_arr = _f64(s, "s").ravel()
        out = np.empty((s_arr.size, len(_SAMPLE_COLUMNS)))
        self._core.sample_many(s_arr, out)
        return {name: out[:, i] for i, name in enumerate(_SAMPLE_COLUMNS)}

    def project_many(
        self, x: np.ndarray, z: np.ndarray, s_hint: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(s, lateral, track heading) for each point; NaN hints mean "unknown"."""
        xa, za = _f64(x, "x").ravel(), _f64(z, "z").ravel()
        if xa.shape != za.shape:
            raise ValueError(f"x and z differ in size: {xa.size} vs {za.size}")
        hint = None if s_hint is None else np.ascontiguousarray(s_hint, dtype=np.float64).ravel()
        s_out, lat_out, head_out = np.empty_like(xa), np.empty_like(xa), np.empty_like(xa)
        self._core.project_many(xa, za, hint, s_out, lat_out, head_out)
        return s_out, lat_out, head_out

    def surface_many(self, s: np.ndarray, lateral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(surface class as int8 Surface values, grip multiplier) for each (s, lateral)."""
        sa, la = _f64(s, "s").ravel(), _f64(lateral, "lateral").ravel()
        if sa.shape != la.shape:
            raise ValueError(f"s and lateral differ in size: {sa.size} vs {la.size}")
        cls, grip = np.empty_like(sa), np.empty_like(sa)
        self._core.surface_many(sa, la, cls, grip)
        return cls.astype(np.int8), grip

    def geometry(
        self,
        lookahead: Sequence[float] | np.ndarray | None = None,
        lines: Sequence[str] = ("centre",),
        ray_angles: Sequence[float] | np.ndarray | None = None,
        ray_range: float = 200.0,
    ) -> BatchGeometry:
        """A :class:`BatchGeometry` for this track (defaults: 40 points to 400 m, 15 rays over 180°)."""
        return BatchGeometry(self, lookahead, lines, ray_angles, ray_range)

    def __repr__(self) -> str:
        return f"Track(name={self.name!r}, length={self.length:.1f} m)"


@dataclass
class GeometryBuffers:
    """Preallocated outputs of :meth:`BatchGeometry.compute` for ``n`` cars."""

    s: np.ndarray  # (n,)
    lateral: np.ndarray  # (n,)
    heading_error: np.ndarray  # (n,)
    curvature: np.ndarray  # (n,)
    lookahead_points: np.ndarray  # (n, L, M, 2): (forward, left) in the car frame
    lookahead_curvature: np.ndarray  # (n, M)
    ray_distance: np.ndarray  # (n, R)


class BatchGeometry:
    """Per-step geometry for N cars at once, written into preallocated arrays (no allocation per call).

    For each car: s, lateral offset, heading error (car − track, + = car points left), curvature at s,
    L×M look-ahead points (centre line and/or edges at the given distances along the track, in the car
    frame), curvature at the look-ahead distances, and R ray distances to the track edges.
    """

    def __init__(
        self,
        track: Track,
        lookahead: Sequence[float] | np.ndarray | None = None,
        lines: Sequence[str] = ("centre",),
        ray_angles: Sequence[float] | np.ndarray | None = None,
        ray_range: float = 200.0,
    ) -> None:
        self.track = track
        self.lookahead = default_lookahead() if lookahead is None else _f64(lookahead, "lookahead").ravel()
        self.ray_angles = default_ray_angles() if ray_angles is None else _f64(ray_angles, "ray_angles").ravel()
        unknown = [name for name in lines if name not in _LINE_NAMES]
        if unknown or not lines:
            raise ValueError(f"look-ahead lines must be some of 'centre', 'left', 'right'; got {list(lines)}")
        self.lines = tuple(lines)
        if not ray_range > 0:
            raise ValueError(f"ray_range must be > 0 m, got {ray_range}")
        self.ray_range = float(ray_range)
        self._core = _core.BatchGeometry(
            track.core,
            self.lookahead.tolist(),
            [_LINE_NAMES[name] for name in self.lines],
            self.ray_angles.tolist(),
            self.ray_range,
        )

    def allocate(self, n: int) -> GeometryBuffers:
        m, lines, r = self.lookahead.size, len(self.lines), self.ray_angles.size
        return GeometryBuffers(
            s=np.zeros(n),
            lateral=np.zeros(n),
            heading_error=np.zeros(n),
            curvature=np.zeros(n),
            lookahead_points=np.zeros((n, lines, m, 2)),
            lookahead_curvature=np.zeros((n, m)),
            ray_distance=np.zeros((n, r)),
        )

    def compute(
        self,
        x: np.ndarray,
        z: np.ndarray,
        heading: np.ndarray,
        out: GeometryBuffers,
        s_hint: np.ndarray | None = None,
    ) -> GeometryBuffers:
        """Fill ``out`` for cars at (x, z) with heading ψ. ``s_hint`` (NaN = unknown) may be ``out.s``
        itself for an in-place warm start. Inputs must be float64 arrays of length n."""
        self._core.compute(
            x,
            z,
            heading,
            s_hint,
            out.s,
            out.lateral,
            out.heading_error,
            out.curvature,
            out.lookahead_points,
            out.lookahead_curvature,
            out.ray_distance,
        )
        return out


def track_from_vertices(
    vertices: np.ndarray,
    name: str = "track",
    sector_starts: tuple[float, float] = (1.0 / 3.0, 2.0 / 3.0),
    pit_exit: tuple[float, float] = (0.0, 0.0),
    sample_spacing: float = 1.0,
    kerb_width: float = 1.0,
    default_runoff: float = 15.0,
    grip: Sequence[float] | None = None,
) -> Track:
    """A track from an (n, 5) or (n, 7) array: x, z, y, width_left, width_right[, runoff_left,
    runoff_right] (the loop closes implicitly; NaN run-off means ``default_runoff``). ``grip`` is the
    multiplier per :class:`Surface` (track, kerb, run-off, barrier)."""
    table = np.ascontiguousarray(vertices, dtype=np.float64)
    kwargs = {} if grip is None else {"grip": [float(g) for g in grip]}
    return Track(
        _core.Track(
            table,
            name=name,
            sector_starts=list(sector_starts),
            pit_exit_s=pit_exit[0],
            pit_exit_lateral=pit_exit[1],
            sample_spacing=sample_spacing,
            kerb_width=kerb_width,
            default_runoff=default_runoff,
            **kwargs,
        )
    )


def load_track(name_or_path: str | os.PathLike[str], sample_spacing: float = 1.0) -> Track:
    """A built-in track by name (``"spa"``), or a file: AC ``fast_lane.ai`` (by ``.ai`` extension or its
    version-7 header) or a TUMFTM centre-line ``.csv``. Raises :class:`TrackFileError` (a ValueError)
    for a malformed or degenerate file, naming the file and the byte offset, line or problem, and
    :class:`UnknownTrackError` (a FileNotFoundError) for a name that is neither, listing the valid names."""
    key = os.fspath(name_or_path)
    if key in builtin_track_names():
        return Track(_core.load_track(key, sample_spacing))
    path = Path(key)
    if not path.exists():
        raise UnknownTrackError(
            f"unknown track {key!r}: not a built-in track (valid names: {', '.join(builtin_track_names())}) and "
            "no such file; pass a built-in name or a path to an AC fast_lane.ai or a TUMFTM .csv"
        )
    if path.is_dir():
        candidate = path / "ai" / "fast_lane.ai"
        if not candidate.exists():
            raise TrackFileError(f"{key}: a folder without ai/fast_lane.ai; pass the AC track folder or the file")
        key = os.fspath(candidate)
    return Track(_core.load_track(key, sample_spacing))


def write_fast_lane_ai(track: Track, path: str | os.PathLike[str], spacing: float = 2.0) -> None:
    """Write ``track`` as an AC version-7 fast_lane.ai with points every ``spacing`` metres."""
    _core.write_fast_lane_ai(track.core, os.fspath(path), spacing)
