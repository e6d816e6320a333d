"""Replay buffers and n-step assembly: wraparound, episode ends, truncation, vector envs, priorities."""

from __future__ import annotations

import numpy as np
import pytest

from ac_core.agents import NStepAssembler, PrioritizedReplayBuffer, ReplayBuffer, SumTree


def _add(buffer: ReplayBuffer, values: range) -> None:
    count = len(values)
    column = np.asarray(values, dtype=np.float32)
    buffer.add_batch(np.repeat(column[:, None], 2, axis=1), np.asarray(values), column, np.full(count, 0.5),
                     np.zeros(count), np.repeat(column[:, None] + 100, 2, axis=1))


def test_replay_wraps_around_and_keeps_the_newest() -> None:
    buffer = ReplayBuffer(capacity=5, obs_dim=2)
    _add(buffer, range(3))
    assert len(buffer) == 3 and buffer.position == 3
    _add(buffer, range(3, 7))
    assert len(buffer) == 5 and buffer.position == 2
    assert sorted(buffer.rewards.tolist()) == [2, 3, 4, 5, 6]
    assert buffer.obs[:, 0].tolist() == [5, 6, 2, 3, 4]
    assert np.array_equal(buffer.next_obs[:, 1], buffer.obs[:, 1] + 100)
    batch = buffer.sample(64, np.random.default_rng(0))
    assert batch.obs.shape == (64, 2) and batch.obs.dtype == np.float32
    assert set(batch.rewards.tolist()) <= {2, 3, 4, 5, 6}
    assert np.array_equal(batch.actions, batch.rewards.astype(np.int64))  # rows stay together
    assert np.all(batch.weights == 1.0)


def test_sampling_an_empty_replay_fails_clearly() -> None:
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(capacity=3, obs_dim=1).sample(2, np.random.default_rng(0))


def test_adding_more_than_capacity_at_once_matches_adding_one_by_one() -> None:
    at_once, one_by_one = ReplayBuffer(capacity=3, obs_dim=2), ReplayBuffer(capacity=3, obs_dim=2)
    _add(at_once, range(1))
    _add(one_by_one, range(1))
    _add(at_once, range(1, 8))
    for value in range(1, 8):
        _add(one_by_one, range(value, value + 1))
    assert at_once.position == one_by_one.position and len(at_once) == 3
    assert np.array_equal(at_once.obs, one_by_one.obs)
    assert np.array_equal(at_once.rewards, one_by_one.rewards)


def test_replay_state_round_trip() -> None:
    buffer = ReplayBuffer(capacity=4, obs_dim=2)
    _add(buffer, range(6))
    copy = ReplayBuffer(capacity=4, obs_dim=2)
    copy.load_state_dict(buffer.state_dict())
    assert copy.position == buffer.position and len(copy) == len(buffer)
    for name in ("obs", "next_obs", "actions", "rewards", "discounts", "terminated"):
        assert np.array_equal(getattr(copy, name), getattr(buffer, name))
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(capacity=8, obs_dim=2).load_state_dict(buffer.state_dict())


def _steps(assembler: NStepAssembler, rewards: list[float], terminal_at: int | None = None,
           truncated_at: int | None = None) -> list[tuple[np.ndarray, ...]]:
    """One env; obs at step t is [t]; returns the transitions emitted at each step."""
    emitted = []
    for t, reward in enumerate(rewards):
        out = assembler.add(np.array([[t]]), np.array([t % 2]), np.array([reward]), np.array([[t + 1]]),
                            np.array([t == terminal_at]), np.array([t == truncated_at]))
        emitted.append(out)
    return emitted


def test_n_step_returns_are_hand_computed() -> None:
    gamma = 0.5
    emitted = _steps(NStepAssembler(1, 3, gamma), [1.0, 2.0, 3.0, 4.0, 5.0])
    assert emitted[0] is None and emitted[1] is None
    obs, actions, returns, discounts, terminated, next_obs = emitted[2]
    assert obs.tolist() == [[0.0]] and actions.tolist() == [0]
    assert returns[0] == pytest.approx(1 + 0.5 * 2 + 0.25 * 3)
    assert discounts[0] == pytest.approx(0.125)
    assert terminated[0] == 0.0 and next_obs.tolist() == [[3.0]]
    assert emitted[3][2][0] == pytest.approx(2 + 0.5 * 3 + 0.25 * 4)
    assert emitted[4][0].tolist() == [[2.0]] and emitted[4][5].tolist() == [[5.0]]


