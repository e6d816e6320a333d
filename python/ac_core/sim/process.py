"""The simulator as its own process: real-time pages + pad page and/or CSP's Custom AI pages
(``ac-core sim [--protocol pad|csp|both]``).

The loop is C++ (:class:`ac_core._core.RealtimeRunner`: absolute deadlines, sleep + short spin,
seqlocked page writes, pad reads and echo). Python runs it in short slices so that SIGINT/SIGTERM
are handled between slices; on exit the pages are removed (only those still this process's: a newer
simulator that replaced them keeps its own, see ``cpp/include/ac_core/shared_page.hpp``).

Pages of a simulator that died (SIGKILL, a crash) or a 0-byte file are replaced on start, with a line
saying so; pages a live process holds (a running or stopped simulator) are refused.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ac_core import _core
from ac_core.errors import AcCoreError, one_line
from ac_core.shm import check_prefix, page_name
from ac_core.stop_signals import stop_signals

SLICE_S = 0.05  # how often the loop comes back to Python to look at signals
PROTOCOLS = ("pad", "csp", "both")
LIVE_CHECK_S = 0.05  # a live simulator republishes its pages every 3 ms


def live_simulator_owns(prefix: str) -> bool:
    """True if ``<prefix>physics`` exists and is still being written, as opposed to a page a crashed run
    left behind (which the new run replaces). This catches writers that hold no owner lock (simshmbridge
    under the game); our own simulators are also told apart by their lock when the pages are created."""
    import numpy as np

    name = page_name(prefix, "physics")
    if not _core.SharedPage.exists(name):
        return False
    try:
        page = _core.SharedPage.open(name)
    except FileNotFoundError:
        return False
    except ValueError:  # empty (0 bytes): no writer ever sized it, so none writes it
        return False
    try:
        before = np.frombuffer(page, dtype=np.uint8).copy()
        time.sleep(LIVE_CHECK_S)
        after = np.frombuffer(page, dtype=np.uint8).copy()
    finally:
        page.close()
    return not np.array_equal(before, after)


def run_process(
    *,
    track: Any = "spa",
    prefix: str = "acpmf_",
    time_scale: float = 1.0,
    weather: str = "clear",
    lap_start: str = "pit_out",
    auto_shift: bool = True,
    duration_s: float | None = None,
    spin_s: float = 0.0002,
    protocol: str = "both",
    csp_car_index: int = 0,
    params: Any = None,
    car: str | None = None,
    on_start: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Run the simulator process until SIGINT/SIGTERM (or ``duration_s`` of wall time); returns the
    loop statistics; ``params`` is the car (:func:`ac_core.sim.load_ac_car`; default FormulaAlpha2022),
    or ``car`` an AC car folder to load it from (what :func:`start_simulator` passes).
    Raises ValueError for bad options and FileExistsError if a live process already
    writes or holds the pages under ``prefix``."""
    from ac_core.sim import LAP_STARTS, SimOptions, VehicleParams, native_track, weather_names

    check_prefix(prefix)
    if params is None and car is not None:
        from ac_core.sim.ac_car import load_ac_car

        params = load_ac_car(car)
    if weather not in weather_names():
        raise ValueError(f"unknown weather {weather!r}; valid values: {', '.join(weather_names())}")
    if lap_start not in LAP_STARTS:
        raise ValueError(f"unknown lap_start {lap_start!r}; valid values: {', '.join(LAP_STARTS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid values: {', '.join(PROTOCOLS)}")
    if csp_car_index < 0:
        raise ValueError(f"--csp-car must be >= 0 (0 = the player's car), got {csp_car_index}")
    if not time_scale > 0:
        raise ValueError(f"--time-scale must be > 0 (1.0 = real time), got {time_scale}")
    if live_simulator_owns(prefix):
        raise FileExistsError(
            f"page {prefix}physics is already being written by a running process (another simulator, or "
            "simshmbridge under the game): stop it or choose another --prefix"
        )
    opts = SimOptions()
    opts.weather = weather
    opts.lap_start = lap_start
    opts.auto_shift = auto_shift
    if not 0.0 <= spin_s <= 0.003:
        raise ValueError(f"--spin-us must be between 0 and 3000 (one physics tick), got {spin_s * 1e6:.0f}")
    from ac_core.csp import csp_prefix_for

    runner = _core.RealtimeRunner(
        native_track(track), params if params is not None else VehicleParams(), opts, prefix=prefix,
        time_scale=time_scale, spin_s=spin_s,
        pad=protocol in ("pad", "both"), csp=protocol in ("csp", "both"), csp_prefix=csp_prefix_for(prefix),
        csp_car_index=csp_car_index,
    )
    # SIGINT/SIGTERM/SIGHUP end the loop between slices; the pages are removed in close().
    try:
        with stop_signals() as stop:
            if on_start is not None:
                on_start(runner)
            t_end = None if duration_s is None else time.monotonic() + duration_s
            while stop.reason is None:
                if t_end is not None:
                    left = t_end - time.monotonic()
                    if left <= 0:
                        break
                    runner.run_for(min(SLICE_S, left))
                else:
                    runner.run_for(SLICE_S)
                for note in runner.take_notes():  # e.g. a CSP controls page too small to drive from
                    print(f"ac-core sim: {note}", file=sys.stderr, flush=True)
            stats = dict(runner.stats, stopped_by_signal=stop.reason)
        if runner.csp_stats is not None:
            stats["csp"] = runner.csp_stats
        return stats
    finally:
        runner.close()


