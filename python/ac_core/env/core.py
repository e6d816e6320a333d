"""The racing logic shared by the single and the vector environment, vectorised over N cars.

One implementation for every backend: actions → controls → backend → pages + track geometry →
observation, reward, episode ends. Nothing here reads a backend's private state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ac_core.env import actions as A
from ac_core.env.backends import make_backend
from ac_core.env.backends.base import Backend
from ac_core.env.episode import EpisodeTracker
from ac_core.env.geometry import TrackGeometry
from ac_core.env.observation import Geometry, ObservationLayout, compose_observation
from ac_core.env.reward import COMPONENTS, compute_reward
from ac_core.env.settings import EnvSettings


class RacingCore:
    def __init__(self, settings: EnvSettings, n: int = 1, backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend if backend is not None else make_backend(settings, n)
        self.n = self.backend.n
        self.layout = ObservationLayout.for_settings(settings)
        self.geometry_engine = TrackGeometry(self.backend.track, settings)
        self.geometry = Geometry.empty(self.n, settings.lookahead_points, settings.ray_count)
        self.tracker = EpisodeTracker(self.n, settings)
        self.obs = np.zeros((self.n, self.layout.size), dtype=np.float32)
        self.applied = np.zeros((self.n, 3), dtype=np.float32)  # steer, throttle, brake last applied
        self.max_steer_delta = settings.steer_rate / settings.control_hz
        self.track_length = float(self.backend.track.length)
        self.last_reward = np.zeros(self.n)
        self.last_parts: dict[str, np.ndarray] = {k: np.zeros(self.n) for k in COMPONENTS}
        self.last_timing: dict[str, Any] = {}

    # -- geometry and observation ----------------------------------------------------------------
    def _refresh_geometry(self, idx: np.ndarray | None = None) -> None:
        b = self.backend
        if idx is not None:
            self.geometry.s[idx] = np.nan  # fresh start: no warm-start hint
        self.geometry_engine.compute(b.physics, b.graphics, self.geometry)

    def _observe(self) -> np.ndarray:
        return compose_observation(
            self.obs, self.layout, self.settings, self.backend.physics, float(self.backend.static["maxRpm"]),
            self.geometry, self.applied,
        )  # fmt: skip

    # -- episode control -------------------------------------------------------------------------
    def reset(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool | None = None) -> np.ndarray:
        if random_start is None:
            random_start = self.settings.lap_start == "random"
        self.backend.reset_cars(idx, rng, random_start)
        self.applied[idx] = 0.0
        self._refresh_geometry(idx)
        p, g = self.backend.physics, self.backend.graphics
        self.tracker.reset(idx, p["carDamage"][idx, :4].sum(axis=1), g["completedLaps"][idx])
        return self._observe()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if A.is_discrete(self.settings.action_set):
            target = A.decode_discrete(action, A.action_table(self.settings.action_set))
        else:
            target = A.decode_continuous(action)
        prev_steer = self.applied[:, 0].copy()
        self.applied[:, 0] = A.rate_limit(prev_steer, target[:, 0], self.max_steer_delta)
        self.applied[:, 1:] = target[:, 1:]
        self.backend.apply(self.applied)
        self.last_timing = self.backend.advance()

        prev_s = self.geometry.s.copy()
        self._refresh_geometry()
        ds = self.geometry.s - prev_s
        ds = (ds + self.track_length / 2) % self.track_length - self.track_length / 2  # across s = 0
        progress = np.nan_to_num(ds)

        p, g = self.backend.physics, self.backend.graphics
        speed = p["speedKmh"].astype(np.float64) / 3.6
        tyres_out = p["numberOfTyresOut"].astype(np.float64)
        damage = p["carDamage"][:, :4].sum(axis=1).astype(np.float64)
        collided, terminated, truncated = self.tracker.update(
            self.settings.step_seconds, progress, tyres_out, damage, g["completedLaps"], g["iLastTime"], speed
        )
        reward, parts = compute_reward(
            self.settings.reward, progress, speed, tyres_out, collided, self.applied[:, 0] - prev_steer
        )
        self.tracker.episode_return += reward
        self.last_reward, self.last_parts = reward, parts
        return self._observe(), reward, terminated, truncated

    # -- info ------------------------------------------------------------------------------------
    def info_arrays(self) -> dict[str, np.ndarray]:
        """Per-car info as arrays [N] (the vector env's infos; the single env takes element 0)."""
        t, p, g = self.tracker, self.backend.physics, self.backend.graphics
        info: dict[str, np.ndarray] = {f"reward_{k}": v for k, v in self.last_parts.items()}
        info.update(
            speed_kmh=p["speedKmh"].astype(np.float64),
            s=self.geometry.s.copy(),
            lateral=self.geometry.lateral.copy(),
            tyres_out=p["numberOfTyresOut"].astype(np.int64),
            completed_laps=t.laps_in_episode.copy(),
            lap_completed=t.lap_completed.copy(),
            last_lap_time=t.last_lap_s.copy(),
            best_lap_time=t.best_lap_s.copy(),
            off_track_events=t.off_track_events.copy(),
            collisions=t.collisions.copy(),
            episode_time=t.elapsed.copy(),
            episode_return=t.episode_return.copy(),
            avg_speed_kmh=np.where(t.steps > 0, t.speed_sum / np.maximum(t.steps, 1) * 3.6, 0.0),
            distance=t.distance.copy(),
            normalized_position=g["normalizedCarPosition"].astype(np.float64),
        )
        return info

    def raw_fields(self, i: int) -> dict[str, Any]:
        """A car's raw page fields an analysis usually wants (packetId is left out: it counts across
        episodes, as AC's does, and would make infos differ between identical episodes)."""
        p, g = self.backend.physics[i], self.backend.graphics[i]
        return {
            "speedKmh": float(p["speedKmh"]), "gear": int(p["gear"]),
            "rpms": int(p["rpms"]), "gas": float(p["gas"]), "brake": float(p["brake"]),
            "steerAngle": float(p["steerAngle"]), "heading": float(p["heading"]),
            "carCoordinates": g["carCoordinates"].tolist(), "normalizedCarPosition": float(g["normalizedCarPosition"]),
            "numberOfTyresOut": int(p["numberOfTyresOut"]), "carDamage": p["carDamage"].tolist(),
            "completedLaps": int(g["completedLaps"]), "iCurrentTime": int(g["iCurrentTime"]),
            "iLastTime": int(g["iLastTime"]), "iBestTime": int(g["iBestTime"]),
            "currentSectorIndex": int(g["currentSectorIndex"]), "status": int(g["status"]),
        }  # fmt: skip

    def close(self) -> None:
        self.backend.close()
