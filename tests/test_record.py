"""`ac-core record` from live pages, and the telemetry writers."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path

import pytest

from ac_core.cli import main
from ac_core.publisher import PagePublisher
from ac_core.telemetry_log import TelemetryWriter


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


def test_record_errors(prefix: str, tmp_path: Path, capsys) -> None:
    assert main(["record", "--prefix", prefix, "--out", str(tmp_path / "x")]) == 1
    assert "ac-core sim" in capsys.readouterr().err
    assert main(["record", "--prefix", prefix, "--out", str(tmp_path / "x"), "--rate", "fast"]) == 2
    with pytest.raises(ValueError, match="unknown telemetry format"):
        TelemetryWriter(tmp_path / "y", ["a"], ("xml",))


def test_writer_flushes_so_nothing_is_lost(tmp_path: Path) -> None:
    w = TelemetryWriter(tmp_path / "z", ["a", "b"], ("csv", "json"))
    w.write({"a": 1, "b": float("nan")}, flush=True)
    # Not closed (as after a crash): what was flushed is on disk.
    assert (tmp_path / "z.csv").read_text().splitlines()[1] == "1,nan"
    assert json.loads((tmp_path / "z.jsonl").read_text()) == {"a": 1, "b": None}
    w.close()
