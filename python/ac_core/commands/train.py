"""`ac-core train`: IQN on the racing environment (default: the built-in simulator)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an IQN agent (default backend: the built-in simulator)")
    p.add_argument("--config", required=True,
                   help="YAML config file, or a shipped config by name (iqn_spa_cpu, iqn_spa_falpha2022, …)")
    p.add_argument("--out", default=None, help="checkpoint folder (default: the config's train.checkpoint_dir)")
    p.add_argument("--log-dir", default=None, help="TensorBoard folder (default: the config's train.log_dir, logs/)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt with the same schedule")
    p.add_argument("--force", action="store_true",
                   help="start over in a folder that holds an earlier run (its files move to previous-<time>/)")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override a config value, e.g. --set agent.lr=1e-4 (repeatable)")
    p.add_argument("--total-timesteps", type=int, default=None, help="shortcut for --set train.total_timesteps=N")
    p.add_argument("--n-envs", type=int, default=None, help="shortcut for --set env.n_envs=N (cars in the batch)")
    p.add_argument("--device", default=None, help="shortcut for --set train.device=… (auto, cpu, cuda)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in CI logs)")
    scale = p.add_argument_group("scale-out on Ray (pip install .[distributed]; see docs/distributed.md)")
    scale.add_argument("--ray-address", default=None,
                       help="train on a Ray cluster: local (start one here), auto, HOST:PORT or ray://HOST:10001")
    scale.add_argument("--collectors", type=int, default=None,
                       help="simulator collectors (Ray actors, each running env.n_envs cars; default 2)")
    scale.add_argument("--run-name", default="main", help="names this run's actors; game boxes join it by name")
    scale.add_argument("--local-cpus", type=int, default=None,
                       help="with --ray-address local: logical CPUs of the local cluster (default: all)")
    scale.add_argument("--insecure-no-auth", action="store_true",
                       help="connect to a remote cluster without token authentication (trusted networks only)")
    p.set_defaults(func=run)


def _train_on_cluster(args: argparse.Namespace, cfg: object) -> object:
    from ac_core.distributed import require_ray

    require_ray("ac-core train --ray-address")
    from ac_core.distributed.driver import train_on_cluster
    from ac_core.distributed.settings import ClusterSettings, ScaleOutSettings

    cluster = ClusterSettings(args.ray_address, run_name=args.run_name, insecure_no_auth=args.insecure_no_auth,
                              local_cpus=args.local_cpus)
    scale = ScaleOutSettings(collectors=2 if args.collectors is None else args.collectors)
    return train_on_cluster(cfg, cluster, scale, resume=args.resume, force=args.force)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    from ac_core.config import load_config, override
    from ac_core.distributed import DistributedSetupError

    if args.ray_address is None and (args.collectors is not None or args.local_cpus is not None):
        raise DistributedSetupError("--collectors and --local-cpus need --ray-address (use --ray-address local for "
                                    "a cluster on this machine)")
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
    if args.ray_address is not None:
        result = _train_on_cluster(args, cfg)
    else:
        from ac_core.config import keys_set_by, keys_set_in
        from ac_core.train import train_racing
        from ac_core.train.execution import startup

        # Execution settings for this machine, only where the config (file or --set) leaves them unset.
        cfg, eta = startup(cfg, keys_set_in(args.config) | keys_set_by(sets), args.config, args.out,
                           echo=lambda line: print(f"ac-core train: {line}", flush=True),
                           start_step=_resumed_step(cfg) if args.resume else 0)
        result = train_racing(cfg, resume=args.resume, force=args.force, eta=eta)
    out = Path(cfg.train.checkpoint_dir)
    best = f"{result.best_score:.3f}" if result.best_score is not None else "--"
    ended = f"stopped by {result.stop_reason}" if result.stop_reason else "finished"
    print(f"\n{ended} at step {result.step} ({result.episodes} episodes, {result.gradient_steps} gradient steps, "
          f"{result.wall_seconds:.0f} s); {result.checkpoint_account}")
    print(f"best evaluation score {best} (the best clean lap in s; every lap cut: 500 + lap; no lap: 1000 + "
          "metres short / 10)")
    written = ", ".join(str(out / name) for name in ("last.pt", "best.pt") if (out / name).is_file()) or "none"
    print(f"checkpoints: {written}; TensorBoard: tensorboard --logdir {cfg.train.log_dir}")
    return 130 if result.interrupted else 0


def _resumed_step(cfg: Any) -> int:
    """The env step a resumed run continues from (its last.pt), for the ETA; 0 when there is none yet
    (the trainer reports a missing or unreadable last.pt itself)."""
    from ac_core.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(Path(cfg.train.checkpoint_dir) / "last.pt").step)
    except (OSError, ValueError, RuntimeError):
        return 0
