"""The per-step reward, vectorised over cars, with every component reported.

reward = progress + time + off_track + collision + smoothness, where
  progress   =  w.progress   · metres gained along the track this step (negative when going backwards)
  time       = −w.time       (every step)
  off_track  = −w.off_track  · speed (m/s) · tyres_out / 4, averaged over the step's physics frames
               (``step_frames.off_track_speed``: an excursion between two steps costs its share)
  collision  = −w.collision  · (1 if the car hit a barrier this step)
  smoothness = −w.smoothness · |applied steering change|
"""

from __future__ import annotations

import numpy as np

from ac_core.env.settings import RewardWeights

COMPONENTS = ("progress", "time", "off_track", "collision", "smoothness")


def compute_reward(
    weights: RewardWeights,
    progress_m: np.ndarray,
    off_track_speed: np.ndarray,
    collided: np.ndarray,
    steer_change: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    parts = {
        "progress": weights.progress * progress_m,
        "time": np.full(progress_m.shape, -weights.time),
        "off_track": -weights.off_track * off_track_speed,
        "collision": -weights.collision * collided.astype(np.float64),
        "smoothness": -weights.smoothness * np.abs(steer_change),
    }
    total = parts["progress"] + parts["time"] + parts["off_track"] + parts["collision"] + parts["smoothness"]
    return total, parts
