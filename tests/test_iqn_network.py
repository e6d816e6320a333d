"""IQN network checks in the style of Dopamine's implicit_quantile_agent_test: shapes, Q = mean."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from ac_core.agents import IQNAgent, IQNNetwork, sample_taus
from ac_core.config import AgentConfig


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    # Tiny networks: more threads only add OpenMP spinning on a shared CPU.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

OBS_DIM, N_ACTIONS = 6, 5


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("dueling", [True, False])
def test_output_shapes(dueling: bool) -> None:
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=32, n_cos=64, dueling=dueling)
    obs = torch.randn(7, OBS_DIM)
    quantiles, taus = net(obs, n_taus=11)
    assert quantiles.shape == (7, 11, N_ACTIONS)
    assert taus.shape == (7, 11)
    assert not taus.requires_grad
    assert bool(((taus >= 0) & (taus < 1)).all())
    assert net.q_values(obs, 32).shape == (7, N_ACTIONS)


def test_cosine_embedding_uses_i_pi_tau_for_i_from_one() -> None:
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=16, n_cos=64)
    expected = math.pi * torch.arange(1, 65, dtype=torch.float32)
    assert torch.allclose(net.cos_frequencies, expected)
    assert net.tau_embedding[0].in_features == 64 and net.tau_embedding[0].out_features == 16


def test_q_is_the_mean_over_quantiles() -> None:
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=32)
    obs = torch.randn(4, OBS_DIM)
    torch.manual_seed(123)
    q = net.q_values(obs, 32)
    torch.manual_seed(123)
    quantiles, _ = net(obs, n_taus=32)
    assert torch.allclose(q, quantiles.mean(dim=1))


def test_given_taus_are_used_and_outputs_are_deterministic() -> None:
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=32)
    obs = torch.randn(3, OBS_DIM)
    taus = torch.rand(3, 9)
    first, returned = net(obs, taus=taus)
    second, _ = net(obs, taus=taus)
    assert returned is taus
    assert torch.equal(first, second)
    other, _ = net(obs, taus=torch.rand(3, 9))
    assert not torch.allclose(first, other)


def test_each_quantile_depends_only_on_its_own_tau() -> None:
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=32)
    obs = torch.randn(2, OBS_DIM)
    taus = torch.rand(2, 4)
    full, _ = net(obs, taus=taus)
    single, _ = net(obs, taus=taus[:, 2:3])
    assert torch.allclose(full[:, 2:3], single, atol=1e-6)


def test_dueling_head_advantages_average_to_zero() -> None:
    # Q = V + A - mean(A): the mean over actions of each quantile equals the value stream.
    net = IQNNetwork(OBS_DIM, N_ACTIONS, hidden_units=32, dueling=True)
    obs = torch.randn(5, OBS_DIM)
    taus = torch.rand(5, 8)
    quantiles, _ = net(obs, taus=taus)
    embedded = net.torso(obs).unsqueeze(1) * net.tau_embedding(torch.cos(taus.unsqueeze(-1) * net.cos_frequencies))
    assert torch.allclose(quantiles.mean(dim=-1), net.value_head(embedded).squeeze(-1), atol=1e-5)


def test_stratified_taus_cover_each_stratum_and_mirror() -> None:
    taus = sample_taus(1000, 8, stratified=True)
    assert taus.shape == (1000, 8)
    lower_edges = torch.arange(8) / 8
    assert bool(((taus >= lower_edges) & (taus <= lower_edges + 1 / 8)).all())
    assert torch.allclose(taus[:, :4], 1 - taus[:, 4:].flip(-1), atol=1e-6)
    assert float(taus.mean()) == pytest.approx(0.5, abs=1e-6)  # symmetric pairs
    assert float(taus[:, 0].std()) > 0.02  # still random inside each stratum
    with pytest.raises(ValueError, match="even"):
        sample_taus(2, 5, stratified=True)


def test_requires_tau_information() -> None:
    with pytest.raises(ValueError, match="n_taus or taus"):
        IQNNetwork(OBS_DIM, N_ACTIONS)(torch.zeros(1, OBS_DIM))


def _agent(**overrides: object) -> IQNAgent:
    cfg = AgentConfig(hidden_units=32, n_quantiles=8, batch_size=4, **overrides)  # type: ignore[arg-type]
    return IQNAgent(OBS_DIM, N_ACTIONS, cfg)


def test_tied_q_values_pick_action_zero() -> None:
    agent = _agent(dueling=False)
    with torch.no_grad():
        agent.online.advantage_head[-1].weight.zero_()
        agent.online.advantage_head[-1].bias.zero_()
    actions = agent.greedy_actions(np.random.default_rng(0).normal(size=(6, OBS_DIM)))
    assert actions.tolist() == [0] * 6


def test_greedy_acting_picks_the_largest_mean() -> None:
    agent = _agent(dueling=False)
    with torch.no_grad():
        agent.online.advantage_head[-1].weight.zero_()
        agent.online.advantage_head[-1].bias.copy_(torch.tensor([0.0, 1.0, 3.0, 2.0, -1.0]))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(8, OBS_DIM))
    assert agent.act(obs, epsilon=0.0, rng=rng).tolist() == [2] * 8


def test_epsilon_one_explores_every_action_per_row() -> None:
    agent = _agent()
    rng = np.random.default_rng(1)
    actions = agent.act(np.zeros((2000, OBS_DIM)), epsilon=1.0, rng=rng)
    assert actions.shape == (2000,)
    counts = np.bincount(actions, minlength=N_ACTIONS)
    assert counts.min() > 300  # ~400 each for uniform exploration


def test_agent_rejects_missing_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from ac_core.agents import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        resolve_device("cuda")


def test_evaluation_actions_use_the_midpoint_grid_without_noise() -> None:
    agent = _agent(eval_quantiles=16)
    obs = np.random.default_rng(1).normal(size=(64, OBS_DIM)).astype(np.float32)
    first = agent.evaluation_actions(obs)
    torch.manual_seed(123)  # no τ is drawn: another RNG state gives the same actions
    assert np.array_equal(agent.evaluation_actions(obs), first)
    with torch.no_grad():
        tensor = torch.as_tensor(obs)
        grid = agent.online.q_values_on_grid(tensor, 16)
        taus = ((torch.arange(16) + 0.5) / 16).expand(64, 16)
        assert torch.allclose(grid, agent.online(tensor, taus=taus)[0].mean(dim=1))
        assert np.array_equal(first, grid.argmax(dim=1).numpy())
        # The grid's mean is nearer the many-sample mean (Q) than a K = 16 sampled mean is.
        many = agent.online.q_values(tensor, 8192)
        sampled = agent.online.q_values(tensor, 16)
        assert (grid - many).abs().mean() < (sampled - many).abs().mean()


def test_evaluation_actions_fall_back_to_sampled_tau() -> None:
    agent = _agent(eval_quantiles=0)
    obs = np.random.default_rng(2).normal(size=(8, OBS_DIM)).astype(np.float32)
    torch.manual_seed(5)
    sampled = agent.evaluation_actions(obs)
    torch.manual_seed(5)
    assert np.array_equal(sampled, agent.greedy_actions(obs))
