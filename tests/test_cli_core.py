"""`ac-core doctor` and `ac-core telemetry` against nothing, and against pages the project writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from ac_core import pages as P
from ac_core.cli import main
from ac_core.publisher import PagePublisher


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ac_core.cli", *args], capture_output=True, text=True, timeout=60, env=os.environ
    )


def test_doctor_with_nothing_running_says_what_to_start(prefix: str) -> None:
    r = run_cli("doctor", "--prefix", prefix)
    assert r.returncode == 1
    assert "no AC session found" in r.stdout and "ac-core sim" in r.stdout and f"--prefix {prefix}" in r.stdout
    assert "not found" in r.stdout
    r = run_cli("doctor", "--prefix", prefix, "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["ok"] is False and report["session"] is None
    assert {c["name"] for c in report["controls"]} == {"vjoy", "uinput", "pad"}


def _publish_session(pub: PagePublisher) -> None:
    pub.physics["packetId"] = 1234
    pub.physics["speedKmh"] = 251.25
    pub.physics["gear"] = 7
    pub.physics["rpms"] = 11250
    pub.physics["gas"] = 1.0
    pub.physics["steerAngle"] = -0.125
    pub.graphics["status"] = int(P.AcStatus.LIVE)
    pub.graphics["completedLaps"] = 2
    pub.graphics["iLastTime"] = 105_432
    pub.graphics["carCoordinates"] = [10.5, 100.0, -20.25]
    P.set_text(pub.static, "carModel", "FormulaAlpha2022")
    P.set_text(pub.static, "track", "spa")
    P.set_text(pub.static, "acVersion", "1.16.4")
    pub.static["trackSPlineLength"] = 7004.0
    pub.publish()


def test_telemetry_count_json_prints_written_values(prefix: str) -> None:
    with PagePublisher(prefix) as pub:
        _publish_session(pub)
        r = run_cli("telemetry", "--prefix", prefix, "--count", "5", "--json", "--hz", "50")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert row["physics_packet_id"] == 1234
        assert row["speedKmh"] == 251.25 and row["gear"] == 7 and row["rpms"] == 11250
        assert row["steerAngle"] == -0.125 and row["completedLaps"] == 2 and row["iLastTime"] == 105432
        assert row["carCoordinates"] == [10.5, 100.0, -20.25]
        assert row["status"] == 2


def test_telemetry_fields_and_errors(prefix: str, capsys) -> None:
    with PagePublisher(prefix) as pub:
        _publish_session(pub)
        assert main(["telemetry", "--prefix", prefix, "--count", "1", "--fields", "static.track,gear"]) == 0
        out = capsys.readouterr().out
        assert "track=spa" in out and "gear=6" in out  # AC gear 7 = 6th gear
    r = run_cli("telemetry", "--prefix", prefix, "--fields", "nonsense")
    assert r.returncode != 0 and "unknown field 'nonsense'" in r.stderr
    r = run_cli("telemetry", "--prefix", prefix, "--count", "1")
    assert r.returncode == 1 and "ac-core sim" in r.stderr


def test_telemetry_flags_nan_as_text(prefix: str) -> None:
    with PagePublisher(prefix) as pub:
        _publish_session(pub)
        pub.physics["speedKmh"] = np.nan
        pub.publish("physics")
        r = run_cli("telemetry", "--prefix", prefix, "--count", "1", "--json", "--fields", "speedKmh")
        assert json.loads(r.stdout)["speedKmh"] == "nan"  # valid JSON, never a bare NaN
        r = run_cli("doctor", "--prefix", prefix, "--json", "--watch-seconds", "0.1")
        report = json.loads(r.stdout)
        assert report["session"]["non_finite_fields"] == ["speedKmh"]
        assert report["session"]["carModel"] == "FormulaAlpha2022" and report["session"]["track"] == "spa"
        # packetId never moves here, so the session is reported paused, not live.
        assert report["session"]["liveness"] == "paused" and r.returncode == 1


def test_unknown_command_lists_valid_ones() -> None:
    r = run_cli("fly")
    assert r.returncode == 2 and "valid commands" in r.stderr and "doctor" in r.stderr
