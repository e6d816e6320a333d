"""`ac-core doctor`: what is running, and what can drive a car here."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ac_core import control_outputs, csp, pages, shm


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="report which AC pages are present, whether the session is live, and usable control outputs",
        description="Checks the AC shared-memory pages (found, size, live, version, car, track, layout) "
        "and the control outputs (vJoy, uinput, the built-in pad). Exits 0 when a live session is found.",
    )
    p.add_argument("--prefix", default=shm.DEFAULT_PREFIX, help="page name prefix (default: acpmf_)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--watch-seconds", type=float, default=0.3, help="how long to watch packetId for liveness")
    p.add_argument("--csp-car", type=int, default=0, help="car index for the CSP Custom AI check (default 0)")
    p.add_argument(
        "--csp-probe",
        action="store_true",
        help="take car N over through CSP Custom AI for a moment (the car brakes) to check that CSP hands it over",
    )
    p.set_defaults(func=run)


def collect(prefix: str, watch_seconds: float, csp_car: int = 0, csp_probe: bool = False) -> dict[str, Any]:
    infos = shm.probe_pages(prefix)
    csp_prefix = csp.csp_prefix_for(prefix)
    report: dict[str, Any] = {
        "prefix": prefix,
        "pages": [vars(i) for i in infos],
        "session": None,
        "controls": [vars(o) for o in control_outputs.probe_all()],
        "csp": csp.probe(csp_prefix, csp_car, watch_seconds),
    }
    if csp_probe:
        report["csp"]["takeover"] = csp.probe_takeover(csp_prefix, csp_car)
    if all(i.found and i.error is None for i in infos):
        with shm.PageSet(prefix) as ps:
            seen = shm.watch_session(ps, watch_seconds)
            summary = pages.static_summary(ps.static)
            bad = pages.non_finite_fields(ps.physics, page_size=ps.size("physics"))
            report["session"] = {
                "liveness": seen.state,
                "physics_packets_seen": seen.packets,
                "gone_reason": seen.reason,
                "writer_pid": ps.writer_pid(),
                "status": pages.AcStatus(int(ps.graphics["status"])).name
                if int(ps.graphics["status"]) in pages.AcStatus._value2member_map_
                else int(ps.graphics["status"]),
                **summary,
                "non_finite_fields": bad,
                "snapshot_stats": ps.stats(),
            }
    report["ok"] = report["session"] is not None and report["session"]["liveness"] == "live"
    unusable = [i for i in infos if i.found and i.error]
    if unusable:
        report["advice"] = shm.invalid_page_message(prefix, unusable[0].name, unusable[0].error)
    elif report["session"] is None:
        report["advice"] = "no AC session found: " + shm.what_to_start(prefix)
    elif not report["ok"]:
        report["advice"] = _advice(prefix, report["session"])
    return report


def _advice(prefix: str, session: dict[str, Any]) -> str:
    """What to do about a session that is not live: the fix differs for paused, stalled and gone."""
    state = session["liveness"]
    writer = f" (pid {session['writer_pid']})" if session.get("writer_pid") else ""
    if state == "gone":
        return (f"the pages of prefix {prefix!r} are left over: {session['gone_reason']}; start the game or "
                f"`ac-core sim --prefix {prefix}` again")
    if state == "stalled":
        return (f"stalled: graphics.status is LIVE but the physics packetId did not move while watching: the game "
                f"or simulator{writer} hangs (a paused game shows AC_PAUSE); check it or restart it")
    if state == "paused":
        return "the game is paused (AC_PAUSE): resume it"
    return f"pages found but the session is {state}: start driving in AC (or the simulator)"


def print_table(report: dict[str, Any]) -> None:
    print(f"ac-core doctor (prefix {report['prefix']!r})\n")
    print("Pages")
    print(f"  {'page':<10} {'mapping':<24} {'found':<6} {'size':>6}  notes")
    for p in report["pages"]:
        notes = p["error"] or ""
        if p["found"] and not p["error"]:
            notes = f"{p['protocol']} protocol"
            if p["absent_fields"]:
                notes += f"; older AC page, absent: {', '.join(p['absent_fields'][:4])}"
                notes += "…" if len(p["absent_fields"]) > 4 else ""
        size = str(p["size"]) if p["found"] else "-"
        print(f"  {p['kind']:<10} {p['os_name']:<24} {'yes' if p['found'] else 'no':<6} {size:>6}  {notes}")
    s = report["session"]
    print("\nSession")
    if s is None:
        print("  none")
    else:
        print(f"  liveness   {s['liveness']} ({s['physics_packets_seen']} physics packets while watching)")
        if s["gone_reason"]:
            print(f"  gone       {s['gone_reason']}")
        print(f"  status     {s['status']}")
        print(f"  AC version {s['acVersion'] or '?'} (shared memory {s['smVersion'] or '?'})")
        print(f"  car        {s['carModel'] or '?'}")
        layout = f" / {s['trackConfiguration']}" if s["trackConfiguration"] else ""
        print(f"  track      {s['track'] or '?'}{layout} ({s['trackSPlineLength']:.0f} m)")
        if s["non_finite_fields"]:
            print(f"  WARNING    NaN/inf in physics fields: {', '.join(s['non_finite_fields'])}")
    print("\nControl outputs")
    for c in report["controls"]:
        print(f"  {c['name']:<8} {'usable' if c['usable'] else 'no':<7} {c['detail']}")
    c = report["csp"]
    print("\nCSP Custom AI (car {})".format(c["car_index"]))
    for kind, page in c["pages"].items():
        found = "yes" if page["found"] else "no"
        extra = page.get("error") or (f"{page['size']} bytes" if page["found"] else "")
        if page.get("writer_pid"):
            extra += f", written by ac_core (pid {page['writer_pid']})"
        print(f"  {kind:<13} {found:<4} {extra}")
    print(f"  {'usable' if c['usable'] else 'state'}: {c['state']}")
    if "takeover" in c:
        t = c["takeover"]
        if t["took_over"]:
            print(f"  probe: CSP took the car over ({t['car_packets_per_s']} car packets/s); released, braking")
        else:
            print(f"  probe: {t.get('error', 'CSP did not take the car over')}")
    if "advice" in report:
        print(f"\n{report['advice']}")


def run(args: argparse.Namespace) -> int:
    report = collect(args.prefix, args.watch_seconds, args.csp_car, args.csp_probe)
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        print()
    else:
        print_table(report)
    return 0 if report["ok"] else 1
