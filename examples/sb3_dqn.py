"""Stable-Baselines3 DQN on the built-in simulator with the discrete action table (28 actions).

    python examples/sb3_dqn.py --steps 300000       # a real run (about 1000 steps/s)
    python examples/sb3_dqn.py --steps 300          # what the test suite runs
"""

from __future__ import annotations

import argparse

import gymnasium as gym
from stable_baselines3 import DQN

import ac_core.env  # registers ac_core/AssettoCorsa-v0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000, help="environment steps")
    parser.add_argument("--track", default="spa")
    args = parser.parse_args()

    env = gym.make(ac_core.env.ENV_ID, track=args.track, action_set="discrete", lap_start="random")
    model = DQN("MlpPolicy", env, learning_starts=min(1000, args.steps // 2), buffer_size=100_000,
                train_freq=4, target_update_interval=1000, exploration_fraction=0.2, seed=0, verbose=0)
    model.learn(total_timesteps=args.steps)
    obs, info = env.reset(seed=1)
    episode_return = 0.0
    for _ in range(200):  # a short greedy drive
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(int(action))
        episode_return += reward
        if terminated or truncated:
            break
    print(f"DQN: {model.num_timesteps} steps; greedy drive: return {episode_return:.2f}, "
          f"{info['distance']:.0f} m, {info['speed_kmh']:.1f} km/h")
    env.close()


if __name__ == "__main__":
    main()
