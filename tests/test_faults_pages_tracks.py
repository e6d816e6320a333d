"""Fault injection against real processes: simulator pages (a stalled simulator that exits later, a
0-byte page, a SIGKILLed simulator's leftovers) and bad track files / names / prefixes through the CLI.

Each case asserts the outcome: the newer pages still exist and are written, the leftover is replaced
and the replacement said, a bad input ends in one line naming the thing, exit 2, and no signal."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ac_core import _core
from ac_core.pages import empty_page
from tests.processes import cli_env, wait_for

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not Path("/dev/shm").is_dir(), reason="POSIX signals and /dev/shm pages"
)

KINDS = ("physics", "graphics", "static")




def run_cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ac_core.cli", *args], env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess[str], command: str) -> str:
    """The single stderr line of a failed command (exit 2, not killed by a signal)."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"ac-core {command}: ")
    return lines[0]




def page_file(prefix: str, kind: str) -> Path:
    return Path("/dev/shm") / f"{prefix}{kind}"


def packet_id(prefix: str) -> int:
    with _core.SharedPage.open(prefix + "physics") as page:
        out = empty_page("physics")
        return int(_core.PageReader(page, _core.PageKind.PHYSICS).read_into_or_raise(out))


def is_written(prefix: str) -> bool:
    """The physics page advances (a live simulator ticks at 333 Hz)."""
    first = packet_id(prefix)
    return bool(wait_for(lambda: packet_id(prefix) > first, timeout=10.0))


