"""The action spaces.

Discrete (default, for IQN): ``DISCRETE_ACTIONS`` is a table of steering targets × pedal choices.
A row gives the steering *target*; the applied steering moves towards it at most
``steer_rate / control_hz`` per step, so the car is steered smoothly even by a discrete policy.
Throttle and brake are never pressed together.

Continuous: ``Box([-1, 0, 0], [1, 1, 1])`` = (steer, throttle, brake), with the same steering rate
limit; when both pedals are pressed, the larger one wins.
"""

from __future__ import annotations

import numpy as np

# Steering targets, denser near the centre: at 300 km/h a few degrees of lock is a lot.
STEER_LEVELS = np.array([-1.0, -0.45, -0.15, 0.0, 0.15, 0.45, 1.0], dtype=np.float32)
# (throttle, brake): full throttle, coast, half brake, full brake.
PEDAL_LEVELS = np.array([(1.0, 0.0), (0.0, 0.0), (0.0, 0.5), (0.0, 1.0)], dtype=np.float32)

# Row i = (steer target, throttle, brake); i = steer_index * len(PEDAL_LEVELS) + pedal_index.
DISCRETE_ACTIONS = np.array(
    [(s, t, b) for s in STEER_LEVELS for (t, b) in PEDAL_LEVELS], dtype=np.float32
)
N_DISCRETE_ACTIONS = len(DISCRETE_ACTIONS)  # 28


def describe_discrete_actions() -> list[str]:
    names = []
    pedal_names = ["full throttle", "coast", "half brake", "full brake"]
    for i, (s, _t, _b) in enumerate(DISCRETE_ACTIONS):
        side = "straight" if s == 0 else f"{'left' if s < 0 else 'right'} {abs(s):.2f}"
        names.append(f"{i:2d}: steer {side}, {pedal_names[i % len(PEDAL_LEVELS)]}")
    return names


def decode_discrete(actions: np.ndarray) -> np.ndarray:
    """Action indices [N] → (steer target, throttle, brake) [N, 3]."""
    idx = np.asarray(actions, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= N_DISCRETE_ACTIONS):
        raise ValueError(f"discrete action out of range 0..{N_DISCRETE_ACTIONS - 1}: {idx}")
    return DISCRETE_ACTIONS[idx]


def decode_continuous(actions: np.ndarray) -> np.ndarray:
    """(steer, throttle, brake) [N, 3], clipped to range; NaN is rejected; the larger pedal wins."""
    a = np.asarray(actions, dtype=np.float32).reshape(-1, 3)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"continuous action contains NaN or inf: {a}")
    out = np.empty_like(a)
    out[:, 0] = np.clip(a[:, 0], -1.0, 1.0)
    throttle = np.clip(a[:, 1], 0.0, 1.0)
    brake = np.clip(a[:, 2], 0.0, 1.0)
    braking = brake > throttle
    out[:, 1] = np.where(braking, 0.0, throttle)
    out[:, 2] = np.where(braking, brake, 0.0)
    return out


def rate_limit(current: np.ndarray, target: np.ndarray, max_delta: float) -> np.ndarray:
    """Move ``current`` towards ``target`` by at most ``max_delta`` (per element)."""
    return current + np.clip(target - current, -max_delta, max_delta)
