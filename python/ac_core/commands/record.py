"""`ac-core record`: record telemetry from live pages (AC, simshmbridge, or `ac-core sim`) while
anyone drives, to CSV, JSON lines or Parquet, flushing as it goes."""

from __future__ import annotations

import argparse
import sys
import time

RECORD_FIELDS = [
    "physics.packetId", "graphics.iCurrentTime", "graphics.completedLaps", "graphics.normalizedCarPosition",
    "graphics.carCoordinates", "physics.speedKmh", "physics.gas", "physics.brake", "physics.steerAngle",
    "physics.gear", "physics.rpms", "physics.localVelocity", "physics.accG", "physics.localAngularVel",
    "physics.heading", "physics.numberOfTyresOut", "physics.carDamage", "graphics.currentSectorIndex",
    "graphics.iLastTime",
]  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record live telemetry to CSV / JSON / Parquet")
    p.add_argument("--prefix", default="acpmf_", help="page name prefix (default acpmf_)")
    p.add_argument("--out", required=True, help="output path without extension, e.g. runs/lap1")
    p.add_argument("--format", default="csv", help="comma-separated: csv, json, parquet (default csv)")
    p.add_argument("--rate", default="physics",
                   help="'physics' (every new physics packet, 333 Hz in AC) or samples per second (e.g. 60)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to record (default: until Ctrl-C)")
    p.add_argument("--fields", default=",".join(RECORD_FIELDS), help="comma-separated page.field names")
    p.set_defaults(func=run)


def _columns(fields: list[tuple[str, str]], buffers: dict) -> list[tuple[str, str, int]]:
    cols = []
    for kind, name in fields:
        size = buffers[kind][name].size
        cols.append((kind, name, size))
    return cols


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ac_core import shm
    from ac_core.commands.telemetry import resolve_fields
    from ac_core.telemetry_log import TelemetryWriter

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    physics_rate = args.rate == "physics"
    if not physics_rate:
        try:
            hz = float(args.rate)
            assert hz > 0
        except (ValueError, AssertionError):
            print(f"ac-core record: --rate must be 'physics' or a positive number, got {args.rate!r}",
                  file=sys.stderr)
            return 2
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])
    try:
        ps = shm.PageSet(args.prefix)
    except shm.PageNotFoundError as e:
        print(f"ac-core record: {e}", file=sys.stderr)
        return 1
    buffers = {"physics": ps.physics, "graphics": ps.graphics, "static": ps.static}
    columns = ["t"]
    layout = _columns(fields, buffers)
    for _kind, name, size in layout:
        columns += [name] if size == 1 else [f"{name}_{i}" for i in range(size)]
    try:
        writer = TelemetryWriter(Path(args.out), columns, formats)
    except ValueError as e:
        print(f"ac-core record: {e}", file=sys.stderr)
        ps.close()
        return 2
    start = time.monotonic()
    deadline = start
    last_id = None
    rows = 0
    try:
        with ps, writer:
            while args.duration <= 0 or time.monotonic() - start < args.duration:
                if physics_rate:
                    pid = ps.read_physics()
                    if pid == last_id:
                        time.sleep(0.0005)
                        continue
                    last_id = pid
                    ps.read_graphics()
                else:
                    ps.read_all()
                row: dict = {"t": round(time.monotonic() - start, 6)}
                for kind, name, size in layout:
                    value = buffers[kind][name]
                    if size == 1:
                        row[name] = value.item()
                    else:
                        for i, v in enumerate(value.ravel().tolist()):
                            row[f"{name}_{i}"] = v
                writer.write(row, flush=rows % 100 == 0)
                rows += 1
                if not physics_rate:
                    deadline += 1.0 / hz
                    time.sleep(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass
    print(f"recorded {rows} samples in {time.monotonic() - start:.1f} s to {args.out}.{{{','.join(formats)}}}")
    return 0
