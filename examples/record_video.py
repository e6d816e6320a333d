"""Gymnasium's RecordVideo on the environment: render_mode="rgb_array" gives the top-down frame of the
project's videos (the view follows the car, its path coloured by speed, a minimap of the lap).

    python examples/record_video.py --out videos --steps 400

Needs moviepy (``pip install moviepy``), as RecordVideo does. The policy here is a simple line follower
on the observation (steer towards the centre line ahead, brake when it bends): something to film.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import RecordVideo

import ac_core.env  # registers ac_core/AssettoCorsa-v0


def follow_the_line(obs: np.ndarray, layout: dict[str, slice]) -> np.ndarray:
    """(steer, pedal): steer towards the centre line ahead (steer < 0 is left), brake where it bends."""
    ahead = obs[layout["lookahead"]].reshape(-1, 2)  # (forward, left), normalised
    left = float(ahead[min(10, len(ahead) - 1), 1])
    bend = float(np.abs(obs[layout["curvature_ahead"]][:12]).max())
    return np.array([np.clip(-2.0 * left, -1.0, 1.0), 0.7 if bend < 0.5 else -0.3], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="videos", help="folder for the videos")
    parser.add_argument("--steps", type=int, default=400, help="steps to drive (20 per second of video)")
    args = parser.parse_args()

    env = gym.make(ac_core.env.ENV_ID, render_mode="rgb_array", action_set="continuous_pedal",
                   max_episode_steps=args.steps)
    env = RecordVideo(env, video_folder=args.out, name_prefix="spa", episode_trigger=lambda episode: episode == 0)
    layout = env.unwrapped.core.layout.slices
    obs, _ = env.reset(seed=0)
    for _ in range(args.steps):
        obs, _, terminated, truncated, info = env.step(follow_the_line(obs, layout))
        if terminated or truncated:
            break
    env.close()  # writes the video
    videos = sorted(Path(args.out).glob("*.mp4"))
    print(f"drove {info['distance']:.0f} m; videos: {', '.join(str(v) for v in videos)}")


if __name__ == "__main__":
    main()
