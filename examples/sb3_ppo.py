"""Stable-Baselines3 PPO on the built-in simulator, continuous (steer, pedal) actions.

    python examples/sb3_ppo.py --steps 200000 --n-envs 8            # a real run (about 1200 steps/s)
    python examples/sb3_ppo.py --steps 256 --vec subproc             # what the test suite runs

SB3's make_vec_env takes the registered id (importing ac_core.env registers it; SubprocVecEnv's workers
import this file, so the import at the top registers it there too).
"""

from __future__ import annotations

import argparse

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import ac_core.env  # registers ac_core/AssettoCorsa-v0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="environment steps in all")
    parser.add_argument("--n-envs", type=int, default=2)
    parser.add_argument("--vec", choices=("dummy", "subproc"), default="dummy")
    parser.add_argument("--track", default="spa")
    parser.add_argument("--save", default=None, help="write the trained model here (.zip)")
    args = parser.parse_args()

    env = make_vec_env(ac_core.env.ENV_ID, n_envs=args.n_envs, seed=0,
                       vec_env_cls=SubprocVecEnv if args.vec == "subproc" else DummyVecEnv,
                       env_kwargs={"track": args.track, "action_set": "continuous_pedal", "lap_start": "random"})
    n_steps = max(16, min(1024, args.steps // args.n_envs))  # one rollout fits even a short test run
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=min(64, n_steps * args.n_envs), seed=0, verbose=0)
    model.learn(total_timesteps=args.steps)
    obs = env.reset()
    actions, _ = model.predict(obs, deterministic=True)
    _, _, _, infos = env.step(actions)
    print(f"PPO: {model.num_timesteps} steps on {args.n_envs} cars ({args.vec}); "
          f"speed now {[round(i['speed_kmh'], 1) for i in infos]} km/h")
    if args.save:
        model.save(args.save)
    env.close()


if __name__ == "__main__":
    main()
