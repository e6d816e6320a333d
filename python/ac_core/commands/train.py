"""`ac-core train`: IQN on the racing environment (default: the built-in simulator)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an IQN agent (default backend: the built-in simulator)")
    p.add_argument("--config", required=True, help="YAML config, e.g. configs/iqn_spa_falpha2022.yaml")
    p.add_argument("--out", default=None, help="checkpoint folder (default: the config's train.checkpoint_dir)")
    p.add_argument("--log-dir", default=None, help="TensorBoard folder (default: the config's train.log_dir, logs/)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt with the same schedule")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override a config value, e.g. --set agent.lr=1e-4 (repeatable)")
    p.add_argument("--total-timesteps", type=int, default=None, help="shortcut for --set train.total_timesteps=N")
    p.add_argument("--n-envs", type=int, default=None, help="shortcut for --set env.n_envs=N (cars in the batch)")
    p.add_argument("--device", default=None, help="shortcut for --set train.device=… (auto, cpu, cuda)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in CI logs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.config import ConfigError, load_config, override
    from ac_core.env.settings import EnvConfigError

    try:
        cfg = load_config(args.config)
        sets = list(args.set)
        if args.out:
            sets.append(f"train.checkpoint_dir={args.out}")
        if args.log_dir:
            sets.append(f"train.log_dir={args.log_dir}")
        if args.total_timesteps is not None:
            sets.append(f"train.total_timesteps={args.total_timesteps}")
        if args.n_envs is not None:
            sets.append(f"env.n_envs={args.n_envs}")
        if args.device:
            sets.append(f"train.device={args.device}")
        if args.no_progress:
            sets.append("train.progress=false")
        if sets:
            cfg = override(cfg, sets)
        from ac_core.training import train_racing

        result = train_racing(cfg, resume=args.resume)
    except (ConfigError, EnvConfigError) as e:
        print(f"ac-core train: {e}", file=sys.stderr)
        return 2
    out = Path(cfg.train.checkpoint_dir)
    best = f"{result.best_score:.3f}" if result.best_score is not None else "--"
    print(f"\n{'interrupted' if result.interrupted else 'finished'} at step {result.step} "
          f"({result.episodes} episodes, {result.gradient_steps} gradient steps, {result.wall_seconds:.0f} s)")
    print(f"best evaluation score {best} (lap time in s, or 1000 + metres short of a lap / 10)")
    print(f"checkpoints: {out}/last.pt, {out}/best.pt; TensorBoard: tensorboard --logdir {cfg.train.log_dir}")
    return 130 if result.interrupted else 0
