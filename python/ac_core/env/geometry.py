"""Per-step track geometry for N cars from their pages, computed in C++ (Track.batch_geometry).

Inputs come from page fields only: world position graphics.carCoordinates (x, _, z) and
physics.heading. Outputs are written in place into an ``observation.Geometry``; the previous s is
the warm-start hint for the projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ac_core import _core
from ac_core.env.observation import Geometry, lookahead_distances, ray_angles
from ac_core.env.settings import EnvSettings


class TrackGeometry:
    def __init__(self, track: Any, settings: EnvSettings) -> None:
        self.track = track
        native = getattr(track, "core", track)  # the C++ Track behind ac_core.track.Track
        self.engine = _core.BatchGeometry(
            native, lookahead_distances(settings).tolist(), [_core.LookaheadLine.CENTRE],
            ray_angles(settings).tolist(), settings.ray_range_m,
        )  # fmt: skip
        self._x = np.zeros(0)
        self._z = np.zeros(0)
        self._heading = np.zeros(0)

    def compute(self, physics: np.ndarray, graphics: np.ndarray, out: Geometry) -> None:
        n = len(physics)
        if self._x.shape[0] != n:
            self._x, self._z, self._heading = np.zeros(n), np.zeros(n), np.zeros(n)
        coords = graphics["carCoordinates"]
        np.copyto(self._x, coords[:, 0])
        np.copyto(self._z, coords[:, 2])
        np.copyto(self._heading, physics["heading"])
        # out.s is both the warm-start hint (last step's s, NaN after a reset) and the output.
        self.engine.compute(
            self._x, self._z, self._heading, out.s, out.s, out.lateral, out.heading_error, out.curvature,
            out.lookahead, out.curvature_ahead, out.rays,
        )  # fmt: skip
