"""``ac-core smoke-test``: is whatever runs (AC, simshmbridge, ``ac-core sim``) ready to train on?"""

from __future__ import annotations

import argparse
import json
import time

from ac_core.game.checks import (
    CheckResult,
    PageProbe,
    check_lap_clock,
    check_live,
    check_rate,
    check_restart,
    control_checks,
    print_table,
    results_json,
    timed,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "smoke-test",
        help="pages live, packet rate, each control's echo, a restart, lap timing: a pass/fail table",
        description="Runs in well under a minute against the running game or simulator: pages present and live, "
        "physics packet rate, the echo of steer/throttle/brake (and --controls), a restart through the restart "
        "binding, and the lap clock advancing. Exit code 0 when every check passed, 1 otherwise.",
    )
    p.add_argument("--prefix", default="acpmf_", help="page prefix (default acpmf_)")
    p.add_argument("--feeder", default="auto", choices=("auto", "vjoy", "uinput", "pad"), help="control output")
    p.add_argument("--controls", default="steer,throttle,brake",
                   help="controls whose echo is checked (add clutch, gear_up, gear_down with a manual gearbox)")
    p.add_argument("--restart-button", type=int, default=3, help="1-based button bound to restart (env.restart_button)")
    p.add_argument("--restart-hold", type=float, default=0.2, help="seconds the restart button is held")
    p.add_argument("--no-restart", action="store_true", help="skip the restart check")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.feeders import make_feeder
    from ac_core.shm import PageSet

    t0 = time.monotonic()
    results: list[CheckResult] = []
    pages = None
    try:
        pages = PageSet(args.prefix)
        results.append(CheckResult("pages present", True, f"{args.prefix}physics/graphics/static"))
    except Exception as e:
        results.append(CheckResult("pages present", False, str(e).split(";")[0]))
    feeder = None
    try:
        if pages is not None:
            results.append(timed("live", lambda: check_live(pages)))
            probe = PageProbe(pages)
            results.append(timed("packet rate", lambda: check_rate(probe)))
            if results[-2].ok:
                feeder = make_feeder(args.feeder, prefix=args.prefix)
                controls = [c.strip() for c in args.controls.split(",") if c.strip()]
                results.extend(control_checks(probe, feeder, controls))
                if not args.no_restart:
                    bits = 1 << (args.restart_button - 1)
                    results.append(timed("restart", lambda: check_restart(probe, feeder, bits, args.restart_hold)))
                results.append(timed("lap clock", lambda: check_lap_clock(probe, feeder)))
    finally:
        if feeder is not None and hasattr(feeder, "close"):
            feeder.close()
        if pages is not None:
            pages.close()
    total = time.monotonic() - t0
    if args.json:
        print(json.dumps({**results_json(results), "prefix": args.prefix, "seconds": round(total, 1)}))
    else:
        print_table(f"ac-core smoke-test (prefix {args.prefix!r}, feeder {args.feeder}, {total:.1f} s)", results)
    return 0 if all(r.ok for r in results) else 1
