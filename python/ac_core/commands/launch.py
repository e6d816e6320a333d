"""``ac-core launch``: write AC's race.ini for a session, start the game, wait until it drives."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ac_core.env.settings import LAP_STARTS
from ac_core.game.session import STARTERS, GameSession, LaunchOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "launch",
        help="start an AC session (race.ini, acs.exe or Content Manager) and wait until its pages are live",
        description="Writes the session into Documents/Assetto Corsa/cfg/race.ini (the user's file is backed up "
        "and restored once AC has read it), starts the game and waits until the shared-memory pages are live "
        "with the configured car and track. Values come from --config's env section, then the options.",
    )
    p.add_argument("--config", default=None, help="a training config: its env section gives the defaults")
    p.add_argument("--ac-root", default=None, help="the AC folder (with acs.exe and content/)")
    p.add_argument("--documents", default=None, help="Documents/Assetto Corsa (default: the user's)")
    p.add_argument("--car", default=None, help="folder id, ui name or the seed's spelling (FormulaAlpha2022)")
    p.add_argument("--skin", default=None, help="skin folder (default: the car's first)")
    p.add_argument("--track", default=None, help="track folder id")
    p.add_argument("--layout", default=None, help="layout folder of a multi-layout track")
    p.add_argument("--weather", default=None, help="clear, damp or wet (env.weather)")
    p.add_argument("--lap-start", default=None, choices=[s for s in LAP_STARTS if s != "random"],
                   help="pit_out (practice from the pits), standing (practice on the grid), flying (hotlap)")
    p.add_argument("--time-of-day", type=float, default=None, help="hours, 8 to 18")
    p.add_argument("--ai", type=int, default=None, help="AI opponents (default 0)")
    p.add_argument("--starter", default=None, choices=STARTERS, help="acs (default), content_manager or command")
    p.add_argument("--command", default=None, help="the game's command line, e.g. 'wine {exe}' (see docs/windows.md)")
    p.add_argument("--prefix", default=None, help="page prefix the game publishes (default acpmf_)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for live pages (default 180)")
    p.add_argument("--wait", action="store_true",
                   help="stay until the game exits or Ctrl-C (then stop it); default: leave it running")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def options_from(args: argparse.Namespace) -> LaunchOptions:
    from ac_core.env.settings import make_settings

    env: dict[str, Any] = {}
    if args.config:
        from ac_core.config import load_config

        env = load_config(args.config).env.to_kwargs()
    overrides = {"ac_root": args.ac_root, "ac_documents": args.documents, "car": args.car, "ac_skin": args.skin,
                 "track": args.track, "ac_layout": args.layout, "weather": args.weather, "lap_start": args.lap_start,
                 "ac_time_of_day": args.time_of_day, "ac_ai_opponents": args.ai, "ac_starter": args.starter,
                 "ac_command": args.command, "prefix": args.prefix, "ac_launch_timeout_s": args.timeout}
    env.update({k: v for k, v in overrides.items() if v is not None})
    env.setdefault("backend", "ac")
    if env["backend"] not in ("ac", "csp"):
        env["backend"] = "ac"
    env["ac_launch"] = True
    settings = make_settings(env, source="ac-core launch")
    return LaunchOptions.from_settings(settings)


def run(args: argparse.Namespace) -> int:
    session = GameSession(options_from(args))
    try:
        t0 = time.monotonic()
        state = session.launch()
        seconds = time.monotonic() - t0
    except BaseException:
        session.close()
        raise
    session.restore_config()  # AC read race.ini while loading; the user's file goes back now
    pid = session.process.pid if session.process is not None else None
    report = {"ok": True, "car": session.car_id, "car_ui_name": session.car_ui_name, "skin": session.skin,
              "track": session.track_id, "layout": session.layout, "session": session.spec.session,
              "spawn": session.spec.spawn_set, "prefix": session.options.prefix, "pid": pid,
              "seconds_to_live": round(seconds, 2), "physics_packets_seen": state.packets,
              "race_ini": str(session.race_ini_path)}
    if args.json:
        print(json.dumps(report))
    else:
        layout = f" ({session.layout})" if session.layout else ""
        print(f"ac-core launch: live after {seconds:.1f} s: {session.car_id} on {session.track_id}{layout}, "
              f"{session.spec.session} from {session.spec.spawn_set}, pages {session.options.prefix}*"
              + (f", game pid {pid}" if pid else ""))
    if not args.wait:
        session.process = None  # leave the game running
        return 0
    try:
        while session.process_alive() or session.options.starter == "content_manager":
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("ac-core launch: stopping the game", file=sys.stderr)
    finally:
        session.close()
    return 0
