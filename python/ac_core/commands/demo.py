"""`ac-core demo`: record a demonstration set — laps of the reference driver or of a checkpoint in the
config's env — for training with ``train.demonstrations`` (:mod:`ac_core.train.demonstrations`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="record demonstration laps (reference driver or a checkpoint) for training")
    p.add_argument("--config", required=True, help="the training config the demonstrations are for")
    p.add_argument("--laps", type=int, default=5, help="flying laps to drive (default 5)")
    p.add_argument("--driver", default="reference", help="'reference' (built-in driver) or a checkpoint .pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the .npz to write, e.g. demos/reference_5.npz")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override a config value, as for ac-core train")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.config import load_config, override
    from ac_core.train.demonstrations import drive_laps

    cfg = load_config(args.config)
    if args.set:
        cfg = override(cfg, args.set)
    demos = drive_laps(cfg, args.laps, args.driver, args.seed,
                       echo=lambda line: print(f"ac-core demo: {line}", flush=True))
    demos.save(args.out)
    print(f"ac-core demo: {len(demos)} transitions ({demos.meta['laps']} laps, driver {args.driver}) -> {args.out}; "
          f"train with --set train.demonstrations={args.out}")
    return 0