@pytest.fixture
def sims(prefix: str):
    """Starts simulators on ``prefix``; kills what is left and removes leftover pages afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ac_core.cli", "sim", "--prefix", prefix, "--lap-start", "standing",
             "--protocol", "pad"],
            env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        wait_for(lambda: all(_core.SharedPage.exists(prefix + k) for k in KINDS) or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait(10)
    for kind in (*KINDS, "pad"):
        if _core.SharedPage.exists(prefix + kind):
            _core.SharedPage.create(prefix + kind, 4096, replace_stale=True).close()


def test_a_stalled_simulator_exiting_later_keeps_the_newer_simulators_pages(prefix: str, sims) -> None:
    old = sims()
    os.kill(old.pid, signal.SIGSTOP)
    # While it is stopped it is still alive: a second simulator is refused, naming it.
    line = one_error_line(run_cli("sim", "--prefix", prefix, "--protocol", "pad", "--duration", "1"), "sim")
    assert f"pid {old.pid}, stopped" in line and prefix in line and "--prefix" in line
    # Someone removes the stalled simulator's pages by hand and starts a new one on the prefix.
    for kind in KINDS:
        page_file(prefix, kind).unlink()
    new = sims()
    assert is_written(prefix)
    # The old one resumes and exits: it must remove only its own (already unlinked) pages.
    os.kill(old.pid, signal.SIGCONT)
    old.send_signal(signal.SIGTERM)
    assert old.wait(30) == 0
    assert all(page_file(prefix, k).exists() for k in KINDS)
    assert is_written(prefix)
    new.send_signal(signal.SIGTERM)
    assert new.wait(30) == 0
    assert not any(page_file(prefix, k).exists() for k in KINDS)


def test_an_empty_leftover_page_is_replaced_and_said(prefix: str, sims) -> None:
    page_file(prefix, "physics").write_bytes(b"")  # a 0-byte page, as a writer killed before sizing it leaves
    proc = run_cli("sim", "--prefix", prefix, "--protocol", "pad", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert all(line.startswith("ac-core sim: ") for line in lines)
    assert any(f"replaced the leftover page /dev/shm/{prefix}physics (0 bytes" in line for line in lines)
    assert not any(page_file(prefix, k).exists() for k in KINDS)


def test_the_pages_of_a_killed_simulator_are_replaced(prefix: str, sims) -> None:
    killed = sims()
    killed.kill()
    assert killed.wait(10) == -signal.SIGKILL
    assert all(page_file(prefix, k).exists() for k in KINDS)  # left behind: nobody removed them
    proc = run_cli("sim", "--prefix", prefix, "--protocol", "pad", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    for kind in KINDS:
        assert f"replaced the leftover page /dev/shm/{prefix}{kind}" in proc.stderr
    assert not any(page_file(prefix, k).exists() for k in KINDS)


def write_csv(path: Path, rows: list[tuple[float, float]], width: float = 5.0) -> Path:
    path.write_text("# x_m,y_m,w_tr_right_m,w_tr_left_m\n" + "".join(f"{x:.4f},{y:.4f},{width},{width}\n"
                                                                      for x, y in rows))
    return path


def circle(radius: float, n: int, turns: float = 1.0, drift: float = 0.0) -> list[tuple[float, float]]:
    return [((radius + drift * i) * math.cos(2 * math.pi * turns * i / n),
             (radius + drift * i) * math.sin(2 * math.pi * turns * i / n)) for i in range(n)]


def degenerate_files(tmp: Path) -> list[tuple[Path, str]]:
    dense = circle(100.0, 200)
    dense.insert(11, (dense[10][0] + 0.01, dense[10][1]))
    latin = tmp / "latin1.csv"
    latin.write_bytes(b"0,0,5,5\n100,0,5,5\n100,100,5,5\n0\xe9,100,5,5\n")
    utf16_no_bom = tmp / "utf16.csv"
    utf16_no_bom.write_bytes("0,0,5,5\n100,0,5,5\n100,100,5,5\n0,100,5,5\n".encode("utf-16-le"))
    other = tmp / "track.txt"
    other.write_text("not a track")
    return [
        (write_csv(tmp / "short.csv", [(0, 0), (1, 0), (1, 1), (0, 1)]), "shorter than the 50 m"),
        (write_csv(tmp / "collinear6m.csv", [(0, 0), (2, 0), (4, 0), (6, 0)]), "shorter than the 50 m"),
        (write_csv(tmp / "collinear.csv", [(0, 0), (200, 0), (400, 0), (600, 0)]), "one straight line"),
        (write_csv(tmp / "three.csv", [(0, 0), (100, 0), (0, 100)]), "at least 4"),
        (write_csv(tmp / "dense.csv", dense), "closer than the 0.05 m"),
        (write_csv(tmp / "twice.csv", circle(100.0, 400, turns=2.0, drift=0.002)), "runs over itself"),
        (latin, "0xE9"),
        (utf16_no_bom, "UTF-16"),
        (other, "unrecognised track file"),
    ]


def test_degenerate_track_files_end_in_one_line_and_no_signal(tmp_path: Path) -> None:
    for path, reason in degenerate_files(tmp_path):
        line = one_error_line(run_cli("sim", "--reference-lap", "--track", str(path)), "sim")
        assert str(path) in line and reason in line, line


def test_a_degenerate_track_stops_the_realtime_simulator_before_any_page(tmp_path: Path, prefix: str) -> None:
    short = write_csv(tmp_path / "short.csv", [(0, 0), (1, 0), (1, 1), (0, 1)])
    line = one_error_line(run_cli("sim", "--prefix", prefix, "--track", str(short), "--duration", "1"), "sim")
    assert str(short) in line
    assert not any(page_file(prefix, k).exists() for k in KINDS)


def test_the_shortest_track_casts_rays_in_a_process(tmp_path: Path) -> None:
    """Rays on a lap just over the minimum (a too-short lap once ended in SIGFPE here)."""
    path = write_csv(tmp_path / "small.csv", circle(9.0, 24), width=2.0)
    code = (
        "import sys, numpy as np\n"
        "from ac_core.track import load_track\n"
        "t = load_track(sys.argv[1])\n"
        "geo = t.geometry(ray_angles=np.linspace(-1.5, 1.5, 15))\n"
        "out = geo.allocate(1)\n"
        "geo.compute(np.array([9.0]), np.array([0.0]), np.array([0.0]), out)\n"
        "assert np.all(out.ray_distance > 0), out.ray_distance\n"
        "print(round(t.length, 1))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], env=cli_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) > 50.0


def test_byte_order_marks_are_read(tmp_path: Path) -> None:
    text = "# x_m,y_m,w_tr_right_m,w_tr_left_m\n" + "".join(f"{x:.3f},{y:.3f},6,6\n" for x, y in circle(150.0, 120))
    for name, data in (("utf8bom.csv", b"\xef\xbb\xbf" + text.encode()), ("utf16bom.csv", text.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        proc = run_cli("sim", "--reference-lap", "--json", "--track", str(path))
        assert proc.returncode in (0, 1), proc.stderr  # 1: lap not completed; the file loaded either way
        assert json.loads(proc.stdout)["track_length_m"] == pytest.approx(2 * math.pi * 150.0, rel=0.01)


def test_an_unknown_track_name_lists_the_valid_ones(prefix: str) -> None:
    for args in (("sim", "--reference-lap", "--track", "spaa"),
                 ("sim", "--prefix", prefix, "--track", "spaa", "--duration", "1")):
        line = one_error_line(run_cli(*args), "sim")
        assert "'spaa'" in line and "valid names: spa" in line


@pytest.mark.parametrize("command", [("sim", "--duration", "1"), ("doctor",), ("telemetry", "--count", "1")])
def test_a_slash_in_the_prefix_is_one_line(command: tuple[str, ...]) -> None:
    line = one_error_line(run_cli(command[0], "--prefix", "runs/a_", *command[1:]), command[0])
    assert "'runs/a_'" in line and "--prefix acpmf_" in line
