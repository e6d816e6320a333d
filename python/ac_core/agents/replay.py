"""Experience replay for float observations: n-step assembly, uniform and prioritised buffers.

A stored transition is already n-step: (obs, action, R, discount, terminated, next_obs) with
R = sum_{j<k} gamma^j r_j, discount = gamma^k (k <= n, shorter at episode ends) and next_obs the
observation k steps later. The learner bootstraps with discount * (1 - terminated), so a time-limit
truncation (terminated False) still bootstraps from the real final observation.

Storage is preallocated and circular: float32 observations twice (obs and next_obs), which is simple
and correct with vectorised envs and n-step; 1M transitions of 200 floats take 1.6 GB.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ReplayBatch:
    obs: np.ndarray  # [B, D] float32
    actions: np.ndarray  # [B] int64
    rewards: np.ndarray  # [B] float32, n-step discounted sums
    discounts: np.ndarray  # [B] float32, gamma^k
    terminated: np.ndarray  # [B] float32, 1.0 where the episode ended in a terminal state
    next_obs: np.ndarray  # [B, D] float32
    indices: np.ndarray  # [B] int64, slots in the buffer (for priority updates)
    weights: np.ndarray  # [B] float32, importance weights (ones for uniform replay)
    expert: np.ndarray | None = None  # [B] float32, 1.0 for demonstration rows (ac_core.train.demonstrations)
    expert_weight: float = 1.0  # the large-margin loss's share of its configured weight now (the demonstrations' fade)


class ReplayBuffer:
    """Uniform replay over a fixed-capacity circular store."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        if capacity < 1 or obs_dim < 1:
            raise ValueError(f"capacity ({capacity}) and obs_dim ({obs_dim}) must be >= 1")
        self.capacity = capacity
        self.obs_dim = obs_dim
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.position = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add_batch(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, discounts: np.ndarray,
                  terminated: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """Append transitions (leading dimension = count); returns the slots written."""
        count = len(actions)
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        if count > self.capacity:  # only the newest `capacity` survive, as if added one by one
            skip = count - self.capacity
            obs, actions, rewards = obs[skip:], actions[skip:], rewards[skip:]
            discounts, terminated, next_obs = discounts[skip:], terminated[skip:], next_obs[skip:]
            self.position = (self.position + skip) % self.capacity
            count = self.capacity
        slots = (self.position + np.arange(count)) % self.capacity
        self.obs[slots] = obs
        self.next_obs[slots] = next_obs
        self.actions[slots] = actions
        self.rewards[slots] = rewards
        self.discounts[slots] = discounts
        self.terminated[slots] = terminated
        self.position = int((self.position + count) % self.capacity)
        self.size = min(self.size + count, self.capacity)
        self._on_added(slots)
        return slots

    def _on_added(self, slots: np.ndarray) -> None:
        """Hook for subclasses (priorities)."""

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> ReplayBatch:
        return ReplayBatch(self.obs[indices], self.actions[indices], self.rewards[indices],
                           self.discounts[indices], self.terminated[indices], self.next_obs[indices],
                           indices, weights)

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> ReplayBatch:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        indices = rng.integers(0, self.size, size=batch_size, dtype=np.int64)
        return self._gather(indices, np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Uniform replay ignores priorities."""

    _ARRAYS = ("obs", "next_obs", "actions", "rewards", "discounts", "terminated")

    def state_dict(self) -> dict[str, Any]:
        """Contents for saving: only the filled part of each array."""
        state: dict[str, Any] = {name: getattr(self, name)[: self.size].copy() for name in self._ARRAYS}
        state.update(capacity=self.capacity, obs_dim=self.obs_dim, position=self.position, size=self.size)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["capacity"]) != self.capacity or int(state["obs_dim"]) != self.obs_dim:
            raise ValueError(f"saved replay has capacity {state['capacity']} and obs_dim {state['obs_dim']}, "
                             f"this one {self.capacity} and {self.obs_dim}")
        size = int(state["size"])
        for name in self._ARRAYS:
            getattr(self, name)[:size] = np.asarray(state[name])
        self.size, self.position = size, int(state["position"])
        self._on_added(np.arange(size))


class SumTree:
    """Binary sum tree over ``capacity`` leaves (rounded up to a power of two); vectorised queries."""

    def __init__(self, capacity: int) -> None:
        self.leaves = 1 << max(0, (capacity - 1).bit_length())
        self.nodes = np.zeros(2 * self.leaves, dtype=np.float64)  # node 1 is the root; leaves at [L, 2L)

    def total(self) -> float:
        return float(self.nodes[1])

    def get(self, indices: np.ndarray) -> np.ndarray:
        return self.nodes[np.asarray(indices) + self.leaves]

    def set(self, indices: np.ndarray, values: np.ndarray) -> None:
        nodes = np.asarray(indices, dtype=np.int64) + self.leaves
        self.nodes[nodes] = values
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.nodes[nodes] = self.nodes[2 * nodes] + self.nodes[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, prefix_sums: np.ndarray) -> np.ndarray:
        """Leaf index i for each value v with sum(leaves[:i]) <= v < sum(leaves[:i+1])."""
        values = np.asarray(prefix_sums, dtype=np.float64).copy()
        nodes = np.ones(len(values), dtype=np.int64)
        while nodes[0] < self.leaves:
            left = 2 * nodes
            go_right = values >= self.nodes[left]
            values = np.where(go_right, values - self.nodes[left], values)
            nodes = np.where(go_right, left + 1, left)
        return nodes - self.leaves


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritised replay (Schaul et al. 2016): P(i) ~ p_i^alpha, weights (N P(i))^-beta."""

    def __init__(self, capacity: int, obs_dim: int, alpha: float = 0.6, epsilon: float = 1e-6) -> None:
        super().__init__(capacity, obs_dim)
        self.alpha = alpha
        self.epsilon = epsilon
        self.tree = SumTree(capacity)
        self.max_priority = 1.0

    def _on_added(self, slots: np.ndarray) -> None:
        # New transitions get the largest priority seen so they are replayed at least once soon.
        self.tree.set(slots, np.full(len(slots), self.max_priority**self.alpha))

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> ReplayBatch:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        total = self.tree.total()
        # Stratified: one draw per equal segment of the total priority mass.
        targets = (np.arange(batch_size) + rng.random(batch_size)) * (total / batch_size)
        indices = np.minimum(self.tree.find(np.minimum(targets, np.nextafter(total, 0))), self.size - 1)
        probabilities = self.tree.get(indices) / total
        weights = (self.size * np.maximum(probabilities, 1e-12)) ** (-beta)
        weights = (weights / weights.max()).astype(np.float32)
        return self._gather(indices.astype(np.int64), weights)

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        priorities = np.abs(np.asarray(priorities, dtype=np.float64)) + self.epsilon
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.set(indices, priorities**self.alpha)


class NStepAssembler:
    """Turns per-step experience from E parallel envs into n-step transitions.

    Call ``add`` once per vector step with the step's obs, actions, rewards, the observation that
    followed (the true final observation at an episode end) and the terminated/truncated flags. Envs
    masked out with ``valid=False`` (e.g. a Gymnasium autoreset step) are skipped. At an episode end
    every pending start state is flushed with its shorter return; truncation keeps bootstrapping.
    An env masked out while ``truncated`` is a dropped episode (a relaunched game): its pending steps
    are discarded, never joined to the next episode.
    """

    def __init__(self, n_envs: int, n_step: int, gamma: float) -> None:
        self.n_envs, self.n_step, self.gamma = n_envs, n_step, gamma
        self.pending: list[deque[tuple[np.ndarray, int, float]]] = [deque() for _ in range(n_envs)]

    def reset(self) -> None:
        for queue in self.pending:
            queue.clear()

    def _emit(self, queue: deque[tuple[np.ndarray, int, float]], next_obs: np.ndarray, terminated: bool,
              out: list[tuple[Any, ...]]) -> None:
        start_obs, action, _ = queue[0]
        ret = 0.0
        for j, (_, _, reward) in enumerate(queue):
            ret += self.gamma**j * reward
        out.append((start_obs, action, ret, self.gamma ** len(queue), float(terminated), next_obs))
        queue.popleft()

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray, truncated: np.ndarray, valid: np.ndarray | None = None
            ) -> tuple[np.ndarray, ...] | None:
        """Returns (obs, actions, rewards, discounts, terminated, next_obs) arrays, or None if empty."""
        out: list[tuple[Any, ...]] = []
        for env in range(self.n_envs):
            if valid is not None and not valid[env]:
                if truncated[env]:  # a dropped episode
                    self.pending[env].clear()
                continue
            queue = self.pending[env]
            queue.append((np.array(obs[env], dtype=np.float32), int(actions[env]), float(rewards[env])))
            if terminated[env] or truncated[env]:
                while queue:
                    self._emit(queue, next_obs[env], bool(terminated[env]), out)
            elif len(queue) == self.n_step:
                self._emit(queue, next_obs[env], False, out)
        if not out:
            return None
        start_obs, acts, rets, discounts, terms, nexts = zip(*out, strict=True)
        return (np.stack(start_obs), np.asarray(acts, dtype=np.int64), np.asarray(rets, dtype=np.float32),
                np.asarray(discounts, dtype=np.float32), np.asarray(terms, dtype=np.float32),
                np.stack(nexts).astype(np.float32))
