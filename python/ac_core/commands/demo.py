"""`ac-core demo`: make a demonstration set for training with ``train.demonstrations``: laps of the
reference driver or of a checkpoint driven in the config's env (:mod:`ac_core.train.demonstrations`),
or laps someone drove that ``ac-core record`` recorded (``--from-recording``, :mod:`ac_core.train.recordings`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="demonstration laps for training: the reference driver, a checkpoint, or "
                                    "`ac-core record` recordings")
    p.add_argument("--config", required=True, help="the training config the demonstrations are for")
    p.add_argument("--laps", type=int, default=5, help="flying laps to drive (default 5)")
    p.add_argument("--driver", default="reference", help="'reference' (built-in driver) or a checkpoint .pt")
    p.add_argument("--from-recording", nargs="+", metavar="FILE", default=None,
                   help="instead of driving: recordings from `ac-core record` (.csv, .jsonl, .json or .parquet; a "
                        "person in AC, a checkpoint on `ac-core sim`, ...), replayed through the config's env; "
                        "every lap in them is used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the .npz to write, e.g. demos/reference_5.npz")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override a config value, as for ac-core train")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.config import load_config, override
    from ac_core.train.demonstrations import drive_laps
    from ac_core.train.recordings import demonstrations_from_recordings

    cfg = load_config(args.config)
    if args.set:
        cfg = override(cfg, args.set)

    def echo(line: str) -> None:
        print(f"ac-core demo: {line}", flush=True)

    if args.from_recording:
        demos = demonstrations_from_recordings(cfg, args.from_recording, echo=echo)
        source = f"{len(args.from_recording)} recording(s), {demos.meta['recorded_seconds']:.0f} s"
    else:
        demos = drive_laps(cfg, args.laps, args.driver, args.seed, echo=echo)
        source = f"driver {args.driver}"
    demos.save(args.out)
    print(f"ac-core demo: {len(demos)} transitions ({demos.meta['laps']} laps, {source}) -> {args.out}; "
          f"train with --set train.demonstrations={args.out}")
    return 0
