"""Fault injection for recording and page reading, against real processes (issue 12, items 4 and 5).

`ac-core record` runs as its own process against a real `ac-core sim` process and is hit with a file-size
limit (RLIMIT_FSIZE: a full disk without root), an unwritable target, SIGINT and SIGKILL; the simulator is
stopped (SIGSTOP: a hung game), paused through its pad, and killed. Each test checks the outcome: every
format loads with complete rows only, the counts match the one-line message, the exit code says what
happened.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ac_core import _core, shm
from ac_core.pages import AcStatus
from ac_core.testing.page_publisher import PagePublisher
from tests.processes import CLI, cli_env, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals, /dev/shm page files")

ENV = cli_env()
PAD_PAUSE_BUTTON = 8  # pad_page.hpp kPadPauseToggle




def remove_pages(prefix: str) -> None:
    for kind in ("physics", "graphics", "static", "pad"):
        Path(f"/dev/shm/{prefix}{kind}").unlink(missing_ok=True)


@pytest.fixture
def sim() -> Iterator[tuple[str, subprocess.Popen]]:
    """A running `ac-core sim` process (standing start, no driver) and its prefix."""
    prefix = f"faultrec{uuid.uuid4().hex[:8]}_"
    proc = subprocess.Popen([*CLI, "sim", "--prefix", prefix, "--lap-start", "standing"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _core.SharedPage.exists(prefix + "static") or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.communicate()[1]
        yield prefix, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a test that stopped it must not leave it stopped
            proc.kill()
        proc.wait(10)
        remove_pages(prefix)  # SIGKILL leaves the pages behind


def record(prefix: str, out: Path, *args: str, file_limit: int | None = None) -> subprocess.Popen:
    def limit() -> None:
        # Python ignores SIGXFSZ, so writing past the limit fails with EFBIG, as a full disk fails with ENOSPC.
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.Popen([*CLI, "record", "--prefix", prefix, "--out", str(out), *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=limit if file_limit is not None else None)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def kept_in(message: str, path: Path | str) -> int:
    """The count the message gives for ``path`` ('... 123 in <path>')."""
    found = re.search(rf"(\d+) in (the folder )?{re.escape(str(path))}\b", message)
    assert found, f"{path} not named with its count in: {message}"
    return int(found.group(1))


def csv_rows(path: Path) -> list[list[str]]:
    text = path.read_text()
    assert text.endswith("\n"), "the file ends with a complete row"
    header, *rows = list(csv.reader(text.splitlines()))
    assert all(len(row) == len(header) for row in rows), "no torn row"
    return rows


def jsonl_rows(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the file ends with a complete row"
    return [json.loads(line) for line in text.splitlines()]  # a torn row would not parse


def packet_ids(rows: list[dict]) -> list[int]:
    return [row["packetId"] for row in rows]


# -- full disk (RLIMIT_FSIZE) ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_file_size_limit_keeps_every_complete_row(sim, tmp_path: Path, fmt: str) -> None:
    prefix, _ = sim
    out = tmp_path / "lap"
    rc, _, stderr = finish(record(prefix, out, "--format", fmt, "--duration", "30", file_limit=30_000))
    line = one_line(stderr)
    path = out.with_suffix(".csv" if fmt == "csv" else ".jsonl")
    assert rc == 1 and "File too large" in line, line
    kept = kept_in(line, path)
    rows = csv_rows(path) if fmt == "csv" else jsonl_rows(path)
    assert len(rows) == kept > 0
    assert path.stat().st_size <= 30_000


def test_file_size_limit_keeps_the_parquet_parts_and_says_how_to_read_them(sim, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    prefix, _ = sim
    out = tmp_path / "lap"
    # Parts of 0.1 s (~30 samples, ~8 KB) fit under the limit; the merged file of 4 s (~100 KB) does not.
    rc, _, stderr = finish(record(prefix, out, "--format", "parquet", "--duration", "4", "--chunk-seconds", "0.1",
                                  file_limit=25_000))
    line = one_line(stderr)
    parts = out.with_suffix(".parquet.parts")
    assert rc == 1 and "File too large" in line and "read_table" in line, line
    assert str(out.with_suffix(".parquet")) in line, "the file that could not be written is named"
    assert not out.with_suffix(".parquet").exists(), "no partial merged file"
    table = pq.read_table(parts)
    assert table.num_rows == kept_in(line, parts) > 0
    ids = table.column("packetId").to_pylist()
    assert ids == sorted(set(ids)), "the parts read back in order, each packet once"


# -- unwritable target -----------------------------------------------------------------------------


def test_unwritable_target_fails_before_recording(sim, tmp_path: Path) -> None:
    prefix, _ = sim
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # A folder under a file (ENOTDIR) is unwritable for root too, which ignores permission bits.
    for fmt in ("csv", "json", "parquet"):
        rc, stdout, stderr = finish(record(prefix, blocker / "lap", "--format", fmt, "--duration", "5"))
        line = one_line(stderr)
        assert rc == 2 and str(blocker) in line and "nothing was recorded" in line, line
        assert "recorded" not in stdout
    assert blocker.read_text() == ""


def test_read_only_folder_fails_before_recording(sim, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders (the ENOTDIR case covers root)")
    prefix, _ = sim
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    rc, _, stderr = finish(record(prefix, folder / "lap", "--duration", "5"))
    line = one_line(stderr)
    assert rc == 2 and str(folder) in line and "Permission denied" in line
    assert list(folder.iterdir()) == []


# -- SIGINT and SIGKILL ----------------------------------------------------------------------------


def test_sigint_finishes_every_format(sim, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    prefix, _ = sim
    out = tmp_path / "lap"
    proc = record(prefix, out, "--format", "csv,json,parquet", "--chunk-seconds", "0.2")
    wait_for(lambda: out.with_suffix(".jsonl").exists() and len(out.with_suffix(".jsonl").read_text()) > 5_000)
    proc.send_signal(signal.SIGINT)
    rc, stdout, stderr = finish(proc)
    assert rc == 0 and stderr == "", stderr
    line = one_line(stdout)
    count = int(re.search(r"recorded (\d+) samples", line).group(1))
    assert "stopped by SIGINT" in line and str(out) in line
    assert len(csv_rows(out.with_suffix(".csv"))) == count
    assert len(jsonl_rows(out.with_suffix(".jsonl"))) == count
    table = pq.read_table(out.with_suffix(".parquet"))
    assert table.num_rows == count > 0
    assert not out.with_suffix(".parquet.parts").exists()


def test_sigkill_leaves_every_format_readable(sim, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    prefix, _ = sim
    out = tmp_path / "lap"
    parts = out.with_suffix(".parquet.parts")
    proc = record(prefix, out, "--format", "csv,json,parquet", "--chunk-seconds", "0.2")
    wait_for(lambda: parts.is_dir() and len(list(parts.glob("part-*.parquet"))) >= 2)
    proc.kill()
    proc.communicate(timeout=30)
    rows = csv_rows(out.with_suffix(".csv"))
    lines = jsonl_rows(out.with_suffix(".jsonl"))
    table = pq.read_table(parts)  # the complete chunks; a chunk being written is a hidden temporary file
    assert len(rows) > 0 and len(lines) > 0 and table.num_rows > 0
    assert table.num_rows <= len(lines), "Parquet loses at most the chunk in progress"
    ids = packet_ids(lines)
    assert ids == sorted(set(ids))


# -- paused, stalled, gone -------------------------------------------------------------------------


def test_stalled_simulator_stops_record_and_telemetry_with_one_line(sim, tmp_path: Path) -> None:
    prefix, sim_proc = sim
    out = tmp_path / "lap"
    proc = record(prefix, out, "--format", "csv,json", "--duration", "60", "--stall-timeout", "0.5")
    wait_for(lambda: out.with_suffix(".jsonl").exists() and len(out.with_suffix(".jsonl").read_text()) > 2_000)
    sim_proc.send_signal(signal.SIGSTOP)  # hung: status stays LIVE, packetId stops
    try:
        rc, _, stderr = finish(proc)
        line = one_line(stderr)
        assert rc == 1 and "stalled" in line and "LIVE" in line and f"pid {sim_proc.pid}" in line, line
        lines = jsonl_rows(out.with_suffix(".jsonl"))
        assert len(lines) == kept_in(line, out.with_suffix(".jsonl")) > 0
        assert len(csv_rows(out.with_suffix(".csv"))) == kept_in(line, out.with_suffix(".csv"))
        ids = packet_ids(lines)
        assert ids == sorted(set(ids)), "no frozen sample repeated"

        # A fixed rate neither repeats the frozen sample: rows of the frozen packet are dropped.
        fixed = tmp_path / "fixed"
        rc, _, stderr = finish(record(prefix, fixed, "--format", "json", "--rate", "50", "--duration", "60",
                                      "--stall-timeout", "0.5"))
        line = one_line(stderr)
        assert rc == 1 and "stalled" in line
        assert len(jsonl_rows(fixed.with_suffix(".jsonl"))) == kept_in(line, fixed.with_suffix(".jsonl")) <= 1

        r = subprocess.run([*CLI, "telemetry", "--prefix", prefix, "--count", "20", "--json", "--stall-timeout",
                            "0.5"], env=ENV, capture_output=True, text=True, timeout=60)
        line = one_line(r.stderr)
        assert r.returncode == 1 and line.startswith("ac-core telemetry: stalled") and prefix in line
        assert len(r.stdout.splitlines()) <= 1, "the frozen sample is not repeated"

        r = subprocess.run([*CLI, "doctor", "--prefix", prefix, "--json", "--watch-seconds", "0.3"], env=ENV,
                           capture_output=True, text=True, timeout=60)
        report = json.loads(r.stdout)
        assert r.returncode == 1 and report["session"]["liveness"] == "stalled"
        assert "hangs" in report["advice"]
    finally:
        sim_proc.send_signal(signal.SIGCONT)
    # Running again: live, and telemetry prints fresh samples.
    r = subprocess.run([*CLI, "telemetry", "--prefix", prefix, "--count", "3", "--json", "--hz", "100"], env=ENV,
                       capture_output=True, text=True, timeout=60)
    ids = [row["physics_packet_id"] for row in map(json.loads, r.stdout.splitlines())]
    assert r.returncode == 0 and len(ids) == 3 and ids == sorted(set(ids))


def test_paused_game_is_neither_stalled_nor_an_error(sim, tmp_path: Path) -> None:
    prefix, _ = sim
    pad = _core.PadFeeder(prefix)
    try:
        pad.write(0.0, 0.0, 0.0, buttons=PAD_PAUSE_BUTTON)
        with shm.PageSet(prefix) as ps:
            wait_for(lambda: ps.read_graphics() is not None and int(ps.graphics["status"]) == AcStatus.PAUSE)
        r = subprocess.run([*CLI, "doctor", "--prefix", prefix, "--json", "--watch-seconds", "0.3"], env=ENV,
                           capture_output=True, text=True, timeout=60)
        report = json.loads(r.stdout)
        assert r.returncode == 1 and report["session"]["liveness"] == "paused"
        assert "resume" in report["advice"]
        # A pause longer than the stall timeout is not a stall: record waits, telemetry shows the status.
        out = tmp_path / "paused"
        rc, _, stderr = finish(record(prefix, out, "--format", "json", "--duration", "1.2",
                                           "--stall-timeout", "0.3"))
        assert rc == 0 and stderr == "", stderr
        assert len(jsonl_rows(out.with_suffix(".jsonl"))) <= 1
        r = subprocess.run([*CLI, "telemetry", "--prefix", prefix, "--count", "3", "--json", "--hz", "5",
                            "--stall-timeout", "0.3"], env=ENV, capture_output=True, text=True, timeout=60)
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        assert r.returncode == 0 and len(rows) == 3 and {row["status"] for row in rows} == {int(AcStatus.PAUSE)}
    finally:
        pad.close()


def test_killed_simulator_is_gone(sim, tmp_path: Path) -> None:
    prefix, sim_proc = sim
    out = tmp_path / "lap"
    proc = record(prefix, out, "--format", "csv", "--duration", "60")
    wait_for(lambda: out.with_suffix(".csv").exists() and len(out.with_suffix(".csv").read_text()) > 2_000)
    sim_proc.kill()
    sim_proc.wait(10)  # reaped: the pid is gone, its pages stay in /dev/shm
    rc, _, stderr = finish(proc)
    line = one_line(stderr)
    assert rc == 1 and "gone" in line and f"pid {sim_proc.pid}" in line and "exited" in line, line
    assert len(csv_rows(out.with_suffix(".csv"))) == kept_in(line, out.with_suffix(".csv")) > 0

    r = subprocess.run([*CLI, "doctor", "--prefix", prefix, "--json", "--watch-seconds", "0.3"], env=ENV,
                       capture_output=True, text=True, timeout=60)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["session"]["liveness"] == "gone"
    assert str(sim_proc.pid) in report["advice"]
    r = subprocess.run([*CLI, "telemetry", "--prefix", prefix, "--count", "5", "--stall-timeout", "0.5"], env=ENV,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "gone" in one_line(r.stderr)


def test_removed_pages_are_gone(prefix: str, tmp_path: Path) -> None:
    with PagePublisher(prefix) as pub:
        pub.graphics["status"] = int(AcStatus.LIVE)
        pub.publish()
        with shm.PageSet(prefix) as ps:
            assert ps.gone_reason() is None
            Path(f"/dev/shm/{prefix}physics").unlink()  # what a writer's clean exit does
            assert "removed" in (ps.gone_reason() or "")
            with pytest.raises(shm.SessionGoneError, match=f"/dev/shm/{prefix}physics was removed"):
                watch = shm.SessionWatch(ps, stall_timeout_s=10.0)
                now = time.monotonic()
                watch.observe(1, int(AcStatus.LIVE), now)
                watch.observe(1, int(AcStatus.LIVE), now + 1.0)


# -- truncated and empty pages ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 100])
def test_truncated_pages_give_one_line_errors(prefix: str, tmp_path: Path, size: int) -> None:
    page = f"/dev/shm/{prefix}physics"
    pub = PagePublisher(prefix)
    try:
        os.truncate(page, size)  # a writer that died while creating it, or a leftover file
        for args in (["telemetry", "--count", "1"], ["record", "--out", str(tmp_path / "x"), "--duration", "1"]):
            r = subprocess.run([*CLI, *args, "--prefix", prefix], env=ENV, capture_output=True, text=True, timeout=60)
            line = one_line(r.stderr)
            assert r.returncode == 1 and page in line and "remove the leftover file" in line, line
        assert not (tmp_path / "x.csv").exists()
        r = subprocess.run([*CLI, "doctor", "--prefix", prefix, "--json"], env=ENV, capture_output=True, text=True,
                           timeout=60)
        report = json.loads(r.stdout)
        assert r.returncode == 1 and page in report["advice"] and "Traceback" not in r.stderr

        from ac_core.env import AssettoCorsaEnv

        with pytest.raises(shm.PageInvalidError, match=re.escape(page)) as e:
            AssettoCorsaEnv(backend="ac", prefix=prefix, track_file="spa", feeder="pad")
        assert "\n" not in str(e.value)
    finally:
        pub.close()
