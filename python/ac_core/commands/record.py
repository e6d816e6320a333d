"""`ac-core record`: record telemetry from live pages (AC, simshmbridge, or `ac-core sim`) while
anyone drives, to CSV, JSON lines or Parquet, flushing as it goes; optionally a top-down video of the
car on its track (GIF or MP4), rendered once recording ends, from the recorded positions.

``--rate physics`` drains the C++ poller's ring (:class:`~ac_core.telemetry_stream.TelemetryStream`):
one row per physics packet, stamped with the time the poller saw it, at any time scale; the summary
line says how many packets were missed (dropped by a full ring, or never seen by the poller)."""

from __future__ import annotations

import argparse
import sys
import time

# Frames the poller's ring holds for the recorder (1048 B each: 17 MB): 4.9 s of physics at time scale
# 10, far longer than a slow disk write or a Parquet chunk takes.
RECORD_RING_FRAMES = 16384
# How long the drain loop sleeps when the ring is empty: a few packets at time scale 10.
DRAIN_SLEEP_S = 0.002

RECORD_FIELDS = [
    "physics.packetId", "graphics.iCurrentTime", "graphics.completedLaps", "graphics.normalizedCarPosition",
    "graphics.carCoordinates", "physics.speedKmh", "physics.gas", "physics.brake", "physics.steerAngle",
    "physics.gear", "physics.rpms", "physics.localVelocity", "physics.accG", "physics.localAngularVel",
    "physics.heading", "physics.numberOfTyresOut", "physics.carDamage", "graphics.currentSectorIndex",
    "graphics.iLastTime", "physics.wheelSlip", "static.maxRpm",
]  # fmt: skip
# The defaults hold every field a demonstration needs (`ac-core demo --from-recording`):
# ac_core.env.backends.recording.NEEDED_FIELDS, checked in tests/test_recorded_demonstrations.py.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record live telemetry to CSV / JSON / Parquet")
    p.add_argument("--prefix", default="acpmf_", help="page name prefix (default acpmf_)")
    p.add_argument("--out", required=True, help="output path without extension, e.g. runs/lap1")
    p.add_argument("--format", default="csv", help="comma-separated: csv, json, parquet (default csv)")
    p.add_argument("--rate", default="physics",
                   help="'physics' (every new physics packet, 333 Hz in AC) or samples per second (e.g. 60)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to record (default: until Ctrl-C)")
    p.add_argument("--fields", default=",".join(RECORD_FIELDS), help="comma-separated page.field names")
    p.add_argument("--realtime-priority", type=int, default=0, metavar="N",
                   help="--rate physics: run the telemetry poller at real-time priority N (1-99: Linux SCHED_FIFO, "
                        "Windows TIME_CRITICAL) so a busy machine does not delay it; needs permission "
                        "(docs/plumbing.md, 'Real-time threads'); 0 = normal (default)")
    p.add_argument("--stall-timeout", type=float, default=2.0, metavar="S",
                   help="stop with an error when the physics packetId has not moved for S seconds while the game "
                        "says LIVE (a hung game; a paused one shows AC_PAUSE); 0 = never (default 2)")
    p.add_argument("--chunk-seconds", type=float, default=5.0, metavar="S",
                   help="Parquet: write the samples every S seconds (or 5000 samples) as a complete file in "
                        "<out>.parquet.parts/, merged into <out>.parquet at the end; a hard kill loses at most one "
                        "chunk (default 5)")
    video = p.add_argument_group("video (rendered after recording; telemetry is saved first)")
    video.add_argument("--video", default=None, metavar="FILE.gif|FILE.mp4",
                       help="also write a top-down video of the car on the track (MP4 needs ffmpeg)")
    video.add_argument("--track", default=None,
                       help="track model for the video: built-in name or fast_lane.ai / TUMFTM .csv path "
                            "(default: the static page's track if it is built in)")
    video.add_argument("--video-fps", type=float, default=10.0, help="video frames per second (default 10)")
    video.add_argument("--video-speedup", type=float, default=1.0,
                       help="recorded seconds per video second (default 1: real time)")
    p.set_defaults(func=run)


def _video_track(track_arg: str | None, static: object) -> object:
    """The track model the video is drawn on (ValueError naming the fix when there is none)."""
    from ac_core import pages as P
    from ac_core.track import builtin_track_names, load_track

    if track_arg is not None:
        return load_track(track_arg)
    name = P.static_summary(static)["track"]  # type: ignore[arg-type]
    if name in builtin_track_names():
        return load_track(name)
    raise ValueError(f"the session's track {name or '(none)'!r} is not built in; pass --track with its "
                     "fast_lane.ai (content/tracks/<track>/ai/fast_lane.ai) or a TUMFTM .csv")


