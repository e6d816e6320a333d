"""``ac-core test-control``: move one control at a time, for AC's binding page and to check the echo."""

from __future__ import annotations

import argparse
import json
import time

from ac_core.game.checks import (
    AXIS_CONTROLS,
    BUTTON_CONTROLS,
    PageProbe,
    control_checks,
    hold,
    print_table,
    results_json,
)

CONTROLS = (*AXIS_CONTROLS, *BUTTON_CONTROLS, "restart", "pause")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test-control",
        help="move each control in turn (for AC's binding page) and check its echo in the physics page",
        description="With --bind: for each control, a prompt, then the control moves back and forth (a button "
        "is pressed) for --seconds, so AC's controls page can learn it. Without --bind, when pages are live: each "
        "control is sent and its echo read back from the physics page; a pass/fail line per control.",
    )
    p.add_argument("--feeder", default="auto", choices=("auto", "vjoy", "uinput", "pad"), help="control output")
    p.add_argument("--prefix", default="acpmf_", help="page prefix (default acpmf_)")
    p.add_argument("--controls", default=",".join(AXIS_CONTROLS),
                   help=f"comma-separated, from {', '.join(CONTROLS)} (default: the axes)")
    p.add_argument("--bind", action="store_true", help="binding mode: prompt, then move each control")
    p.add_argument("--seconds", type=float, default=3.0, help="--bind: how long each control moves")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def _move(feeder: object, control: str, seconds: float) -> None:
    from ac_core.feeders import buttons

    end = time.monotonic() + seconds
    phase = 0
    while time.monotonic() < end:
        value = 1.0 if phase % 2 == 0 else (-1.0 if control == "steer" else 0.0)
        if control in AXIS_CONTROLS:
            hold(feeder, 0.4, **{control: value})
        else:
            hold(feeder, 0.3, buttons=buttons(control) if phase % 2 == 0 else 0)
        phase += 1
    hold(feeder, 0.05)


def run(args: argparse.Namespace) -> int:
    from ac_core.errors import InputError
    from ac_core.feeders import make_feeder
    from ac_core.shm import PageSet

    controls = [c.strip() for c in args.controls.split(",") if c.strip()]
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown or not controls:
        raise InputError(f"--controls: unknown control {unknown[0] if unknown else '(none)'!r}; valid: "
                         f"{', '.join(CONTROLS)}")
    feeder = make_feeder(args.feeder, prefix=args.prefix)
    try:
        if args.bind:
            for control in controls:
                input(f"AC controls page: click the binding for {control!r}, then press Enter here… ")
                print(f"  moving {control} for {args.seconds:g} s")
                _move(feeder, control, args.seconds)
            return 0
        checkable = [c for c in controls if c in (*AXIS_CONTROLS, *BUTTON_CONTROLS)]
        if len(checkable) != len(controls):
            raise InputError("restart and pause have no echo to check here: use --bind for them, and "
                             "`ac-core smoke-test` for the restart")
        with PageSet(args.prefix) as pages:
            results = control_checks(PageProbe(pages), feeder, checkable)
    finally:
        if hasattr(feeder, "close"):
            feeder.close()
    if args.json:
        print(json.dumps(results_json(results)))
    else:
        print_table(f"ac-core test-control (prefix {args.prefix!r}, feeder {args.feeder})", results)
    return 0 if all(r.ok for r in results) else 1
