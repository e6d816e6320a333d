"""`ac-core telemetry`: print chosen page fields live, or N samples as JSON lines."""

from __future__ import annotations

import argparse
import json
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
    p.add_argument("--list-fields", action="store_true", help="list every field of the three pages and exit")
    p.set_defaults(func=run)


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
            v = value.item()
            row[name] = v if not isinstance(v, float) or (v == v and abs(v) != float("inf")) else str(v)
        else:
            row[name] = [round(x, 4) if isinstance(x, float) else x for x in value.ravel().tolist()]
        if isinstance(row[name], float):
            row[name] = round(row[name], 4)
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


def run(args: argparse.Namespace) -> int:
    if args.list_fields:
        for kind in shm.KIND_NAMES:
            print(f"{kind}: {', '.join(pages.dtype_of(kind).names)}")
        return 0
    if args.hz <= 0:
        raise SystemExit(f"--hz must be positive, got {args.hz}")
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])
    try:
        ps = shm.PageSet(args.prefix)
    except shm.PageNotFoundError as e:
        print(f"ac-core telemetry: {e}", file=sys.stderr)
        return 1
    period = 1.0 / args.hz
    deadline = time.monotonic()
    printed = 0
    with ps:
        try:
            while args.count <= 0 or printed < args.count:
                row = sample(ps, fields)
                print(json.dumps(row) if args.json else format_human(row), flush=True)
                printed += 1
                if args.count > 0 and printed >= args.count:
                    break
                deadline += period
                time.sleep(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            pass
    return 0
