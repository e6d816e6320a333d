"""Recorded laps as demonstrations: what ``ac-core record`` wrote while anyone drove — a person in Assetto
Corsa, the built-in simulator under a checkpoint, the game's AI — replayed through the env's own
observation, reward and episode logic.

Each recording is replayed by :class:`~ac_core.env.backends.recording.RecordingBackend` under the
config's env settings, one env step (``1 / control_hz``, on the game's physics clock) at a time:

- the observation, reward, off-track and lap logic are the racing core's (:class:`ac_core.env.core.RacingCore`),
  so the transitions are those training would have made in the same states;
- the action of a step is the row of the config's action table nearest to what the driver did over it
  (:meth:`RecordingBackend.driver_controls`: the steering reached at its end, the pedals' mean;
  :func:`ac_core.env.actions.nearest_discrete`), and the observation's ``prev_action`` is that row as the
  env would have applied it (steering rate-limited);
- a recording splits where the game moved the car (a restart) or a new session began; an episode ends
  where the env would end it (off the track, a collision, no progress). An episode that ends off the track
  is cut back to its last completed lap, as for ``ac-core demo``'s own laps; the next starts at the first
  later frame with the car on the track and moving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ac_core.train.demonstrations import (
    DemonstrationError,
    Demonstrations,
    EpisodeTransitions,
    expected_meta,
    joined,
)

# An episode after one the env ended starts where the car is back on the track and moving at this speed.
RESTART_MIN_SPEED_KMH = 20.0
# A recording whose car is mostly this far from the config's track centre line was made on another track.
OFF_TRACK_MEDIAN_M = 40.0


def demonstrations_from_recordings(cfg: Any, paths: Sequence[str | Path],
                                   echo: Callable[[str], None] = print) -> Demonstrations:
    """The recordings at ``paths`` (``ac-core record`` CSV / JSON / Parquet) as one demonstration set for
    ``cfg`` (its env's observation, action table and control rate; its agent's n-step and γ)."""
    from ac_core.env import actions as A
    from ac_core.env.backends.recording import RecordedFrames, RecordingFormatError
    from ac_core.env.settings import MAX_SECONDS
    from ac_core.track import load_track
    from ac_core.train.racing import env_settings_from_config

    settings = env_settings_from_config(cfg.env.to_kwargs(), backend="sim", max_laps=0,
                                        max_episode_seconds=MAX_SECONDS)
    if not A.is_discrete(settings.action_set):
        raise DemonstrationError(f"env.action_set {settings.action_set!r} is continuous; demonstrations are "
                                 "stored as rows of a discrete action table")
    if not paths:
        raise DemonstrationError("no recording given; record laps with `ac-core record --out STEM` first")
    track = load_track(settings.track)
    parts: list[tuple[np.ndarray, ...]] = []
    totals = {"laps": 0, "episodes": 0, "seconds": 0.0}
    obs_dim = n_actions = 0
    for path in paths:
        try:
            frames = RecordedFrames.load(path)
        except RecordingFormatError as e:
            raise DemonstrationError(str(e)) from None
        found, obs_dim, n_actions = _replay(settings, frames, track, cfg, echo)
        parts += found["parts"]
        for key in totals:
            totals[key] += found[key]
    if not parts:
        raise DemonstrationError(f"{', '.join(map(str, paths))}: no transitions to keep (every episode left the "
                                 "track before completing a lap); record laps driven on the track")
    meta = {**expected_meta(cfg, obs_dim, n_actions), "driver": "recording",
            "recordings": [str(p) for p in paths], "laps": totals["laps"], "episodes": totals["episodes"],
            "recorded_seconds": round(totals["seconds"], 1)}
    return joined(parts, meta)


def _replay(settings: Any, frames: Any, track: Any, cfg: Any, echo: Callable[[str], None]
            ) -> tuple[dict[str, Any], int, int]:
    """One recording's kept episodes, with its lap and episode counts."""
    from ac_core.env import actions as A
    from ac_core.env.backends.recording import RecordingBackend
    from ac_core.env.core import RacingCore
    from ac_core.env.settings import PHYSICS_HZ

    _check_track(frames, track, settings.track)
    backend = RecordingBackend(settings, frames, track)
    core = RacingCore(settings, n=1, backend=backend)
    table = A.action_table(settings.action_set)
    idx0, rng = np.zeros(1, dtype=np.int64), np.random.default_rng(0)
    episode = EpisodeTransitions(cfg.agent.n_step, cfg.agent.gamma)
    found: dict[str, Any] = {"parts": [], "laps": 0, "episodes": 0, "seconds": 0.0}
    speed = frames.physics["speedKmh"]
    on_track = frames.physics["numberOfTyresOut"] <= settings.off_track_tyres
    for first, end in frames.stretches():
        packets = frames.physics["packetId"][first:end]
        found["seconds"] += (int(packets[-1]) - int(packets[0])) / PHYSICS_HZ
        start: int | None = first
        while start is not None:
            backend.start_at(start, end)
            if backend.step_end() is None:
                break
            obs = core.reset(idx0, rng, random_start=False)[0].copy()
            episode.start()
            found["episodes"] += 1
            terminated = truncated = False
            while not (terminated or truncated):
                controls = backend.driver_controls()
                action = int(A.nearest_discrete(controls[None], table)[0])
                next_obs, reward, term, _ = core.step(np.array([action]), "recording")
                info = core.info_arrays()
                terminated = bool(term[0])
                truncated = not terminated and backend.step_end() is None  # the stretch ends here
                lap = bool(info["lap_completed"][0])
                episode.add(obs, action, float(reward[0]), next_obs[0], terminated, truncated, lap)
                if lap:
                    echo(f"{frames.source}: lap {found['laps'] + episode.laps}: {info['last_lap_time'][0]:.3f} s")
                obs = next_obs[0].copy()
            if terminated:
                echo(f"{frames.source}: episode {found['episodes']} ended off the track or stopped at frame "
                     f"{backend.frame}; kept to its last completed lap ({episode.laps})")
            rows = episode.kept(ended_off_track=terminated)
            if rows is not None:
                found["parts"].append(rows)
            found["laps"] += episode.laps
            start = None
            if terminated:  # the next episode: the car back on the track and moving
                later = np.flatnonzero(on_track[backend.frame + 1:end] & (speed[backend.frame + 1:end]
                                                                          >= RESTART_MIN_SPEED_KMH))
                start = backend.frame + 1 + int(later[0]) if len(later) else None
    return found, core.layout.size, len(table)


def _check_track(frames: Any, track: Any, name: str) -> None:
    """Refuse a recording made on another track (its car mostly far from this track's centre line)."""
    pick = np.linspace(0, len(frames) - 1, min(len(frames), 500)).astype(np.int64)
    xyz = frames.graphics["carCoordinates"][pick].astype(np.float64)
    _, lateral, _ = track.project_many(xyz[:, 0], xyz[:, 2])
    median = float(np.median(np.abs(lateral)))
    if not median <= OFF_TRACK_MEDIAN_M:
        raise DemonstrationError(
            f"{frames.source}: the car is {median:.0f} m from the centre line of {name} on the median frame; the "
            "recording was made on another track: set env.track (and env.track_file) to the recording's track")
