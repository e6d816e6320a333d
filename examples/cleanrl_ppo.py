"""A CleanRL-style PPO loop (one file, every step visible) on the batched simulator.

``gymnasium.make_vec`` gives one simulator driving N cars (the registered vector entry point), in
Gymnasium's NextStep autoreset mode so its vector wrappers apply: episode statistics, action clipping,
observation and reward normalisation, as CleanRL's ppo_continuous_action.py wraps its envs.

    python examples/cleanrl_ppo.py --steps 500000 --n-envs 16      # a real run
    python examples/cleanrl_ppo.py --steps 256 --n-envs 4          # what the test suite runs
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions.normal import Normal

import ac_core.env  # registers ac_core/AssettoCorsa-v0


def make_envs(n_envs: int, track: str) -> gym.vector.VectorEnv:
    envs = gym.make_vec(ac_core.env.ENV_ID, num_envs=n_envs, vectorization_mode="vector_entry_point",
                        track=track, action_set="continuous_pedal", lap_start="random", autoreset_mode="NextStep")
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    envs = gym.wrappers.vector.ClipAction(envs)
    envs = gym.wrappers.vector.NormalizeObservation(envs)
    envs = gym.wrappers.vector.TransformObservation(envs, lambda obs: np.clip(obs, -10, 10))
    envs = gym.wrappers.vector.NormalizeReward(envs, gamma=0.99)
    return gym.wrappers.vector.TransformReward(envs, lambda reward: np.clip(reward, -10, 10))


class Agent(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
        self.actor = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                                   nn.Linear(64, act_dim))
        self.log_std = nn.Parameter(torch.zeros(1, act_dim))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(self, obs: torch.Tensor, action: torch.Tensor | None = None):
        dist = Normal(self.actor(obs), self.log_std.exp().expand(len(obs), -1))
        action = dist.sample() if action is None else action
        return action, dist.log_prob(action).sum(-1), self.value(obs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500_000, help="environment steps in all (all cars)")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--rollout", type=int, default=64, help="steps per car per update")
    parser.add_argument("--track", default="spa")
    args = parser.parse_args()
    torch.manual_seed(0)
    gamma, lam, clip, epochs, minibatches = 0.99, 0.95, 0.2, 4, 4

    envs = make_envs(args.n_envs, args.track)
    n, t_len = args.n_envs, min(args.rollout, max(1, args.steps // args.n_envs))
    obs_dim, act_dim = envs.single_observation_space.shape[0], envs.single_action_space.shape[0]
    agent = Agent(obs_dim, act_dim)
    optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5)
    buf_obs, buf_act = torch.zeros(t_len, n, obs_dim), torch.zeros(t_len, n, act_dim)
    buf_logp, buf_rew, buf_done, buf_val = (torch.zeros(t_len, n) for _ in range(4))

    obs, _ = envs.reset(seed=0)
    next_obs, next_done = torch.as_tensor(obs, dtype=torch.float32), torch.zeros(n)
    returns: list[float] = []
    steps = 0
    while steps < args.steps:
        for t in range(t_len):
            buf_obs[t], buf_done[t] = next_obs, next_done
            with torch.no_grad():
                action, logp, value = agent.act(next_obs)
            buf_act[t], buf_logp[t], buf_val[t] = action, logp, value
            obs, reward, terminated, truncated, infos = envs.step(action.numpy())
            buf_rew[t] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(obs, dtype=torch.float32)
            next_done = torch.as_tensor(np.logical_or(terminated, truncated), dtype=torch.float32)
            if "episode" in infos:  # RecordEpisodeStatistics: the episodes that ended this step
                returns += infos["episode"]["r"][infos["_episode"]].tolist()
            steps += n

        with torch.no_grad():  # generalised advantage estimation
            advantages, last = torch.zeros(t_len, n), torch.zeros(n)
            next_value = agent.value(next_obs)
            for t in reversed(range(t_len)):
                not_done = 1.0 - (next_done if t == t_len - 1 else buf_done[t + 1])
                following = next_value if t == t_len - 1 else buf_val[t + 1]
                delta = buf_rew[t] + gamma * following * not_done - buf_val[t]
                advantages[t] = last = delta + gamma * lam * not_done * last
            targets = advantages + buf_val

        b_obs, b_act, b_logp = buf_obs.reshape(-1, obs_dim), buf_act.reshape(-1, act_dim), buf_logp.reshape(-1)
        b_adv, b_target = advantages.reshape(-1), targets.reshape(-1)
        # NextStep autoreset: a slot right after an episode's end is the reset, not a transition (its action
        # was ignored); leave it out of the update.
        real = torch.nonzero(buf_done.reshape(-1) == 0).squeeze(1)
        for _ in range(epochs):
            for mb in real[torch.randperm(len(real))].chunk(minibatches):
                _, logp, value = agent.act(b_obs[mb], b_act[mb])
                ratio = (logp - b_logp[mb]).exp()
                adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip)).mean()
                loss = policy_loss + 0.5 * ((value - b_target[mb]) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
        recent = f"{np.mean(returns[-20:]):.2f}" if returns else "none yet"
        print(f"steps {steps}: {len(returns)} episodes, mean return of the last 20: {recent}")
    envs.close()


if __name__ == "__main__":
    main()
