"""The action spaces.

Discrete (default, for IQN): a table of steering targets × pedal choices. A row gives the steering
*target*; the applied steering moves towards it at most ``steer_rate / control_hz`` per step, so the
car is steered smoothly even by a discrete policy. Throttle and brake are never pressed together.

- ``discrete``: ``DISCRETE_ACTIONS``, 7 steering targets × 4 pedal choices (28, the classic table).
- ``discrete_fine``: ``FINE_DISCRETE_ACTIONS``, 9 steering targets × 7 pedal choices (63). The car has
  no traction control or ABS, so leaving a slow corner on full throttle spins the rear wheels and
  braking at 100 % locks the fronts; with part throttle and part brake a discrete policy can drive
  it as the reference driver does. Measured: the reference driver's controls rounded to the 28-row
  table leave the track at La Source even at 111 Hz; rounded to the 63-row table they lap Spa in
  1:41.9, the same as unrounded.

Continuous, with the same steering rate limit:

- ``continuous``: ``Box([-1, 0, 0], [1, 1, 1])`` = (steer, throttle, brake); when both pedals are
  pressed, the larger one wins.
- ``continuous_pedal``: ``Box([-1, -1], [1, 1])`` = (steer, pedal), one pedal axis: pedal > 0 is that
  much throttle, pedal < 0 that much brake. Symmetric and normalised, as Stable-Baselines3's checker
  recommends for SAC/PPO/TD3 (their Gaussian policies start centred on 0: half the cars brake at first,
  half accelerate, instead of a throttle and a brake that both start half pressed).
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

FINE_STEER_LEVELS = np.array([-1.0, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0], dtype=np.float32)
FINE_PEDAL_LEVELS = np.array(
    [(1.0, 0.0), (2 / 3, 0.0), (1 / 3, 0.0), (0.0, 0.0), (0.0, 1 / 3), (0.0, 2 / 3), (0.0, 1.0)], dtype=np.float32
)
FINE_DISCRETE_ACTIONS = np.array(
    [(s, t, b) for s in FINE_STEER_LEVELS for (t, b) in FINE_PEDAL_LEVELS], dtype=np.float32
)  # 63

DISCRETE_TABLES: dict[str, np.ndarray] = {"discrete": DISCRETE_ACTIONS, "discrete_fine": FINE_DISCRETE_ACTIONS}


# Continuous action sets: (low, high) of the action Box.
CONTINUOUS_BOUNDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "continuous": ((-1.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "continuous_pedal": ((-1.0, -1.0), (1.0, 1.0)),
}


def is_discrete(action_set: str) -> bool:
    return action_set in DISCRETE_TABLES


def action_width(action_set: str) -> int:
    """Numbers per action of a continuous action set (0 for a discrete one)."""
    bounds = CONTINUOUS_BOUNDS.get(action_set)
    return len(bounds[0]) if bounds else 0


def action_names(action_set: str) -> str:
    """What one continuous action holds, for messages."""
    return "(steer, pedal)" if action_set == "continuous_pedal" else "(steer, throttle, brake)"


def action_table(action_set: str) -> np.ndarray:
    """The (steer target, throttle, brake) rows of a discrete action set."""
    try:
        return DISCRETE_TABLES[action_set]
    except KeyError:
        raise ValueError(f"action set {action_set!r} is not discrete; discrete sets: "
                         f"{', '.join(DISCRETE_TABLES)}") from None


def _pedal_name(throttle: float, brake: float) -> str:
    if throttle >= 1.0:
        return "full throttle"
    if throttle > 0.0:
        return f"throttle {throttle:.0%}"
    if brake >= 1.0:
        return "full brake"
    if brake > 0.0:
        return f"brake {brake:.0%}"
    return "coast"


def describe_discrete_actions(table: np.ndarray = DISCRETE_ACTIONS) -> list[str]:
    names = []
    for i, (s, t, b) in enumerate(table):
        side = "straight" if s == 0 else f"{'left' if s < 0 else 'right'} {abs(s):.2f}"
        names.append(f"{i:2d}: steer {side}, {_pedal_name(float(t), float(b))}")
    return names


def decode_discrete(actions: np.ndarray, table: np.ndarray = DISCRETE_ACTIONS) -> np.ndarray:
    """Action indices [N] → (steer target, throttle, brake) [N, 3] from ``table``."""
    idx = np.asarray(actions, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(table)):
        bad = int(np.flatnonzero((idx < 0) | (idx >= len(table)))[0])
        raise ValueError(f"discrete action {int(idx.flat[bad])} (car {bad}) is out of range; "
                         f"use an integer in [0, {len(table) - 1}]")
    return table[idx]


def nearest_discrete(controls: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``table`` closest to (steer, throttle, brake) ``controls`` [N, 3]; steering
    counts double, since a steering error is the costlier one."""
    c = np.asarray(controls, dtype=np.float32).reshape(-1, 1, 3)
    weights = np.array([2.0, 1.0, 1.0], dtype=np.float32)
    return np.argmin((((table[None] - c) * weights) ** 2).sum(axis=2), axis=1)


def decode_continuous(actions: np.ndarray, action_set: str = "continuous") -> np.ndarray:
    """Actions of a continuous set [N, width] → (steer, throttle, brake) [N, 3], clipped to range; NaN is
    rejected. ``continuous``: the larger pedal wins; ``continuous_pedal``: pedal > 0 throttle, < 0 brake."""
    width = action_width(action_set)
    a = np.asarray(actions, dtype=np.float32).reshape(-1, width)
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise ValueError(f"continuous action {a[bad].tolist()} (car {bad}) contains NaN or inf; "
                         f"use finite {action_names(action_set)} values")
    out = np.empty((len(a), 3), dtype=np.float32)
    out[:, 0] = np.clip(a[:, 0], -1.0, 1.0)
    if action_set == "continuous_pedal":
        pedal = np.clip(a[:, 1], -1.0, 1.0)
        out[:, 1] = np.maximum(pedal, 0.0)
        out[:, 2] = np.maximum(-pedal, 0.0)
        return out
    throttle = np.clip(a[:, 1], 0.0, 1.0)
    brake = np.clip(a[:, 2], 0.0, 1.0)
    braking = brake > throttle
    out[:, 1] = np.where(braking, 0.0, throttle)
    out[:, 2] = np.where(braking, brake, 0.0)
    return out


def rate_limit(current: np.ndarray, target: np.ndarray, max_delta: float) -> np.ndarray:
    """Move ``current`` towards ``target`` by at most ``max_delta`` (per element)."""
    return current + np.clip(target - current, -max_delta, max_delta)