def test_terminal_flushes_shorter_returns_without_bootstrap() -> None:
    gamma = 0.5
    emitted = _steps(NStepAssembler(1, 3, gamma), [1.0, 2.0, 3.0, 4.0], terminal_at=3)
    obs, _, returns, discounts, terminated, next_obs = emitted[3]
    # Starts 1, 2, 3 are flushed with 3, 2 and 1 rewards; all end in the terminal state [4].
    assert obs[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert returns.tolist() == pytest.approx([2 + 0.5 * 3 + 0.25 * 4, 3 + 0.5 * 4, 4])
    assert discounts.tolist() == pytest.approx([0.125, 0.25, 0.5])
    assert terminated.tolist() == [1.0, 1.0, 1.0]
    assert next_obs[:, 0].tolist() == [4.0, 4.0, 4.0]


def test_truncation_flushes_but_keeps_bootstrapping_from_the_final_obs() -> None:
    emitted = _steps(NStepAssembler(1, 3, 0.5), [1.0, 1.0], truncated_at=1)
    obs, _, returns, discounts, terminated, next_obs = emitted[1]
    assert obs[:, 0].tolist() == [0.0, 1.0]
    assert returns.tolist() == pytest.approx([1.5, 1.0])
    assert discounts.tolist() == pytest.approx([0.25, 0.5])
    assert terminated.tolist() == [0.0, 0.0]
    assert next_obs[:, 0].tolist() == [2.0, 2.0]


def test_episode_shorter_than_n() -> None:
    emitted = _steps(NStepAssembler(1, 5, 0.9), [1.0], terminal_at=0)
    assert emitted[0][2].tolist() == [1.0] and emitted[0][3].tolist() == pytest.approx([0.9])
    assert emitted[0][4].tolist() == [1.0]


def test_vector_envs_are_assembled_independently_and_invalid_slots_skipped() -> None:
    assembler = NStepAssembler(2, 2, 1.0)
    # env 0 terminates at step 1; step 2 is its autoreset slot (invalid); env 1 runs on.
    out0 = assembler.add(np.array([[0], [10]]), np.array([0, 1]), np.array([1.0, 10.0]), np.array([[1], [11]]),
                         np.array([False, False]), np.array([False, False]))
    assert out0 is None
    out1 = assembler.add(np.array([[1], [11]]), np.array([0, 1]), np.array([2.0, 20.0]), np.array([[2], [12]]),
                         np.array([True, False]), np.array([False, False]))
    obs, _, returns, _, terminated, next_obs = out1
    assert obs[:, 0].tolist() == [0, 1, 10]
    assert returns.tolist() == [3.0, 2.0, 30.0]
    assert terminated.tolist() == [1.0, 1.0, 0.0]
    assert next_obs[:, 0].tolist() == [2, 2, 12]
    out2 = assembler.add(np.array([[2], [12]]), np.array([1, 1]), np.array([0.0, 30.0]), np.array([[0], [13]]),
                         np.array([False, False]), np.array([False, False]), valid=np.array([False, True]))
    assert out2[0][:, 0].tolist() == [11] and out2[2].tolist() == [50.0]
    assert len(assembler.pending[0]) == 0 and len(assembler.pending[1]) == 1


def test_a_dropped_episode_leaves_nothing_behind() -> None:
    # A live game crashed mid-episode and was relaunched: that slot is invalid and truncated, and the
    # episode's pending steps must not be joined to the next episode's.
    assembler = NStepAssembler(1, 3, 1.0)
    for t in range(2):
        assert assembler.add(np.array([[t]]), np.array([0]), np.array([1.0]), np.array([[t + 1]]),
                             np.array([False]), np.array([False])) is None
    assert len(assembler.pending[0]) == 2
    assert assembler.add(np.array([[2]]), np.array([0]), np.array([0.0]), np.array([[2]]), np.array([False]),
                         np.array([True]), valid=np.array([False])) is None
    assert len(assembler.pending[0]) == 0
    out = None
    for t in range(10, 13):  # the next episode starts clean
        out = assembler.add(np.array([[t]]), np.array([1]), np.array([2.0]), np.array([[t + 1]]),
                            np.array([False]), np.array([False]))
    assert out[0][:, 0].tolist() == [10] and out[2].tolist() == [6.0]


def test_sum_tree_prefix_search() -> None:
    tree = SumTree(5)
    assert tree.leaves == 8
    tree.set(np.arange(5), np.array([1.0, 0.0, 2.0, 3.0, 4.0]))
    assert tree.total() == pytest.approx(10.0)
    found = tree.find(np.array([0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0, 9.99]))
    assert found.tolist() == [0, 0, 2, 2, 3, 3, 4, 4]
    tree.set(np.array([4]), np.array([0.0]))
    assert tree.total() == pytest.approx(6.0)


def test_prioritized_replay_prefers_high_priorities_and_weights_correct_for_it() -> None:
    buffer = PrioritizedReplayBuffer(capacity=4, obs_dim=2, alpha=1.0, epsilon=0.0)
    _add(buffer, range(4))
    buffer.update_priorities(np.arange(4), np.array([1.0, 1.0, 1.0, 7.0]))
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for _ in range(200):
        batch = buffer.sample(10, rng, beta=1.0)
        counts += np.bincount(batch.indices, minlength=4)
    assert counts[3] / counts.sum() == pytest.approx(0.7, abs=0.03)
    batch = buffer.sample(16, rng, beta=1.0)
    # w_i = (N P(i))^-beta / max: the common transition gets 1, the rare ones (7 times rarer) weight 1 too
    # relative to each other and 1/7 for the frequent one.
    expected = np.where(batch.indices == 3, 1.0 / 7.0, 1.0)
    assert np.allclose(batch.weights, expected)
    # New transitions enter with the largest priority seen so far.
    _add(buffer, range(10, 11))
    assert buffer.tree.get(np.array([0]))[0] == pytest.approx(7.0)
