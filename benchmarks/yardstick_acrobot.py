"""Yardstick beyond CartPole: the generic IQN trainer on Acrobot-v1 against rl-baselines3-zoo's QR-DQN
(−69.1 ± 10.0 after 100 k env steps; research/iqn_and_racing_rl.md §7).

    python -m benchmarks.yardstick_acrobot --seeds 0 1 2 --jobs 3 --out docs/results/acrobot_iqn

trains each seed for 100 k env steps with :data:`ACROBOT_AGENT`, evaluates 10 greedy episodes every
5 k steps (the zoo's protocol is deterministic evaluation too), and writes ``<out>.json`` (every
evaluation, per seed) and ``<out>.png`` (the curves beside the zoo's result). Too long for the test
suite: three seeds at once take about 45 min on a 2-core machine. docs/agent.md, "Yardstick: Acrobot-v1",
has the measured curve and what else was tried.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

ZOO_QRDQN = (-69.135, 9.967)  # rl-baselines3-zoo benchmark.md, QR-DQN, Acrobot-v1, 100 k steps
BUDGET = 100_000
EVAL_INTERVAL = 5_000

# The zoo's QR-DQN settings (lr, batch 128, buffer, γ, learning from the first batch, ε → 0.1 over 12 k
# steps, one gradient step per env step taken 4 at a time every 4 env steps, a hard target copy every 250
# env steps, 256 units) in an IQN with N = K = 8, and, unlike the project's defaults, no dueling head (as
# the zoo's QR-DQN) with 3-step returns. docs/agent.md, "Yardstick: Acrobot-v1", has what was measured
# and why.
ACROBOT_AGENT: dict[str, Any] = {
    "gamma": 0.99, "lr": 6.3e-4, "batch_size": 128, "n_quantiles": 8, "n_quantiles_policy": 8, "hidden_units": 256,
    "dueling": False, "n_step": 3, "target_update": "hard", "target_update_period": 250, "grad_clip": 10.0,
    "epsilon_start": 1.0, "epsilon_end": 0.1, "epsilon_decay_steps": 12_000, "replay_size": 50_000,
    "learning_starts": 0, "train_freq": 4, "gradient_steps": 4,
}


def train_acrobot(seed: int, workdir: Path, agent: Mapping[str, Any] = ACROBOT_AGENT, budget: int = BUDGET,
                  eval_interval: int = EVAL_INTERVAL) -> dict[str, Any]:
    """One seed: the evaluations (env step, mean greedy return over 10 episodes) and the run's cost."""
    import torch

    from ac_core.config import config_from_dict
    from ac_core.train.loop import Trainer, TrainerHooks

    cfg = config_from_dict({
        "agent": dict(agent),
        "train": {"total_timesteps": budget, "eval_interval": eval_interval, "save_interval": budget,
                  "eval_episodes": 10, "seed": seed, "device": "cpu", "torch_threads": 1, "progress": False,
                  "keep_step_checkpoints": False, "log_dir": str(workdir / "logs"),
                  "checkpoint_dir": str(workdir / "checkpoints")},
    })
    evaluations: list[tuple[int, float]] = []
    trainer: Trainer | None = None

    def record(metrics: Mapping[str, float]) -> bool:
        assert trainer is not None
        evaluations.append((trainer.step, float(metrics["eval/mean_return"])))
        print(f"seed {seed}: {trainer.step:>7,} steps  greedy return {evaluations[-1][1]:7.1f}", flush=True)
        return False

    threads = torch.get_num_threads()
    try:
        trainer = Trainer(cfg, lambda: gym.make_vec("Acrobot-v1", num_envs=1, vectorization_mode="sync"),
                          eval_env_factory=lambda: gym.make_vec("Acrobot-v1", num_envs=10, vectorization_mode="sync"),
                          hooks=TrainerHooks(stop=record))
        started = time.perf_counter()
        result = trainer.train()
    finally:
        torch.set_num_threads(threads)
    return {"seed": seed, "evaluations": evaluations, "env_steps": result.step,
            "gradient_steps": result.gradient_steps, "wall_seconds": round(time.perf_counter() - started, 1)}


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        steps, returns = zip(*run["evaluations"], strict=True)
        ax.plot(steps, returns, marker="o", markersize=3, label=f"IQN seed {run['seed']}")
    mean, std = ZOO_QRDQN
    ax.axhspan(mean - std, mean + std, color="tab:green", alpha=0.2, label="zoo QR-DQN at 100 k: −69 ± 10")
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean greedy return (10 episodes)")
    ax.set_ylim(-510, 0)
    ax.set_title("Acrobot-v1: ac_core IQN (benchmarks/yardstick_acrobot.py)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    finals = [run["evaluations"][-1][1] for run in runs]
    best = [max(r for _, r in run["evaluations"]) for run in runs]
    return {"final_mean": float(np.mean(finals)), "final_std": float(np.std(finals)), "finals": finals,
            "best_per_seed": best, "zoo_qrdqn": {"mean": ZOO_QRDQN[0], "std": ZOO_QRDQN[1]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=BUDGET)
    parser.add_argument("--out", default="acrobot_iqn", help="writes <out>.json and <out>.png")
    parser.add_argument("--jobs", type=int, default=1,
                        help="seeds trained at once, in separate processes (one torch thread each)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="change one of ACROBOT_AGENT's settings (a YAML value), e.g. --set n_step=3")
    args = parser.parse_args(argv)
    import yaml

    agent = dict(ACROBOT_AGENT)
    for assignment in args.set:
        key, _, value = assignment.partition("=")
        agent[key.strip()] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory() as tmp:
        if args.jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fresh interpreter per seed, so no torch or gym state is shared through fork.
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(train_acrobot, seed, Path(tmp) / f"seed{seed}", agent, args.steps)
                           for seed in args.seeds]
                runs = [future.result() for future in futures]
        else:
            runs = [train_acrobot(seed, Path(tmp) / f"seed{seed}", agent, budget=args.steps) for seed in args.seeds]
    result = {"agent": agent, "budget": args.steps, "eval_interval": EVAL_INTERVAL,
              "summary": summary(runs), "runs": runs}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(runs, out.with_suffix(".png"))
    s = result["summary"]
    print(f"final greedy return {s['final_mean']:.1f} ± {s['final_std']:.1f} over seeds {args.seeds} "
          f"(zoo QR-DQN {ZOO_QRDQN[0]} ± {ZOO_QRDQN[1]}); {out.with_suffix('.json')}, {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
