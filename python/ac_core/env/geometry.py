"""Per-step track geometry for N cars from their pages, computed in C++ (Track.batch_geometry).

Inputs come from page fields only: world position graphics.carCoordinates (x, _, z) and
physics.heading. Outputs are written in place into an ``observation.Geometry``; the previous s is
the warm-start hint for the projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ac_core.env.observation import Geometry, lookahead_distances, ray_angles
from ac_core.env.settings import EnvSettings


class TrackGeometry:
    def __init__(self, track: Any, settings: EnvSettings) -> None:
        self.track = track
        self.config = track.geometry_config(
            lookahead_distances=lookahead_distances(settings),
            ray_angles=ray_angles(settings),
            ray_max_range=settings.ray_range_m,
        )
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
        self.track.batch_geometry(
            self.config, self._x, self._z, self._heading, out.s,
            s=out.s, lateral=out.lateral, heading_error=out.heading_error, curvature=out.curvature,
            lookahead_points=out.lookahead, lookahead_curvature=out.curvature_ahead, ray_distance=out.rays,
        )  # fmt: skip
