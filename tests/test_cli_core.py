"""`ac-core doctor` and `ac-core telemetry` against nothing, and against pages the project writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ac_core import pages as P
from ac_core import shm
from ac_core.cli import main
from ac_core.commands import bench as bench_cmd
from ac_core.testing.page_publisher import PagePublisher


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
        # packetId never moves here: --stall-timeout 0 prints the frozen page as it is (the default waits for
        # new packets and stops with "stalled", see tests/test_faults_recording.py).
        r = run_cli("telemetry", "--prefix", prefix, "--count", "5", "--json", "--hz", "50", "--stall-timeout", "0")
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


def strict_json(text: str) -> object:
    """json.loads that rejects the bare NaN/Infinity Python's json accepts but JSON does not."""

    def reject(constant: str) -> None:
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_telemetry_flags_nan_as_text(prefix: str, capsys) -> None:
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
        # packetId never moves while graphics.status says LIVE: a stalled session, not a live or paused one.
        assert report["session"]["liveness"] == "stalled" and r.returncode == 1
        # Array fields get the same treatment as scalars, element by element.
        pub.physics["velocity"] = [np.nan, -np.inf, 1.5]
        pub.publish("physics")
        capsys.readouterr()
        assert main(["telemetry", "--prefix", prefix, "--count", "1", "--json", "--fields", "velocity,speedKmh"]) == 0
        row = strict_json(capsys.readouterr().out)
        assert row["velocity"] == ["nan", "-inf", 1.5] and row["speedKmh"] == "nan"


def test_telemetry_torn_page_stops_with_one_line(prefix: str, monkeypatch, capsys) -> None:
    def torn(self: shm.PageSet) -> tuple[int, int]:
        raise shm.PageTornError(
            "physics page kept changing during every copy (retries exhausted): is its writer broken?"
        )

    with PagePublisher(prefix) as pub:
        _publish_session(pub)
        monkeypatch.setattr(shm.PageSet, "read_all", torn)
        assert main(["telemetry", "--prefix", prefix, "--count", "3", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing half-printed
    err = captured.err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "kept changing" in err and prefix in err and "ac-core doctor" in err


def test_bench_quick_one_file_prints_table_and_json(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    out.write_text('{"benchmarks": []}')  # a stale file must not be taken for this run's results
    # The ring's throughput with an 8-byte payload beside the mutex + deque, in C++: well under a second.
    argv = ["bench", "--quick", "--file", "ring", "-k", "throughput and u64 and not boost", "--json", str(out)]
    assert main([*argv, "--", "-p", "no:cacheprovider"]) == 0
    report = json.loads(out.read_text())
    by_name = {b["name"]: b["extra_info"] for b in report["benchmarks"]}
    ours_name, deque_name = "test_queue[throughput-ac_core-u64]", "test_queue[throughput-mutex_deque-u64]"
    assert set(by_name) == {ours_name, deque_name}
    assert by_name[ours_name]["role"] == "ac_core" and by_name[ours_name]["metric"] == "throughput"
    assert by_name[deque_name]["role"] == "baseline" and by_name[deque_name]["what"] == "std::mutex + std::deque"
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("figure"))
    assert "baseline/ours" in header and "verdict" in header
    ours = next(line for line in lines if ours_name in line)
    # The ac_core row names its metric and carries the baseline's value and the ratio (e.g. "2.3x").
    assert "ring throughput (8-B int, ns per item)" in ours and "rigtorp" in ours
    assert any(word.endswith("x") and word[:-1].replace(".", "").isdigit() for word in ours.split())
    assert f"JSON (pytest-benchmark format): {out}" in lines


def test_bench_finds_its_folder_or_says_where_it_looked(tmp_path, monkeypatch, capsys) -> None:
    installed = tmp_path / "site-packages-parent" / "benchmarks"  # where an installed package would point
    monkeypatch.setattr(bench_cmd, "checkout_benchmark_dir", lambda: installed)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert str(installed) in err and str(tmp_path / "benchmarks") in err
    assert "source checkout" in err and "--dir" in err
    # ./benchmarks is the fallback, once it holds benchmark files.
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_x.py").write_text("")
    assert bench_cmd.find_benchmark_dir()[0] == tmp_path / "benchmarks"
    # An explicit --dir is the only place looked in when given.
    missing = tmp_path / "nowhere"
    assert main(["bench", "--dir", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    with pytest.raises(SystemExit, match="valid --file names: x"):
        main(["bench", "--file", "nonsense"])


def test_unknown_command_lists_valid_ones() -> None:
    r = run_cli("fly")
    assert r.returncode == 2 and "valid commands" in r.stderr and "doctor" in r.stderr


def test_every_registered_backend_is_offered_by_eval_and_accepted_by_the_settings(capsys) -> None:
    from ac_core.cli import main as cli_main
    from ac_core.env.backends import BACKENDS
    from ac_core.env.settings import EnvSettings

    with pytest.raises(SystemExit):
        cli_main(["eval", "--help"])
    text = capsys.readouterr().out
    assert "{" + ",".join(BACKENDS) + "}" in text
    assert EnvSettings.__dataclass_fields__["backend"].metadata["ac_core.setting"].choices == tuple(BACKENDS)
