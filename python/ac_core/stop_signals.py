"""Stop requests from the operating system, turned into exceptions the training loops handle.

Python turns SIGINT (Ctrl-C; CTRL_C_EVENT on Windows) into KeyboardInterrupt. The other ways a
process is asked to stop end it on the spot by default, with no final save: SIGTERM (``kill``,
systemd, Docker, a cluster scheduler), SIGHUP (the terminal closed, an SSH session dropped) and, on
Windows, SIGBREAK — the C runtime delivers CTRL_BREAK_EVENT, and also CTRL_CLOSE_EVENT (the console
window closed; Windows then allows about 5 s before it ends the process), as SIGBREAK.

:func:`stop_signals` makes all of them raise :class:`~ac_core.errors.RunInterrupted` (or
KeyboardInterrupt for SIGINT) in the main thread, so the loop's ``except``/``finally`` writes the
checkpoint. :func:`deferred_signals` holds further requests back while that checkpoint is written, so
a second Ctrl-C cannot cut the final save short (the write is atomic anyway; this keeps it from being
skipped). SIGKILL cannot be caught: there the periodic saves and the atomic write are the safety net.

Handlers can only be set from the main thread; elsewhere (a test runner's worker thread) both are
no-ops and Python's defaults stay.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ac_core.errors import RunInterrupted


def _catchable() -> list[signal.Signals]:
    names = ["SIGINT", "SIGTERM", "SIGHUP"] + (["SIGBREAK"] if sys.platform == "win32" else [])
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def _install(handler: Any) -> dict[signal.Signals, Any]:
    previous: dict[signal.Signals, Any] = {}
    for signum in _catchable():
        try:
            previous[signum] = signal.signal(signum, handler)
        except (OSError, ValueError):  # not settable here (e.g. SIGHUP ignored by nohup is still settable)
            continue
    return previous


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP/SIGBREAK raise RunInterrupted and SIGINT KeyboardInterrupt."""
    if not _in_main_thread():
        yield
        return

    def request_stop(signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise RunInterrupted(signal.Signals(signum).name)

    previous = _install(request_stop)
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def deferred_signals() -> Iterator[list[str]]:
    """Within the block, stop requests are recorded (their names appended to the yielded list) but do
    not interrupt; the caller decides what to do with them afterwards."""
    received: list[str] = []
    if not _in_main_thread():
        yield received
        return

    def remember(signum: int, _frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        print(f"ac-core: {signal.Signals(signum).name} received; finishing the checkpoint first "
              "(SIGKILL stops at once, losing what is not yet saved)", file=sys.stderr, flush=True)

    previous = _install(remember)
    try:
        yield received
    finally:
        _restore(previous)