def row_layout(fields: list[tuple[str, str]], buffers: dict) -> tuple[list[tuple[str, str, int]], list[str]]:
    """(page kind, field, size) of each recorded field and the columns they make after ``t``
    (:func:`ac_core.telemetry_files.field_columns`)."""
    from ac_core.telemetry_files import field_columns

    layout = [(kind, name, int(buffers[kind][name].size)) for kind, name in fields]
    return layout, [column for _kind, name, size in layout for column in field_columns(name, size)]


def page_values(layout: list[tuple[str, str, int]], buffers: dict, row: dict) -> dict:
    """Add the recorded fields' current values from the page ``buffers`` to ``row``."""
    for kind, name, size in layout:
        value = buffers[kind][name]
        if size == 1:
            row[name] = value.item()
        else:
            for i, v in enumerate(value.ravel().tolist()):
                row[f"{name}_{i}"] = v
    return row


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ac_core import pages as P
    from ac_core import shm
    from ac_core.commands.telemetry import resolve_fields
    from ac_core.stop_signals import stop_signals
    from ac_core.telemetry_files import TelemetryWriter

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
    if not 0 <= args.realtime_priority <= 99:
        print(f"ac-core record: --realtime-priority must be 0 (normal) or in 1-99, got {args.realtime_priority}",
              file=sys.stderr)
        return 2
    if not args.chunk_seconds > 0:
        print(f"ac-core record: --chunk-seconds must be positive, got {args.chunk_seconds}", file=sys.stderr)
        return 2
    if not args.stall_timeout >= 0:
        print(f"ac-core record: --stall-timeout must be 0 (never) or a positive number of seconds, got "
              f"{args.stall_timeout}", file=sys.stderr)
        return 2
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])
    video_settings = None
    if args.video is not None:
        # Everything about the video is checked before recording, so a long session is never lost to a typo.
        from ac_core.video import VideoError, VideoSettings, check_video_path

        try:
            if args.video_fps <= 0 or args.video_speedup <= 0:
                raise VideoError("--video-fps and --video-speedup must be positive")
            check_video_path(args.video)
            video_settings = VideoSettings(fps=args.video_fps, speedup=args.video_speedup)
        except VideoError as e:
            print(f"ac-core record: {e}", file=sys.stderr)
            return 2
    ps = shm.PageSet(args.prefix)  # missing or unusable pages: one line from the CLI, exit 1
    ps.read_static()  # constant in a session; the physics-rate rows take their static fields from here
    track = None
    if video_settings is not None:
        try:
            ps.read_all()
            track = _video_track(args.track, ps.static)
        except (ValueError, OSError) as e:
            print(f"ac-core record: video: {e}", file=sys.stderr)
            ps.close()
            return 2
    path_samples: dict[str, list[float]] = {"t": [], "x": [], "z": [], "speed": [], "gear": []}
    buffers = {"physics": ps.physics, "graphics": ps.graphics, "static": ps.static}
    layout, field_columns = row_layout(fields, buffers)
    columns = ["t", *field_columns]
    try:
        # An unwritable target fails here, before anything is recorded (exit 2).
        writer = TelemetryWriter(Path(args.out), columns, formats, parquet_chunk_s=args.chunk_seconds)
    except BaseException:
        ps.close()
        raise
    watch = shm.SessionWatch(ps, args.stall_timeout)
    live = int(P.AcStatus.LIVE)
    start = time.monotonic()
    deadline = start
    # Fixed rate: rows that repeat the previous packet while the game says LIVE wait here until a new
    # packet shows the game moving (a rate above the game's), and are dropped if it turns out stalled.
    held: list[dict] = []

    def make_row(t: float | None = None) -> dict:
        row: dict = {"t": round(time.monotonic() - start if t is None else t, 6)}
        if track is not None:
            coords = buffers["graphics"]["carCoordinates"]
            path_samples["t"].append(row["t"])
            path_samples["x"].append(float(coords[0]))
            path_samples["z"].append(float(coords[2]))
            path_samples["speed"].append(float(buffers["physics"]["speedKmh"]))
            path_samples["gear"].append(float(buffers["physics"]["gear"]))
        return page_values(layout, buffers, row)

    next_check = start
    # SIGINT/SIGTERM/SIGHUP end a recording between samples (never in the middle of a row): the loop
    # sees the request, the files are finished, and the summary line names the signal.
    stream = None
    if physics_rate:
        from ac_core.telemetry_stream import TelemetryStream, empty_frames

        frames = empty_frames(RECORD_RING_FRAMES)
        try:
            stream = TelemetryStream(args.prefix, ring_capacity=RECORD_RING_FRAMES,
                                     realtime_priority=args.realtime_priority)
            if args.realtime_priority and not stream.poller.realtime_ok:
                print(f"ac-core record: warning: {stream.poller.realtime_detail}; recording with a normal thread",
                      file=sys.stderr)
        except BaseException:
            writer.close()
            ps.close()
            raise
        start_ns = _core_now_ns()
        last_index = -1  # the poller numbers every frame it makes, queued or not
        counts = {"dropped": 0, "missed": 0}
    try:
        with stop_signals() as stop, ps, writer:
            while stop.reason is None and (args.duration <= 0 or time.monotonic() - start < args.duration):
                if physics_rate:
                    got = stream.drain_into(frames)
                    now = time.monotonic()
                    if got == 0:
                        if now >= next_check:  # a frozen clock: paused, stalled or gone?
                            next_check = now + 0.05
                            ps.read_graphics()
                            watch.observe(stream.latest_packet_id, int(ps.graphics["status"]), now)
                            writer.tick()
                        time.sleep(DRAIN_SLEEP_S)
                        continue
                    batch = frames[:got]
                    indices = batch["frame_index"]
                    counts["dropped"] += int(indices[-1]) - last_index - got
                    counts["missed"] += int(batch["missed_packets"].sum())
                    last_index = int(indices[-1])
                    times = ((batch["time_ns"] - start_ns) / 1e9).tolist()
                    for i in range(got):
                        buffers["physics"], buffers["graphics"] = batch[i]["physics"], batch[i]["graphics"]
                        writer.write(make_row(times[i]))
                    watch.observe(int(batch["physics_packet_id"][-1]), int(batch["graphics"]["status"][-1]), now)
                    writer.tick()
                else:
                    pid, _ = ps.read_all()
                    status = int(ps.graphics["status"])
                    fresh = watch.observe(pid, status)
                    row = make_row()
                    if status == live and not fresh and args.stall_timeout > 0:
                        held.append(row)
                    else:
                        for r in (*held, row):
                            writer.write(r)
                        held.clear()
                    writer.tick()
                    deadline += 1.0 / hz
                    time.sleep(max(0.0, deadline - time.monotonic()))
            for r in held:  # the duration ended within a freeze shorter than the stall timeout
                writer.write(r)
    except (shm.SessionStalledError, shm.SessionGoneError, shm.PageTornError) as e:
        # The writer is closed (its files finished) by now; say what was kept.
        raise type(e)(f"{e}; kept {writer.kept()}") from None
    finally:
        if stream is not None:
            stream.close()
    how = f" (stopped by {stop.reason})" if stop.reason else ""
    missed = ""
    if physics_rate:
        # Every physics packet is a row unless the ring was full (dropped) or the poller never saw it.
        missed = (f"; missed {counts['dropped'] + counts['missed']} physics packets ({counts['dropped']} dropped "
                  f"by a full ring, {counts['missed']} never seen by the poller)")
    print(f"recorded {writer.rows} samples in {time.monotonic() - start:.1f} s to "
          f"{args.out}.{{{','.join(formats)}}}{how}{missed}")
    if track is not None:
        return _write_video(args.video, track, path_samples, video_settings)
    return 0


def _core_now_ns() -> int:
    from ac_core import _core

    return int(_core.steady_now_ns())  # the clock frame.time_ns is on


def _write_video(out: str, track: object, samples: dict[str, list[float]], settings: object) -> int:
    import numpy as np

    from ac_core.video import VideoError, render_topdown

    arrays = {key: np.asarray(values) for key, values in samples.items()}
    try:
        frames = render_topdown(out, track, arrays["t"], arrays["x"], arrays["z"], arrays["speed"],
                                settings, gear=arrays["gear"])  # type: ignore[arg-type]
    except VideoError as e:
        print(f"ac-core record: {e} (the telemetry is saved)", file=sys.stderr)
        return 1
    print(f"video: {frames} frames to {out}")
    return 0
