"""Quantile Huber loss, double-DQN targets, terminal masking and the learning step."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from ac_core.agents import ExponentialSchedule, IQNAgent, IQNNetwork, LinearSchedule, ReplayBatch, double_dqn_targets
from ac_core.agents import quantile_huber_loss as loss_fn
from ac_core.config import AgentConfig


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    # Tiny networks: more threads only add OpenMP spinning on a shared CPU.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_loss_matches_hand_computed_values() -> None:
    # tau 0.25, kappa 1. delta = +1: Huber 0.5, weight |0.25 - 0| -> 0.125.
    # delta = -2: Huber 1 * (2 - 0.5) = 1.5, weight |0.25 - 1| = 0.75 -> 1.125.
    taus = torch.tensor([[0.25]])
    assert float(loss_fn(torch.tensor([[0.0]]), taus, torch.tensor([[1.0]]), 1.0)[0]) == pytest.approx(0.125)
    assert float(loss_fn(torch.tensor([[0.0]]), taus, torch.tensor([[-2.0]]), 1.0)[0]) == pytest.approx(1.125)


def test_loss_sums_over_online_and_averages_over_target_quantiles() -> None:
    quantiles = torch.tensor([[0.0, 1.0]])
    taus = torch.tensor([[0.5, 0.9]])
    targets = torch.tensor([[0.5, 3.0, -1.0]])
    kappa = 0.7
    expected = 0.0
    for q, tau in zip(quantiles[0].tolist(), taus[0].tolist(), strict=True):
        terms = []
        for t in targets[0].tolist():
            delta = t - q
            huber = 0.5 * delta**2 if abs(delta) <= kappa else kappa * (abs(delta) - 0.5 * kappa)
            terms.append(abs(tau - (delta < 0)) * huber / kappa)
        expected += sum(terms) / len(terms)
    assert float(loss_fn(quantiles, taus, targets, kappa)[0]) == pytest.approx(expected, rel=1e-6)


def test_loss_rejects_taus_with_gradients() -> None:
    with pytest.raises(ValueError, match="taus"):
        loss_fn(torch.zeros(1, 2), torch.rand(1, 2, requires_grad=True), torch.zeros(1, 2), 1.0)


def _huber_quantile(samples: np.ndarray, tau: float, kappa: float) -> float:
    """Root of E[|tau - 1{x < theta}| * clip(x - theta, -kappa, kappa)] (the loss's fixed point), by bisection."""
    low, high = float(samples.min()), float(samples.max())
    for _ in range(60):
        theta = 0.5 * (low + high)
        delta = samples - theta
        gradient = np.mean(np.abs(tau - (delta < 0)) * np.clip(delta, -kappa, kappa))
        low, high = (theta, high) if gradient > 0 else (low, theta)
    return 0.5 * (low + high)


@pytest.mark.parametrize("kappa", [1e-3, 1.0])
def test_loss_pulls_a_scalar_to_the_tau_quantile_of_samples(kappa: float) -> None:
    torch.manual_seed(0)
    samples = torch.distributions.Exponential(1.0).sample((2000,))  # skewed: quantiles differ from the mean
    taus = torch.tensor([[0.1, 0.25, 0.5, 0.75, 0.9]])
    theta = torch.zeros(1, 5, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.05)
    for step in range(600):
        if step == 400:  # settle with a smaller step
            optimizer.param_groups[0]["lr"] = 0.005
        optimizer.zero_grad()
        loss_fn(theta, taus, samples.unsqueeze(0), kappa).mean().backward()
        optimizer.step()
    fitted = theta.detach().numpy()[0]
    values = samples.numpy()
    # kappa -> 0 is pure quantile regression: the empirical tau-quantile.
    expected = (np.quantile(values, taus[0].numpy()) if kappa < 0.01
                else [_huber_quantile(values, float(t), kappa) for t in taus[0]])
    assert np.allclose(fitted, expected, atol=0.02), (fitted, expected)
    assert np.all(np.diff(fitted) > 0)


def _constant_net(action_values: list[float], hidden: int = 8) -> IQNNetwork:
    """A network whose quantiles are action_values[a] for every state and tau."""
    net = IQNNetwork(3, len(action_values), hidden_units=hidden, dueling=False)
    with torch.no_grad():
        net.advantage_head[-1].weight.zero_()
        net.advantage_head[-1].bias.copy_(torch.tensor(action_values))
    return net


def _targets(terminated: float, discount: float = 0.9**3) -> torch.Tensor:
    online, target = _constant_net([0.0, 5.0]), _constant_net([3.0, 1.0])
    return double_dqn_targets(online, target, torch.randn(2, 3), torch.tensor([1.0, 2.0]),
                              torch.tensor([discount, discount]), torch.tensor([terminated, terminated]),
                              n_target_taus=4, n_policy_taus=32)


def test_double_dqn_uses_online_argmax_and_target_values() -> None:
    # The online net prefers action 1, the target net action 0: the target must evaluate action 1.
    targets = _targets(terminated=0.0)
    assert targets.shape == (2, 4)
    assert torch.allclose(targets[0], torch.full((4,), 1.0 + 0.9**3 * 1.0))
    assert torch.allclose(targets[1], torch.full((4,), 2.0 + 0.9**3 * 1.0))


def test_terminal_masks_the_bootstrap() -> None:
    targets = _targets(terminated=1.0)
    assert torch.allclose(targets, torch.tensor([[1.0] * 4, [2.0] * 4]))


def test_truncation_keeps_the_bootstrap_with_the_stored_discount() -> None:
    # A time-limit end is stored with terminated = 0 and discount gamma^k for the k steps collected.
    targets = _targets(terminated=0.0, discount=0.9)
    assert torch.allclose(targets[0], torch.full((4,), 1.0 + 0.9))


def _batch(rng: np.random.Generator, size: int = 32) -> ReplayBatch:
    return ReplayBatch(obs=rng.normal(size=(size, 3)).astype(np.float32), actions=rng.integers(0, 2, size),
                       rewards=rng.normal(size=size).astype(np.float32),
                       discounts=np.full(size, 0.9, dtype=np.float32), terminated=np.ones(size, np.float32),
                       next_obs=rng.normal(size=(size, 3)).astype(np.float32), indices=np.arange(size),
                       weights=np.ones(size, dtype=np.float32))


def test_learning_fits_terminal_rewards() -> None:
    torch.manual_seed(0)
    cfg = AgentConfig(hidden_units=32, n_quantiles=8, lr=3e-3, batch_size=32, kappa=1.0)
    agent = IQNAgent(3, 2, cfg)
    rng = np.random.default_rng(0)
    batch = _batch(rng)
    first = agent.learn(batch)
    for _ in range(300):
        metrics = agent.learn(batch)
    assert metrics["loss"] < 0.2 * first["loss"]
    assert metrics["priorities"].shape == (32,)
    for key in ("q_mean", "quantile_spread", "grad_norm"):
        assert np.isfinite(metrics[key])
    assert agent.gradient_steps == 301


def test_learning_with_stratified_taus() -> None:
    torch.manual_seed(0)
    cfg = AgentConfig(hidden_units=32, n_quantiles=8, lr=3e-3, batch_size=32, tau_sampling="stratified")
    agent = IQNAgent(3, 2, cfg)
    batch = _batch(np.random.default_rng(0))
    first = agent.learn(batch)
    for _ in range(150):
        metrics = agent.learn(batch)
    assert metrics["loss"] < 0.5 * first["loss"]


def test_hard_target_update_copies_every_period() -> None:
    torch.manual_seed(0)
    agent = IQNAgent(3, 2, AgentConfig(hidden_units=16, n_quantiles=4, batch_size=8, target_update="hard",
                                       target_update_period=3))
    rng = np.random.default_rng(0)
    before = [p.clone() for p in agent.target.parameters()]
    agent.learn(_batch(rng, 8))
    agent.learn(_batch(rng, 8))
    assert all(torch.equal(a, b) for a, b in zip(before, agent.target.parameters(), strict=True))
    agent.learn(_batch(rng, 8))
    for online, target in zip(agent.online.parameters(), agent.target.parameters(), strict=True):
        assert torch.equal(online, target)


def test_soft_target_update_is_polyak_averaging() -> None:
    torch.manual_seed(0)
    agent = IQNAgent(3, 2, AgentConfig(hidden_units=16, n_quantiles=4, batch_size=8, target_update="soft",
                                       target_tau=0.25, target_update_period=1))
    before = [p.clone() for p in agent.target.parameters()]
    agent.learn(_batch(np.random.default_rng(0), 8))
    for old, online, target in zip(before, agent.online.parameters(), agent.target.parameters(), strict=True):
        assert torch.allclose(target, 0.75 * old + 0.25 * online, atol=1e-6)


def test_gradient_clipping_limits_the_update() -> None:
    torch.manual_seed(0)
    cfg = AgentConfig(hidden_units=16, n_quantiles=4, batch_size=8, grad_clip=1e-3, lr=1.0, optimizer="radam")
    agent = IQNAgent(3, 2, cfg)
    batch = _batch(np.random.default_rng(0), 8)
    batch.rewards *= 1000
    metrics = agent.learn(batch)
    assert metrics["grad_norm"] > 1e-3  # reported before clipping
    clipped = [p.grad.norm() for p in agent.online.parameters() if p.grad is not None]
    assert float(torch.linalg.vector_norm(torch.stack(clipped))) <= 1e-3 * 1.001


def test_exponential_schedule() -> None:
    schedule = ExponentialSchedule(1e-3, 1e-5, 100)
    assert schedule(0) == pytest.approx(1e-3)
    assert schedule(50) == pytest.approx(1e-4)
    assert schedule(100) == pytest.approx(1e-5)
    assert schedule(1000) == pytest.approx(1e-5)
    assert ExponentialSchedule(3e-4, 1e-5, 0)(10**6) == 3e-4


def test_linear_schedule() -> None:
    schedule = LinearSchedule(1.0, 0.1, 100)
    assert schedule(0) == 1.0
    assert schedule(50) == pytest.approx(0.55)
    assert schedule(100) == pytest.approx(0.1)
    assert schedule(10_000) == pytest.approx(0.1)
    assert LinearSchedule(1.0, 0.2, 0)(0) == 0.2


def _loss_with(double_q: bool) -> float:
    agent = IQNAgent(3, 2, AgentConfig(hidden_units=8, n_quantiles=4, batch_size=2, lr=1e-9, dueling=False,
                                       double_q=double_q, grad_clip=0.0))
    agent.online.load_state_dict(_constant_net([0.0, 5.0]).state_dict())
    agent.target.load_state_dict(_constant_net([3.0, 1.0]).state_dict())
    batch = ReplayBatch(obs=np.zeros((2, 3), np.float32), actions=np.ones(2, np.int64),
                        rewards=np.ones(2, np.float32), discounts=np.full(2, 0.9**3, np.float32),
                        terminated=np.zeros(2, np.float32), next_obs=np.zeros((2, 3), np.float32),
                        indices=np.arange(2), weights=np.ones(2, np.float32))
    torch.manual_seed(0)  # the same τ draws for both
    return agent.learn(batch)["loss"]


def test_double_q_off_lets_the_target_network_pick_the_next_action() -> None:
    # Online prefers action 1 (worth 1 to the target net), the target net action 0 (worth 3). Every quantile
    # of the taken action 1 is 5, so δ = r + γ³·Q_target(s′, a*) − 5 < 0 everywhere and the loss is
    # Σ (1 − τ) · (|δ| − κ/2): the two losses differ only in |δ| − ½.
    double, plain = _loss_with(True), _loss_with(False)
    delta_double, delta_plain = 1.0 + 0.9**3 * 1.0 - 5.0, 1.0 + 0.9**3 * 3.0 - 5.0
    assert plain / double == pytest.approx((abs(delta_plain) - 0.5) / (abs(delta_double) - 0.5), rel=1e-5)
