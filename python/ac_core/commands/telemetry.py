"""`ac-core telemetry`: print chosen page fields live, or N samples as JSON lines."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from ac_core import pages, shm

DEFAULT_FIELDS = [
    "speedKmh", "gear", "rpms", "gas", "brake", "steerAngle", "carCoordinates",
    "normalizedCarPosition", "completedLaps", "iCurrentTime", "iLastTime", "iBestTime",
    "numberOfTyresOut", "status",
]  # fmt: skip


def resolve_fields(names: list[str]) -> list[tuple[str, str]]:
    """Map field names (``speedKmh`` or ``physics.speedKmh``) to (page kind, field)."""
    resolved = []
    for raw in names:
        kind, _, name = raw.rpartition(".")
        kinds = [kind] if kind else list(shm.KIND_NAMES)
        for k in kinds:
            if k not in shm.KIND_NAMES:
                raise SystemExit(f"unknown page {k!r} in field {raw!r}; pages are {', '.join(shm.KIND_NAMES)}")
            if name in pages.dtype_of(k).names:
                resolved.append((k, name))
                break
        else:
            raise SystemExit(f"unknown field {raw!r}; `ac-core telemetry --list-fields` lists the valid names")
    return resolved


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "telemetry",
        help="print live telemetry fields (until Ctrl-C, or --count N)",
        description="Reads the AC pages with checked snapshots and prints chosen fields at a fixed rate.",
    )
    p.add_argument("--prefix", default=shm.DEFAULT_PREFIX, help="page name prefix (default: acpmf_)")
    p.add_argument("--fields", default=",".join(DEFAULT_FIELDS), help="comma-separated fields (page.field or field)")
    p.add_argument("--hz", type=float, default=10.0, help="samples per second (default 10)")
    p.add_argument("--count", type=int, default=0, help="stop after N samples (default: until Ctrl-C)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--stall-timeout", type=float, default=shm.STALL_TIMEOUT_S, metavar="S",
                   help="stop with an error when the physics packetId has not moved for S seconds while the game "
                        "says LIVE (a hung game; a paused one shows AC_PAUSE); meanwhile frozen samples are not "
                        "repeated. 0 = print the pages as they are, frozen or not (default %(default)g)")
    p.add_argument("--list-fields", action="store_true", help="list every field of the three pages and exit")
    p.set_defaults(func=run)


def json_value(x: Any) -> Any:
    """A page number as JSON can carry it: floats rounded to 4 places, NaN/±inf as the text
    "nan"/"inf"/"-inf" (JSON has no literal for them and json.dumps would write a bare NaN, which
    JSON parsers reject; a broken value still shows up rather than being hidden as null)."""
    if isinstance(x, float):
        return round(x, 4) if math.isfinite(x) else str(x)
    return x


def sample(ps: shm.PageSet, fields: list[tuple[str, str]]) -> dict[str, Any]:
    physics_id, graphics_id = ps.read_all()
    row: dict[str, Any] = {"time": round(time.time(), 6), "physics_packet_id": physics_id,
                           "graphics_packet_id": graphics_id}
    buffers = {"physics": ps.physics, "graphics": ps.graphics, "static": ps.static}
    for kind, name in fields:
        if name in ps.absent_fields(kind):
            row[name] = None
            continue
        value = buffers[kind][name]
        if name in pages.text_fields(kind):
            row[name] = pages.decode_utf16(value)
        elif isinstance(value, (float, int)) or value.ndim == 0:
            row[name] = json_value(value.item())
        else:
            row[name] = [json_value(x) for x in value.ravel().tolist()]
    return row


def format_human(row: dict[str, Any]) -> str:
    parts = []
    for key, value in row.items():
        if key in ("time", "graphics_packet_id"):
            continue
        if key in ("iCurrentTime", "iLastTime", "iBestTime") and isinstance(value, int):
            value = pages.format_lap_time(value)
        elif key == "gear" and isinstance(value, int):
            value = {0: "R", 1: "N"}.get(value, str(value - 1))
        elif key == "status" and isinstance(value, int) and value in pages.AcStatus._value2member_map_:
            value = pages.AcStatus(value).name
        parts.append(f"{key}={value}")
    return "  ".join(parts)


def torn_message(error: shm.PageTornError, prefix: str) -> str:
    # One line instead of a traceback: a page that never holds still is a writer problem, not ours.
    return (
        f"ac-core telemetry: stopped, {error} Check that exactly one writer (AC, simshmbridge or "
        f"`ac-core sim`) uses prefix {prefix!r} and that it is not stalled; `ac-core doctor --prefix {prefix}` "
        "shows the pages."
    )


def run(args: argparse.Namespace) -> int:
    if args.list_fields:
        for kind in shm.KIND_NAMES:
            print(f"{kind}: {', '.join(pages.dtype_of(kind).names)}")
        return 0
    if args.hz <= 0:
        raise SystemExit(f"--hz must be positive, got {args.hz}")
    if not args.stall_timeout >= 0:
        raise SystemExit(f"--stall-timeout must be 0 (never) or a positive number of seconds, got {args.stall_timeout}")
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])
    try:
        ps = shm.PageSet(args.prefix)  # reads the static page, so it can find it torn too
    except shm.PageTornError as e:
        print(torn_message(e, args.prefix), file=sys.stderr)
        return 1
    watch = shm.SessionWatch(ps, args.stall_timeout)
    live = int(pages.AcStatus.LIVE)
    period = 1.0 / args.hz
    deadline = time.monotonic()
    printed = 0
    last_printed: int | None = None
    with ps:
        try:
            while args.count <= 0 or printed < args.count:
                row = sample(ps, fields)
                packet_id, status = row["physics_packet_id"], int(ps.graphics["status"])
                watch.observe(packet_id, status)  # raises on a stall or when the pages are gone
                if args.stall_timeout > 0 and status == live and packet_id == last_printed:
                    # The game says LIVE but its clock has not moved since the last line: wait for the next
                    # packet (or the stall timeout) instead of printing the same values again.
                    time.sleep(min(period, 0.002))
                    deadline = time.monotonic()
                    continue
                print(json.dumps(row) if args.json else format_human(row), flush=True)
                printed += 1
                last_printed = packet_id
                if args.count > 0 and printed >= args.count:
                    break
                deadline += period
                time.sleep(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            pass
        except shm.PageTornError as e:
            print(torn_message(e, args.prefix), file=sys.stderr)
            return 1
    return 0
