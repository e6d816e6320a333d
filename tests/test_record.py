"""`ac-core record` from live pages, and the telemetry writers."""

from __future__ import annotations

import csv
import itertools
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ac_core.cli import main
from ac_core.telemetry_files import RecordingTargetError, TelemetryWriter
from ac_core.testing.page_publisher import PagePublisher


def test_record_at_a_fixed_rate_to_csv_and_json(prefix: str, tmp_path: Path) -> None:
    with PagePublisher(prefix) as pub:
        pub.physics["speedKmh"] = 199.5
        pub.physics["gear"] = 6
        pub.graphics["carCoordinates"] = [1.0, 2.0, 3.0]
        pub.publish()
        out = tmp_path / "lap"
        rc = main(["record", "--prefix", prefix, "--out", str(out), "--format", "csv,json", "--rate", "40",
                   "--duration", "0.3"])
    assert rc == 0
    with open(out.with_suffix(".csv")) as f:
        rows = list(csv.DictReader(f))
    assert 5 <= len(rows) <= 16
    assert float(rows[0]["speedKmh"]) == 199.5 and rows[0]["gear"] == "6"
    assert [float(rows[0][f"carCoordinates_{i}"]) for i in range(3)] == [1.0, 2.0, 3.0]
    lines = out.with_suffix(".jsonl").read_text().splitlines()
    assert len(lines) == len(rows) and json.loads(lines[-1])["speedKmh"] == 199.5


def test_record_at_physics_rate_keeps_every_new_packet(prefix: str, tmp_path: Path) -> None:
    with PagePublisher(prefix) as pub:
        stop = threading.Event()

        def produce() -> None:
            pid = 0
            while not stop.is_set():
                pid += 1
                pub.physics["packetId"] = pid
                pub.physics["speedKmh"] = float(pid)
                pub.publish("physics")
                time.sleep(0.01)

        t = threading.Thread(target=produce)
        t.start()
        try:
            out = tmp_path / "phys"
            assert main(["record", "--prefix", prefix, "--out", str(out), "--duration", "0.4",
                         "--fields", "physics.packetId,physics.speedKmh"]) == 0
        finally:
            stop.set()
            t.join()
    with open(out.with_suffix(".csv")) as f:
        ids = [int(r["packetId"]) for r in csv.DictReader(f)]
    assert len(ids) >= 10
    assert ids == sorted(set(ids)), "each packet once, in order"


