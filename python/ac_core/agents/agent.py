"""The IQN agent: online and target networks, optimiser, epsilon-greedy acting and one learning step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ac_core.agents.iqn import IQNNetwork, double_dqn_targets, quantile_huber_loss, sample_taus
from ac_core.agents.replay import ReplayBatch
from ac_core.agents.settings import AgentConfig
from ac_core.errors import InputError, NonFiniteError


class DeviceError(InputError, RuntimeError):
    """A torch device that does not exist or is not available on this machine."""


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; an explicit device that is not there fails clearly."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise DeviceError(f"device {name!r} is not a torch device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(f"device {name!r}: PyTorch sees no CUDA device here (torch {torch.__version__}, {build}); "
                          "use cpu or auto (the device option or train.device)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                          "use cuda:0 … or auto")
    return device


@dataclass(frozen=True)
class ExponentialSchedule:
    """Geometric interpolation from ``start`` to ``end`` over ``steps`` (Linesight's lr schedule), then
    constant; ``steps == 0`` means constant ``start``."""

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        if self.steps <= 0:
            return self.start
        fraction = min(step / self.steps, 1.0)
        return self.start * (self.end / self.start) ** fraction


@dataclass(frozen=True)
class LinearSchedule:
    """Linear interpolation from ``start`` to ``end`` over ``steps``, then constant."""

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        if self.steps <= 0 or step >= self.steps:
            return self.end
        return self.start + (self.end - self.start) * (step / self.steps)


class IQNAgent:
    def __init__(self, obs_dim: int, n_actions: int, config: AgentConfig, device: torch.device | str = "cpu",
                 precision: str = "fp32", pin_memory: bool = False) -> None:
        self.config = config
        self.device = torch.device(device)
        if precision not in ("fp32", "tf32"):
            raise ValueError(f"precision must be fp32 or tf32, got {precision!r}")
        if self.device.type == "cuda":
            # TF32: matmuls on the tensor cores with a 10-bit mantissa and fp32 accumulation; the outputs,
            # the targets and the quantile loss stay float32 (bf16 outputs would round Q ≈ 50 to ±0.25,
            # coarser than the gaps between actions). A process-wide switch in PyTorch.
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
        self.pin_memory = pin_memory and self.device.type == "cuda"
        self.obs_dim, self.n_actions = obs_dim, n_actions
        self.online = self._make_network().to(self.device)
        self.target = self._make_network().to(self.device)
        self.target.load_state_dict(self.online.state_dict())
        self.target.requires_grad_(False)
        optimizer_class = torch.optim.RAdam if config.optimizer == "radam" else torch.optim.Adam
        self.optimizer = optimizer_class(self.online.parameters(), lr=config.lr, eps=config.adam_eps)
        self.gradient_steps = 0

    def _make_network(self) -> IQNNetwork:
        cfg = self.config
        return IQNNetwork(self.obs_dim, self.n_actions, cfg.hidden_units, cfg.n_cos, cfg.dueling)

    def architecture(self) -> dict[str, Any]:
        """What must match for weights to load (checked by ac_core.checkpoint)."""
        cfg = self.config
        return {"obs_dim": self.obs_dim, "n_actions": self.n_actions, "hidden_units": cfg.hidden_units,
                "n_cos": cfg.n_cos, "dueling": cfg.dueling}

    def _as_tensor(self, array: np.ndarray) -> torch.Tensor:
        host = torch.as_tensor(np.asarray(array, dtype=np.float32))
        if self.pin_memory:  # page-locked: the copy to the GPU is a DMA that does not block this thread
            return host.pin_memory().to(self.device, non_blocking=True)
        return host.to(self.device)

    @torch.no_grad()
    def greedy_actions(self, obs: np.ndarray) -> np.ndarray:
        """argmax over the mean of K quantile samples, for a batch of observations [B, D] -> [B]."""
        q = self.online.q_values(self._as_tensor(obs), self.config.n_quantiles_policy)
        return q.argmax(dim=1).cpu().numpy()

    @torch.no_grad()
    def evaluation_actions(self, obs: np.ndarray) -> np.ndarray:
        """The policy as evaluated and deployed, for a batch [B, D] -> [B]: argmax of Q on the fixed τ grid
        of ``eval_quantiles`` (sampled τ as when acting if it is 0). Acting keeps its K sampled τ: their
        noise varies the data, where an evaluation should measure the policy itself."""
        if self.config.eval_quantiles <= 0:
            return self.greedy_actions(obs)
        q = self.online.q_values_on_grid(self._as_tensor(obs), self.config.eval_quantiles)
        return q.argmax(dim=1).cpu().numpy()

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """Epsilon-greedy actions for a batch [B, D]; each row explores independently."""
        actions = self.greedy_actions(obs)
        explore = rng.random(len(actions)) < epsilon
        if explore.any():
            actions[explore] = rng.integers(0, self.n_actions, size=int(explore.sum()))
        return actions

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def learn(self, batch: ReplayBatch) -> dict[str, Any]:
        """One gradient step on a replay batch; returns scalar metrics and per-sample TD priorities."""
        cfg = self.config
        stratified = cfg.tau_sampling == "stratified"
        obs = self._as_tensor(batch.obs)
        actions = torch.as_tensor(batch.actions, device=self.device, dtype=torch.int64)
        # Double DQN picks the next action with the online network; plain (QR-)DQN with the target one.
        selector = self.online if cfg.double_q else self.target
        targets = double_dqn_targets(selector, self.target, self._as_tensor(batch.next_obs),
                                     self._as_tensor(batch.rewards), self._as_tensor(batch.discounts),
                                     self._as_tensor(batch.terminated), cfg.n_quantiles,
                                     cfg.n_quantiles_policy, stratified)
        taus = sample_taus(obs.shape[0], cfg.n_quantiles, self.device, stratified)
        quantiles_all, _ = self.online(obs, taus=taus)  # [B, N, A]
        index = actions.view(-1, 1, 1).expand(-1, cfg.n_quantiles, 1)
        quantiles = quantiles_all.gather(2, index).squeeze(2)  # [B, N]
        per_sample = quantile_huber_loss(quantiles, taus, targets, cfg.kappa)
        loss = (per_sample * self._as_tensor(batch.weights)).mean()
        margin_loss = None
        margin_weight = cfg.demo_loss_weight * batch.expert_weight
        if batch.expert is not None and margin_weight > 0 and bool(np.any(batch.expert)):
            margin_loss = self._large_margin_loss(quantiles_all.mean(dim=1), actions, self._as_tensor(batch.expert))
            loss = loss + margin_weight * margin_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.online.parameters(), cfg.grad_clip)
        else:
            grad_norm = torch.linalg.vector_norm(torch.stack(
                [p.grad.norm() for p in self.online.parameters() if p.grad is not None]))
        if not (torch.isfinite(loss) and torch.isfinite(grad_norm)):
            # Stop before the optimiser step, so the weights (and every checkpoint) stay finite.
            self.optimizer.zero_grad(set_to_none=True)
            what, value = ("loss", loss) if not torch.isfinite(loss) else ("gradient norm", grad_norm)
            raise NonFiniteError(
                f"gradient step {self.gradient_steps + 1}: the {what} is {float(value.detach())}"
                "; the weights were left as they were. A reward or observation that is not finite, or a learning rate "
                "too high for the reward scale, causes this: check env.reward and agent.lr")
        self.optimizer.step()
        self.gradient_steps += 1
        self._update_target()
        with torch.no_grad():
            spread = (quantiles.max(dim=1).values - quantiles.min(dim=1).values).mean()
            return {"loss": float(loss), "q_mean": float(quantiles.mean()), "quantile_spread": float(spread),
                    "grad_norm": float(grad_norm), "priorities": per_sample.cpu().numpy()}

    def _large_margin_loss(self, q: torch.Tensor, actions: torch.Tensor, expert: torch.Tensor) -> torch.Tensor:
        """DQfD's supervised loss over the demonstration rows: max_a [Q(s, a) + m·1(a ≠ a_E)] − Q(s, a_E),
        Q being the mean of the quantiles at the batch's τ (Hester et al. 2018, eq. 2)."""
        margins = torch.full_like(q, self.config.demo_margin)
        margins.scatter_(1, actions.view(-1, 1), 0.0)
        demonstrated = q.gather(1, actions.view(-1, 1)).squeeze(1)
        per_row = (q + margins).max(dim=1).values - demonstrated
        return (per_row * expert).sum() / expert.sum()

    def _update_target(self) -> None:
        cfg = self.config
        if self.gradient_steps % cfg.target_update_period != 0:
            return
        if cfg.target_update == "hard":
            self.target.load_state_dict(self.online.state_dict())
            return
        with torch.no_grad():
            for target_param, online_param in zip(self.target.parameters(), self.online.parameters(),
                                                  strict=True):
                target_param.lerp_(online_param, cfg.target_tau)

    def non_finite_tensors(self) -> list[str]:
        """Names of the network tensors holding a NaN or an infinity (empty when the model is sound)."""
        return [f"{net}.{name}" for net, module in (("online", self.online), ("target", self.target))
                for name, tensor in module.state_dict().items()
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]

    def state_dict(self) -> dict[str, Any]:
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(), "gradient_steps": self.gradient_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gradient_steps = int(state["gradient_steps"])
