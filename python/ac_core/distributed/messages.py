"""What travels between collectors, the replay and the learner: transition batches and weights.

Both are plain dataclasses of NumPy arrays, so they cross any transport (a function call, a Ray
object ref, Ray Client's gRPC stream) without torch on the wire and without per-transition calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TRANSITION_FIELDS = ("obs", "actions", "rewards", "discounts", "terminated", "next_obs")


@dataclass
class TransitionBatch:
    """n-step transitions from one source (a collector or a game box) plus what it did meanwhile.

    ``env_steps`` counts environment steps taken since the source's previous batch (not transitions:
    the n-step tail of a running episode is counted when stepped, stored when emitted).
    """

    obs: np.ndarray  # [T, D] float32
    actions: np.ndarray  # [T] int64
    rewards: np.ndarray  # [T] float32 n-step returns
    discounts: np.ndarray  # [T] float32 gamma^k
    terminated: np.ndarray  # [T] float32
    next_obs: np.ndarray  # [T, D] float32
    source: str
    env_steps: int
    policy_version: int  # the weights version that chose these actions (for the weight lag)
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    lap_times: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.actions)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The transition arrays in ``ReplayBuffer.add_batch`` order."""
        return tuple(getattr(self, name) for name in TRANSITION_FIELDS)

    @classmethod
    def from_parts(cls, parts: list[tuple[np.ndarray, ...]], obs_dim: int, **meta: object) -> TransitionBatch:
        """Concatenate ``NStepAssembler.add`` outputs (possibly none) into one batch."""
        if parts:
            arrays = [np.concatenate([p[i] for p in parts]) for i in range(len(TRANSITION_FIELDS))]
        else:
            arrays = [np.zeros((0, obs_dim), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32),
                      np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, obs_dim), np.float32)]
        return cls(*arrays, **meta)  # type: ignore[arg-type]


@dataclass
class WeightSnapshot:
    """The online network's parameters as CPU arrays, tagged with the learner's gradient-step count.

    ``version`` is the learner's gradient steps at publication, so ``learner version − a source's
    version`` is that source's weight lag in gradient steps. ``global_step`` is the env-step count
    the learner had seen, which collectors use for the epsilon schedule.
    """

    version: int
    global_step: int
    arrays: dict[str, np.ndarray]
    learner_id: str = ""  # a new learner (restart without resume) restarts its versions; compare ids too

    def is_newer_than(self, learner_id: str, version: int) -> bool:
        return self.learner_id != learner_id or self.version > version

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())
