"""Implicit Quantile Networks (Dabney et al. 2018): network, quantile Huber loss, double-DQN target.

Shapes follow Dopamine: quantiles are [B, N, A] for B states, N sampled quantile fractions tau and A
actions; taus are [B, N]. Q(s, a) is the mean over quantiles.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sample_taus(batch: int, n: int, device: torch.device | str = "cpu", stratified: bool = False
                ) -> torch.Tensor:
    """Quantile fractions [batch, n] in [0, 1].

    Uniform: i.i.d. U(0, 1) (Dabney et al.). Stratified (Linesight): tau_j = (j + U_j)/n for j < n/2 and
    the mirror 1 - tau_j for the other half, so every row covers both tails evenly; n must be even.
    """
    if not stratified:
        return torch.rand(batch, n, device=device)
    if n % 2:
        raise ValueError(f"stratified tau sampling needs an even number of quantiles, got {n}")
    half = n // 2
    lower = (torch.arange(half, device=device) + torch.rand(batch, half, device=device)) / n
    return torch.cat([lower, 1.0 - lower.flip(-1)], dim=1)


class IQNNetwork(nn.Module):
    """MLP torso over float observations x cosine tau embedding (Hadamard) -> dueling quantile head."""

    def __init__(self, obs_dim: int, n_actions: int, hidden_units: int = 512, n_cos: int = 64,
                 dueling: bool = True) -> None:
        super().__init__()
        if obs_dim < 1 or n_actions < 1:
            raise ValueError(f"obs_dim ({obs_dim}) and n_actions ({n_actions}) must be >= 1")
        self.obs_dim, self.n_actions, self.hidden_units = obs_dim, n_actions, hidden_units
        self.n_cos, self.dueling = n_cos, dueling
        self.torso = nn.Sequential(nn.Linear(obs_dim, hidden_units), nn.ReLU(),
                                   nn.Linear(hidden_units, hidden_units), nn.ReLU())
        # cos(i * pi * tau) for i = 1..n_cos (Dopamine, Linesight).
        self.register_buffer("cos_frequencies", math.pi * torch.arange(1, n_cos + 1, dtype=torch.float32))
        self.tau_embedding = nn.Sequential(nn.Linear(n_cos, hidden_units), nn.ReLU())
        if dueling:
            self.value_head = nn.Sequential(nn.Linear(hidden_units, hidden_units), nn.ReLU(),
                                            nn.Linear(hidden_units, 1))
        self.advantage_head = nn.Sequential(nn.Linear(hidden_units, hidden_units), nn.ReLU(),
                                            nn.Linear(hidden_units, n_actions))

    def forward(self, obs: torch.Tensor, n_taus: int | None = None, taus: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantile values [B, N, A] at ``taus`` [B, N] (drawn uniformly when only ``n_taus`` is given)."""
        batch = obs.shape[0]
        if taus is None:
            if n_taus is None:
                raise ValueError("pass n_taus or taus")
            taus = sample_taus(batch, n_taus, obs.device)
        features = self.torso(obs)  # [B, H]
        cosines = torch.cos(taus.unsqueeze(-1) * self.cos_frequencies)  # [B, N, n_cos]
        embedded = features.unsqueeze(1) * self.tau_embedding(cosines)  # [B, N, H]
        advantages = self.advantage_head(embedded)  # [B, N, A]
        if not self.dueling:
            return advantages, taus
        values = self.value_head(embedded)  # [B, N, 1]
        return values + advantages - advantages.mean(dim=-1, keepdim=True), taus

    def q_values(self, obs: torch.Tensor, n_taus: int) -> torch.Tensor:
        """Q(s, .) as the mean over ``n_taus`` sampled quantiles: [B, A]."""
        return self(obs, n_taus)[0].mean(dim=1)

    def q_values_on_grid(self, obs: torch.Tensor, n_taus: int) -> torch.Tensor:
        """Q(s, .) as the mean over quantiles at the ``n_taus`` midpoints (k + 0.5)/n_taus: [B, A]. The
        midpoint rule's error falls as 1/n² where sampling's noise falls as 1/√n, and it has no noise: two
        actions a few tenths apart are ranked the same way every time."""
        grid = (torch.arange(n_taus, device=obs.device, dtype=torch.float32) + 0.5) / n_taus
        return self(obs, taus=grid.expand(obs.shape[0], n_taus))[0].mean(dim=1)


def quantile_huber_loss(quantiles: torch.Tensor, taus: torch.Tensor, targets: torch.Tensor,
                        kappa: float) -> torch.Tensor:
    """Per-sample quantile Huber loss [B].

    quantiles [B, N] at taus [B, N] (online), targets [B, N'] (no gradient). With
    delta_ij = target_j - quantile_i: rho = |tau_i - 1{delta_ij < 0}| * Huber_kappa(delta_ij) / kappa,
    summed over the N online quantiles and averaged over the N' target quantiles (Dopamine).
    """
    if taus.requires_grad:
        raise ValueError("taus must not require grad")
    delta = targets.unsqueeze(1) - quantiles.unsqueeze(2)  # [B, N, N']
    abs_delta = delta.abs()
    huber = torch.where(abs_delta <= kappa, 0.5 * delta.pow(2), kappa * (abs_delta - 0.5 * kappa))
    weight = (taus.unsqueeze(2) - (delta.detach() < 0).float()).abs()
    return (weight * huber / kappa).mean(dim=2).sum(dim=1)


@torch.no_grad()
def double_dqn_targets(online: IQNNetwork, target: IQNNetwork, next_obs: torch.Tensor, rewards: torch.Tensor,
                       discounts: torch.Tensor, terminated: torch.Tensor, n_target_taus: int,
                       n_policy_taus: int, stratified: bool = False) -> torch.Tensor:
    """Target quantiles [B, N']: r + discount * (1 - terminated) * Z_target(s', a*, tau').

    a* = argmax_a of the online network's mean over K = n_policy_taus samples at s' (double DQN); the
    target network evaluates a* at N' fresh tau' (stratified or uniform).
    """
    best_actions = online.q_values(next_obs, n_policy_taus).argmax(dim=1)  # [B]
    target_taus = sample_taus(next_obs.shape[0], n_target_taus, next_obs.device, stratified)
    next_quantiles, _ = target(next_obs, taus=target_taus)  # [B, N', A]
    index = best_actions.view(-1, 1, 1).expand(-1, n_target_taus, 1)
    chosen = next_quantiles.gather(2, index).squeeze(2)  # [B, N']
    bootstrap = (discounts * (1.0 - terminated)).unsqueeze(1)
    return rewards.unsqueeze(1) + bootstrap * chosen
