"""Episode bookkeeping for N cars from page fields: progress, laps, off-track, collisions, endings.

Terminated: more than ``off_track_tyres`` tyres out for longer than the grace time, a barrier
collision (carDamage rose), or no progress (1 m) for ``no_progress_s``.

Off-track and damage come from the step's aggregates over all of its physics frames
(``ac_core.env.step_frames``): an excursion that starts and ends between two steps is an off-track
event, and adds its share of the step to the off-track time.
Truncated: ``max_episode_seconds`` of simulated time, or ``max_laps`` completed laps.

A completed lap is *clean* when no off-track event touched it — AC's track limits, where more than two
tyres out (``off_track_tyres``) is a cut that invalidates the lap. Lap times count every lap; the clean
ones are kept apart because a policy can learn that a brief cut (shorter than the grace time, so
the episode goes on) is faster, e.g. straight through Spa's Bus Stop chicane.
"""

from __future__ import annotations

import numpy as np

from ac_core.env.settings import EnvSettings

MIN_PROGRESS_M = 1.0


class EpisodeTracker:
    def __init__(self, n: int, settings: EnvSettings) -> None:
        self.n = n
        self.settings = settings
        self.elapsed = np.zeros(n)
        self.distance = np.zeros(n)  # metres of progress since the reset
        self.best_distance = np.zeros(n)
        self.since_progress = np.zeros(n)
        self.off_time = np.zeros(n)
        self.was_off = np.zeros(n, dtype=bool)
        self.off_track_events = np.zeros(n, dtype=np.int64)
        self.collisions = np.zeros(n, dtype=np.int64)
        self.damage = np.zeros(n)
        self.laps = np.zeros(n, dtype=np.int64)  # graphics.completedLaps at the last step
        self.laps_in_episode = np.zeros(n, dtype=np.int64)
        self.last_lap_s = np.full(n, np.nan)
        self.best_lap_s = np.full(n, np.nan)
        self.lap_completed = np.zeros(n, dtype=bool)
        self.lap_cut = np.zeros(n, dtype=bool)  # an off-track event in the lap being driven
        self.last_lap_clean = np.zeros(n, dtype=bool)  # the last completed lap had none
        self.episode_return = np.zeros(n)
        self.speed_sum = np.zeros(n)
        self.steps = np.zeros(n, dtype=np.int64)

    def reset(self, idx: np.ndarray, damage: np.ndarray, laps: np.ndarray) -> None:
        for arr in (self.elapsed, self.distance, self.best_distance, self.since_progress, self.off_time,
                    self.episode_return, self.speed_sum):
            arr[idx] = 0.0
        for arr in (self.off_track_events, self.collisions, self.laps_in_episode, self.steps):
            arr[idx] = 0
        self.was_off[idx] = False
        self.lap_cut[idx] = False
        self.last_lap_clean[idx] = False
        self.lap_completed[idx] = False
        self.last_lap_s[idx] = np.nan
        self.best_lap_s[idx] = np.nan
        self.damage[idx] = damage
        self.laps[idx] = laps

    def update(
        self,
        dt: float,
        progress_m: np.ndarray,
        max_tyres_out: np.ndarray,
        off_fraction: np.ndarray,
        off_at_end: np.ndarray,
        damage: np.ndarray,
        completed_laps: np.ndarray,
        last_lap_ms: np.ndarray,
        speed_mps: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance one step; returns (collided, terminated, truncated) boolean arrays.

        ``max_tyres_out``: the most tyres out in any frame of the step; ``off_fraction``: the share of
        its frames with more than ``off_track_tyres`` out; ``off_at_end``: whether its newest frame is;
        ``damage``: the largest damage sum seen."""
        s = self.settings
        self.elapsed += dt
        self.steps += 1
        self.speed_sum += speed_mps
        self.distance += progress_m
        gained = self.distance > self.best_distance + MIN_PROGRESS_M
        self.best_distance = np.where(gained, self.distance, self.best_distance)
        self.since_progress = np.where(gained, 0.0, self.since_progress + dt)

        off = max_tyres_out > s.off_track_tyres
        self.off_track_events += off & ~self.was_off
        # A step with an excursion is charged to the lap it completes (if any): the conservative side.
        self.lap_cut |= off
        # Off at the step's end only if its newest frame was: a sub-step excursion that ended before
        # the step did is one event, and going off again in the next step is another.
        self.was_off = off_at_end > 0
        self.off_time = np.where(off, self.off_time + dt * off_fraction, 0.0)

        collided = damage > self.damage + 1e-6
        self.collisions += collided
        self.damage = damage

        self.lap_completed = completed_laps > self.laps
        valid = self.lap_completed & (last_lap_ms > 0)
        lap_s = last_lap_ms / 1000.0
        self.last_lap_s = np.where(valid, lap_s, self.last_lap_s)
        self.last_lap_clean = np.where(valid, ~self.lap_cut, self.last_lap_clean)
        # The next lap starts cut if the car crosses the line still off the track.
        self.lap_cut = np.where(self.lap_completed, self.was_off, self.lap_cut)
        self.best_lap_s = np.where(valid & ~(self.best_lap_s <= lap_s), lap_s, self.best_lap_s)
        self.laps_in_episode += self.lap_completed
        self.laps = completed_laps.astype(np.int64)

        terminated = (self.off_time > s.off_track_grace_s) | (self.since_progress > s.no_progress_s)
        if s.terminate_on_collision:
            terminated |= collided
        truncated = self.elapsed >= s.max_episode_seconds - 1e-9
        if s.max_laps > 0:
            truncated |= self.laps_in_episode >= s.max_laps
        truncated &= ~terminated
        return collided, terminated, truncated
