"""`ac-core sim` as its own process: named pages, pad input and echo, pause, clean SIGTERM / SIGINT
exit, and `ac-core doctor` / `ac-core telemetry` reading it."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ac_core import _core
from ac_core.cli import main
from ac_core.pages import AcStatus, decode_utf16, empty_page
from tests.processes import cli_env, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture
def sim_process():
    prefix = f"simtest{uuid.uuid4().hex[:8]}_"
    env = cli_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ac_core.cli", "sim", "--prefix", prefix, "--lap-start", "standing"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _core.SharedPage.exists(prefix + "static") or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, proc.communicate()[1]
        yield prefix, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for kind in ("physics", "graphics", "static", "pad"):
            if _core.SharedPage.exists(prefix + kind):  # a failed test must not leave pages behind
                _core.SharedPage.create(prefix + kind, 4096, replace_stale=True).close()


def test_pages_pad_echo_pause_and_clean_exit(sim_process):
    prefix, proc = sim_process
    physics_page = _core.SharedPage.open(prefix + "physics")
    graphics_page = _core.SharedPage.open(prefix + "graphics")
    static_page = _core.SharedPage.open(prefix + "static")
    physics = _core.PageReader(physics_page, _core.PageKind.PHYSICS)
    graphics = _core.PageReader(graphics_page, _core.PageKind.GRAPHICS)
    static = _core.PageReader(static_page, _core.PageKind.STATIC)
    ph, gr, st = empty_page("physics"), empty_page("graphics"), empty_page("static")
    static.read_into_or_raise(st)
    assert decode_utf16(st["carModel"]) == "FormulaAlpha2022"
    assert decode_utf16(st["track"]) == "spa"

    # real time: ~333 packets per second, no pad yet -> no input, car at rest
    first = physics.read_into_or_raise(ph)
    time.sleep(0.3)
    second = physics.read_into_or_raise(ph)
    assert 60 <= second - first <= 200
    # no pad -> no input; the start line slopes toward La Source, so the car only creeps
    assert ph["gas"] == 0.0 and ph["brake"] == 0.0 and ph["speedKmh"] < 5.0

    # a second simulator on the same prefix refuses to start instead of stealing the pages
    env = cli_env()
    rival = subprocess.run(
        [sys.executable, "-m", "ac_core.cli", "sim", "--prefix", prefix, "--duration", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rival.returncode == 2
    assert "already" in rival.stderr

    pad = _core.PadFeeder(prefix)
    try:
        pad.write(0.0, 1.0, 0.0)
        seq = pad.sequence
        wait_for(lambda: pad.applied[0] == seq)
        _, applied_packet = pad.applied
        assert applied_packet > second
        wait_for(lambda: physics.read_into_or_raise(ph) and ph["speedKmh"] > 20.0)
        assert ph["gas"] == pytest.approx(1.0)

        # pause: status AC_PAUSE and a frozen packetId
        pad.write(0.0, 0.0, 0.0, buttons=8)  # kPadPauseToggle
        wait_for(lambda: graphics.read_into_or_raise(gr) is not None and gr["status"] == AcStatus.PAUSE)
        frozen = physics.read_into_or_raise(ph)
        time.sleep(0.1)
        assert physics.read_into_or_raise(ph) == frozen
        pad.write(0.0, 0.0, 0.0, buttons=0)  # buttons are level-triggered: release, seen, press again
        released = pad.sequence
        wait_for(lambda: pad.applied[0] == released)
        pad.write(0.0, 0.0, 0.0, buttons=8)  # resume
        wait_for(lambda: physics.read_into_or_raise(ph) > frozen)
        graphics.read_into_or_raise(gr)
        assert gr["status"] == AcStatus.LIVE

        # restart: the car goes back to its lap start (standing on the line)
        physics.read_into_or_raise(ph)
        assert ph["speedKmh"] > 20.0
        pad.write(0.0, 0.0, 0.0, buttons=0)
        released = pad.sequence
        wait_for(lambda: pad.applied[0] == released)
        pad.write(0.0, 0.0, 0.0, buttons=4)  # kPadRestartSession
        restarted = pad.sequence
        wait_for(lambda: pad.applied[0] == restarted)
        physics.read_into_or_raise(ph)
        assert ph["speedKmh"] < 5.0
    finally:
        pad.close()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    for kind in ("physics", "graphics", "static"):
        assert not _core.SharedPage.exists(prefix + kind)


def test_doctor_and_telemetry_report_the_simulator_live(sim_process, capsys) -> None:
    prefix, _ = sim_process
    assert main(["doctor", "--json", "--prefix", prefix]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["prefix"] == prefix
    assert all(p["found"] and p["error"] is None for p in report["pages"])
    session = report["session"]
    assert session["liveness"] == "live" and session["status"] == "LIVE"
    assert session["physics_packets_seen"] > 10  # 0.3 s of watching at ~333 Hz sees ~100
    assert session["carModel"] == "FormulaAlpha2022" and session["track"] == "spa"
    assert session["non_finite_fields"] == []

    assert main(["telemetry", "--count", "3", "--json", "--prefix", prefix]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    ids = [row["physics_packet_id"] for row in rows]
    # 10 Hz sampling of a 333 Hz clock: ~33 packets apart (bounds loose for a loaded machine)
    assert all(0 < b - a < 1000 for a, b in itertools.pairwise(ids)), ids
    for row in rows:
        assert row["status"] == int(AcStatus.LIVE) and row["completedLaps"] == 0
        assert 0.0 <= row["speedKmh"] < 5.0  # standing start, no pad: the car at most creeps
        assert row["gas"] == 0.0 and row["brake"] == 0.0
        assert 0.0 <= row["normalizedCarPosition"] <= 1.0  # on the line: 1.0 (just behind it) or 0.0
        assert len(row["carCoordinates"]) == 3 and all(isinstance(c, float) for c in row["carCoordinates"])


def test_clean_exit_on_sigint(sim_process) -> None:
    """Ctrl-C in a terminal: the same clean exit as SIGTERM, pages removed, no traceback."""
    prefix, proc = sim_process
    physics = _core.PageReader(_core.SharedPage.open(prefix + "physics"), _core.PageKind.PHYSICS)
    ph = empty_page("physics")
    first = physics.read_into_or_raise(ph)
    wait_for(lambda: physics.read_into_or_raise(ph) > first)  # running, not just started

    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    for kind in ("physics", "graphics", "static", "pad"):
        assert not _core.SharedPage.exists(prefix + kind)
