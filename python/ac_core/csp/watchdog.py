"""The CSP watchdog process: ``python -m ac_core.csp.watchdog --pid PID [...]``.

A session started by a trainer advances a heartbeat counter in its controls page. This process
watches it (and the trainer's pid); when the trainer dies without closing its session — SIGKILL,
a crash — it writes safe controls (no throttle, full brake, wheel centred), unpauses the game at
time scale 1, keeps that up for ``--linger`` seconds and exits. The loop is C++
(``ac_core._core.run_csp_watchdog``); see ``cpp/include/ac_core/csp_watchdog.hpp``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from ac_core import _core


def spawn(prefix: str, car_index: int, sim_state_version: int, timeout_s: float = 0.5,
          linger_s: float = 3.0) -> subprocess.Popen:
    """Start a watchdog for this process's session (create the session first)."""
    cmd = [sys.executable, "-m", "ac_core.csp.watchdog", "--prefix", prefix, "--car", str(car_index),
           "--sim-state-version", str(sim_state_version), "--pid", str(os.getpid()), "--timeout", str(timeout_s),
           "--linger", str(linger_s)]
    # Its own process group: a Ctrl-C meant for the trainer must not stop the watchdog first.
    kwargs: dict = {"start_new_session": True} if os.name == "posix" else {
        "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ac_core.csp.watchdog", description=__doc__.splitlines()[0])
    p.add_argument("--prefix", default="", help="CSP page prefix ('' for the game)")
    p.add_argument("--car", type=int, default=0, help="car index")
    p.add_argument("--sim-state-version", type=int, default=1, choices=(0, 1))
    p.add_argument("--pid", type=int, default=0, help="the session's process (0: heartbeat only)")
    p.add_argument("--timeout", type=float, default=0.5, help="heartbeat silence that counts as stopped (s)")
    p.add_argument("--linger", type=float, default=3.0, help="keep the safe controls this long (s)")
    args = p.parse_args(argv)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    outcome = _core.run_csp_watchdog(prefix=args.prefix, car_index=args.car, sim_state_version=args.sim_state_version,
                                     owner_pid=args.pid, timeout_s=args.timeout, linger_s=args.linger)
    if outcome == "owner_stopped":
        print(f"ac-core csp watchdog: the session (pid {args.pid}) stopped; car {args.car} left braking",
              file=sys.stderr)
    return 0 if outcome in ("owner_detached", "owner_stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
