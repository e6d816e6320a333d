"""The per-step reward, vectorised over cars, with every component reported.

reward = progress + time + off_track + collision + smoothness, where
  progress   =  w.progress   · metres gained along the track this step (negative when going backwards);
               metres gained with more than ``off_track_tyres`` tyres out (AC's cut) are paid at
               w.off_track_progress of the rate, by the share of the step's frames spent off: at 0 a
               cut chicane gains nothing, so it cannot buy lap time with reward
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
    off_fraction: np.ndarray,
    collided: np.ndarray,
    steer_change: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    # Only forward progress is withheld off the track: going backwards costs the same anywhere.
    paid = np.where(progress_m > 0, 1.0 - off_fraction * (1.0 - weights.off_track_progress), 1.0)
    parts = {
        "progress": weights.progress * progress_m * paid,
        "time": np.full(progress_m.shape, -weights.time),
        "off_track": -weights.off_track * off_track_speed,
        "collision": -weights.collision * collided.astype(np.float64),
        "smoothness": -weights.smoothness * np.abs(steer_change),
    }
    total = parts["progress"] + parts["time"] + parts["off_track"] + parts["collision"] + parts["smoothness"]
    return total, parts
