"""`ac-core actor`: run next to the game and feed a cluster run (see ac_core.distributed.game_box)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("actor", help="drive a car next to the game and stream its experience to a Ray cluster run")
    p.add_argument("--ray-address", required=True, help="the head's Ray Client address, e.g. ray://HEAD:10001")
    p.add_argument("--backend", default="ac",
                   help="the env backend that drives the car here: ac, csp, sim-live (any backend the env accepts)")
    p.add_argument("--run-name", default="main", help="the cluster run to join (ac-core train --run-name)")
    p.add_argument("--set", metavar="env.KEY=VALUE", action="append", default=[],
                   help="override a setting of the learner's config for this box, e.g. --set env.time_scale=4")
    p.add_argument("--steps", type=int, default=None, help="stop after this many env steps (default: until Ctrl-C)")
    p.add_argument("--buffer-transitions", type=int, default=100_000,
                   help="transitions kept while the cluster is unreachable; the oldest are dropped beyond this")
    p.add_argument("--push-every", type=int, default=64, help="transitions per batch sent to the replay")
    p.add_argument("--sync-every", type=int, default=200, help="env steps between weight pulls")
    p.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to wait for the head to answer")
    p.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the run's learner to appear")
    p.add_argument("--insecure-no-auth", action="store_true",
                   help="connect without token authentication (only to a cluster started with RAY_AUTH_MODE=disabled)")
    p.add_argument("--seed", type=int, default=None, help="exploration seed (default: from the config and pid)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.distributed import DistributedSetupError, RayMissingError, require_ray

    try:
        require_ray("ac-core actor")
    except RayMissingError as exc:
        print(f"ac-core actor: {exc}", file=sys.stderr)
        return 2
    from ac_core.config import ConfigError
    from ac_core.distributed.cluster import ClusterConnectionError
    from ac_core.distributed.game_box import run_game_box
    from ac_core.distributed.settings import ClusterSettings
    from ac_core.env.settings import EnvConfigError

    if args.ray_address == "local":
        print("ac-core actor: --ray-address local would start a cluster of its own; give the head's address, "
              "e.g. ray://HEAD:10001", file=sys.stderr)
        return 2
    bad = [s for s in args.set if not s.startswith("env.")]
    if bad:
        print(f"ac-core actor: --set {bad[0]!r}: only env.* settings can be changed on a game box (the agent "
              "settings are the learner's)", file=sys.stderr)
        return 2
    for name in ("steps", "buffer_transitions", "push_every", "sync_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"ac-core actor: --{name.replace('_', '-')} must be >= 1, got {value}", file=sys.stderr)
            return 2
    try:
        cluster = ClusterSettings(args.ray_address, run_name=args.run_name, insecure_no_auth=args.insecure_no_auth,
                                  connect_timeout_s=args.connect_timeout)
        summary = run_game_box(cluster, args.backend, args.set, args.steps, args.buffer_transitions, args.push_every,
                               args.sync_every, args.wait, seed=args.seed,
                               log=lambda message: print(message, flush=True))
    except (ClusterConnectionError, ConfigError, EnvConfigError, DistributedSetupError) as exc:
        print(f"ac-core actor: {exc}", file=sys.stderr)
        return 2
    return 130 if summary["interrupted"] else 0