def main_loop_banner(runner: Any, out: Any = sys.stderr) -> None:
    for note in _core.SharedPage.take_replacement_notes():  # leftovers of a dead simulator, replaced
        print(f"ac-core sim: {note}", file=out, flush=True)
    names = ", ".join(runner.page_names)
    print(
        f"ac-core sim: publishing {names} at 333 Hz; controls from the pad page and/or CSP's CarControls page "
        "when present. Ctrl-C to stop.", file=out, flush=True
    )


# ----- the process, started from Python ---------------------------------------------------------------
# The env's live backends start the simulator here, with run_process's own keyword arguments (as JSON),
# so no caller depends on the CLI's flag names; `ac-core sim` calls run_process in its own process.
_spawned = itertools.count()


def unique_sim_prefix(owner: object) -> str:
    """A page prefix for a simulator this process spawns: never the game's, never another's (a counter,
    not the owner's id(): a new backend can get a closed one's address while its pages are going)."""
    return f"acsim{os.getpid()}_{next(_spawned)}_{id(owner) & 0xFF:x}_"


def start_simulator(*, prefix: str, timeout_s: float = 30.0, **options: Any) -> subprocess.Popen:
    """Start the simulator as a child process (``run_process(prefix=prefix, **options)``; options are
    JSON values) and wait until its pages exist and are sized. Raises SimulatorStartError with its
    stderr if it exits."""
    options = {**options, "prefix": prefix}
    cmd = [sys.executable, "-m", "ac_core.sim.process", json.dumps(options)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise SimulatorStartError(f"the simulator process exited with code {proc.returncode}: "
                                      f"{err.strip()[-2000:]}")
        if pages_ready(prefix):
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise SimulatorStartError(f"the simulator did not publish its pages within {timeout_s:.0f} s "
                              f"(options {json.dumps(options)})")


def pages_ready(prefix: str) -> bool:
    """True once the physics, graphics and static pages under ``prefix`` all exist and are sized: the
    moment a reader may open them (waiting for one page's name is not enough, see _page_sized)."""
    return all(_page_sized(prefix + kind) for kind in ("physics", "graphics", "static"))


def _page_sized(name: str) -> bool:
    """True once the page exists *and* has its size: on POSIX a page is created empty and sized a moment
    later, and a reader that opens it in between is refused (CI caught a game box doing that)."""
    if not _core.SharedPage.exists(name):
        return False
    try:
        _core.SharedPage.open(name).close()
    except (FileNotFoundError, ValueError):  # gone again, or not sized yet
        return False
    return True


def stop_simulator(process: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """Terminate a child we started (SIGTERM, then SIGKILL after ``timeout_s``)."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SimulatorStartError(AcCoreError, RuntimeError):
    """The simulator process did not come up; the message carries its own last words."""


def _main(argv: list[str]) -> int:
    """``python -m ac_core.sim.process '<json options>'``: what :func:`start_simulator` runs."""
    try:
        run_process(**json.loads(argv[0]))
    except (ValueError, OSError, RuntimeError, TypeError) as exc:
        print(f"ac_core.sim.process: {one_line(str(exc))}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