def test_record_at_physics_rate_drains_every_packet_of_a_simulator_at_time_scale_10(tmp_path: Path, capsys) -> None:
    """`ac-core sim --time-scale 10` publishes 3330 physics packets a second: the recording holds one row
    per packet, in order, and every packetId between the first and the last is a row or is counted in
    the summary's missed packets (0 on an idle machine; a loaded one may deschedule the poller)."""
    import re
    import subprocess
    import uuid

    from ac_core import _core
    from tests.processes import CLI, cli_env, wait_for

    prefix = f"rec10x{uuid.uuid4().hex[:8]}_"
    proc = subprocess.Popen(
        [*CLI, "sim", "--prefix", prefix, "--lap-start", "flying", "--time-scale", "10"],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _core.SharedPage.exists(prefix + "static") or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.communicate()[1]
        out = tmp_path / "x10"
        assert (
            main(
                [
                    "record",
                    "--prefix",
                    prefix,
                    "--out",
                    str(out),
                    "--duration",
                    "2",
                    "--fields",
                    "physics.packetId,physics.speedKmh",
                ]
            )
            == 0
        )
    finally:
        proc.terminate()
        proc.wait(10)
    summary = capsys.readouterr().out
    missed = re.search(r"missed (\d+) physics packets \((\d+) dropped", summary)
    assert missed, summary
    with open(out.with_suffix(".csv")) as f:
        ids = [int(r["packetId"]) for r in csv.DictReader(f)]
    # ~6600 packets in 2 s at 10x on an idle machine; a loaded one runs the simulator behind its time
    # scale (1969 seen in CI beside other work), so only ask for enough packets for the checks below to bite
    assert len(ids) > 500, len(ids)
    assert all(b > a for a, b in itertools.pairwise(ids)), "each packet once, in order"
    assert ids[-1] - ids[0] + 1 == len(ids) + int(missed.group(1)), (ids[0], ids[-1], len(ids), summary)
    assert int(missed.group(2)) == 0, "the ring never fills in 2 s"


def test_record_errors(prefix: str, tmp_path: Path, capsys) -> None:
    assert main(["record", "--prefix", prefix, "--out", str(tmp_path / "x")]) == 1
    assert "ac-core sim" in capsys.readouterr().err
    assert main(["record", "--prefix", prefix, "--out", str(tmp_path / "x"), "--rate", "fast"]) == 2
    with pytest.raises(ValueError, match="unknown telemetry format"):
        TelemetryWriter(tmp_path / "y", ["a"], ("xml",))


def test_writer_writes_each_row_so_nothing_is_lost(tmp_path: Path) -> None:
    w = TelemetryWriter(tmp_path / "z", ["a", "b"], ("csv", "json"))
    w.write({"a": 1, "b": float("nan")})
    # Not closed (as after a crash): the row is in the files.
    assert (tmp_path / "z.csv").read_text().splitlines()[1] == "1,nan"
    assert json.loads((tmp_path / "z.jsonl").read_text()) == {"a": 1, "b": None}
    w.close()


def _moving_car(pub: PagePublisher, stop: threading.Event, track_name: str = "spa") -> None:
    """A car driving the built-in track's centre line at 180 km/h, published at ~100 Hz."""
    from ac_core import pages as P
    from ac_core.track import load_track

    track = load_track("spa")
    P.set_text(pub.static, "track", track_name)
    pub.publish("static")
    s, pid = 100.0, 0
    while not stop.is_set():
        pid += 1
        s += 0.5
        x, z, y = track.position(s)  # (x, z, elevation)
        pub.physics["packetId"] = pid
        pub.physics["speedKmh"] = 180.0
        pub.physics["gear"] = 5
        pub.graphics["carCoordinates"] = [x, y, z]
        pub.publish("physics", "graphics")
        time.sleep(0.01)


def test_record_writes_a_top_down_video_of_the_car(prefix: str, tmp_path: Path, capsys) -> None:
    from PIL import Image

    with PagePublisher(prefix) as pub:
        stop = threading.Event()
        t = threading.Thread(target=_moving_car, args=(pub, stop))
        t.start()
        try:
            time.sleep(0.05)
            out = tmp_path / "drive"
            rc = main(["record", "--prefix", prefix, "--out", str(out), "--rate", "50", "--duration", "0.8",
                       "--video", str(tmp_path / "drive.gif"), "--video-fps", "10"])
        finally:
            stop.set()
            t.join()
    assert rc == 0, capsys.readouterr().err
    assert out.with_suffix(".csv").is_file(), "telemetry is written as well"
    with Image.open(tmp_path / "drive.gif") as gif:
        assert 2 <= gif.n_frames <= 10  # up to 0.8 s at 10 fps (fewer samples when the machine is busy)
        first = np.asarray(gif.convert("RGB"))
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    red = (first[..., 0] > 180) & (first[..., 1] < 60) & (first[..., 2] < 60)
    assert red.sum() > 5, "the car is drawn"
    assert not np.array_equal(first, last), "the view follows the moving car"
    assert "video: " in capsys.readouterr().out


def test_record_video_errors_come_before_recording(prefix: str, tmp_path: Path, capsys) -> None:
    with PagePublisher(prefix) as pub:
        stop = threading.Event()
        t = threading.Thread(target=_moving_car, args=(pub, stop, "monza"))
        t.start()
        try:
            time.sleep(0.05)
            base = ["record", "--prefix", prefix, "--out", str(tmp_path / "r"), "--duration", "0.2"]
            assert main([*base, "--video", str(tmp_path / "v.avi")]) == 2
            assert "use a .gif or .mp4" in capsys.readouterr().err
            assert main([*base, "--video", str(tmp_path / "missing" / "v.gif")]) == 2
            assert "does not exist" in capsys.readouterr().err
            assert main([*base, "--video", str(tmp_path / "v.gif")]) == 2  # monza is not built in
            assert "pass --track" in capsys.readouterr().err
            assert not (tmp_path / "r.csv").exists(), "nothing recorded when the video could not be made"
            assert main([*base, "--video", str(tmp_path / "v.gif"), "--track", "spa"]) == 0
        finally:
            stop.set()
            t.join()
    assert (tmp_path / "v.gif").is_file()


def test_travel_heading_follows_motion_and_holds_when_still() -> None:
    from ac_core.video import travel_heading

    x = np.array([0.0, 1.0, 2.0, 2.0, 2.0])
    z = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    h = travel_heading(x, z)
    assert h[:4] == pytest.approx([0.0, 0.0, 0.0, 0.0])
    assert h[4] == pytest.approx(np.pi / 2)


def test_parquet_goes_out_in_complete_chunk_files_merged_at_close(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet output needs pyarrow (pip install pyarrow)")
    monkeypatch.setattr(TelemetryWriter, "PARQUET_CHUNK_ROWS", 4)
    parts = tmp_path / "p.parquet.parts"
    with TelemetryWriter(tmp_path / "p", ["t", "speed", "gear"], ("csv", "parquet")) as w:
        for i in range(10):
            w.write({"t": i * 0.01, "speed": 100.0 + i, "gear": 3 if i < 5 else 4.0})
        # Not closed (as at a SIGKILL): the full chunks are readable Parquet files already.
        assert sorted(p.name for p in parts.iterdir()) == ["part-000000.parquet", "part-000001.parquet"]
        assert pq.read_table(parts).num_rows == 8
    assert not parts.exists(), "the parts are merged into one file and removed"
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.num_rows == 10
    assert table.column("speed").to_pylist() == [100.0 + i for i in range(10)]
    assert table.column("gear").to_pylist() == [3] * 5 + [4] * 5  # cast to the first chunk's schema


def test_parquet_parts_of_an_earlier_recording_are_never_overwritten(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    (tmp_path / "p.parquet.parts").mkdir()
    with pytest.raises(RecordingTargetError, match="read_table"):
        TelemetryWriter(tmp_path / "p", ["t"], ("parquet",))


def test_unwritable_target_fails_before_recording(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RecordingTargetError, match="nothing was recorded") as e:
        TelemetryWriter(blocker / "lap", ["t"], ("csv",))  # a folder under a file: ENOTDIR, even for root
    assert str(blocker) in str(e.value) and "\n" not in str(e.value)
