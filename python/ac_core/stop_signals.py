"""Stop requests from the operating system, turned into exceptions the training loops handle.

Python turns SIGINT (Ctrl-C; CTRL_C_EVENT on Windows) into KeyboardInterrupt. The other ways a
process is asked to stop end it on the spot by default, with no final save: SIGTERM (``kill``,
systemd, Docker, a cluster scheduler), SIGHUP (the terminal closed, an SSH session dropped) and, on
Windows, SIGBREAK — the C runtime delivers CTRL_BREAK_EVENT, and also CTRL_CLOSE_EVENT (the console
window closed; Windows then allows about 5 s before it ends the process), as SIGBREAK.

:func:`stop_signals` turns all of them into a *request*: the handler only records it, and the loop
calls :meth:`StopRequest.check` at a safe point (the top of an iteration), which raises
:class:`~ac_core.errors.RunInterrupted` there. Raising from inside the handler instead would land at an
arbitrary bytecode — inside TensorBoard's writer queue or a lock — and could leave the process unable
to exit. A loop stuck in one long call (an evaluation, a wait for the game) is interrupted after
``grace_s`` anyway, and a second request interrupts at once: the user insists.
:func:`deferred_signals` holds further requests back while the final checkpoint is written, so a
second Ctrl-C cannot cut the final save short (the write is atomic anyway; this keeps it from being
skipped). SIGKILL cannot be caught: there the periodic saves and the atomic write are the safety net.

Handlers can only be set from the main thread; elsewhere (a test runner's worker thread) both are
no-ops and Python's defaults stay.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


class StopRequest:
    """A stop asked for by a signal; ``check()`` raises RunInterrupted once one has arrived."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def check(self) -> None:
        if self.reason is not None:
            raise RunInterrupted(self.reason)


@contextmanager
def stop_signals(grace_s: float = 5.0) -> Iterator[StopRequest]:
    """Within the block, SIGINT/SIGTERM/SIGHUP/SIGBREAK set the yielded request (see the module
    docstring); if the loop has not stopped ``grace_s`` later, or a second signal comes, RunInterrupted
    is raised in the main thread wherever it is."""
    request = StopRequest()
    if not _in_main_thread():
        yield request
        return
    timers: list[threading.Timer] = []

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if request.reason is not None:  # the second request, or the grace period is over
            raise RunInterrupted(request.reason)
        request.reason = name
        # interrupt_main(signum) runs this handler again in the main thread: the branch above.
        timer = threading.Timer(grace_s, _thread.interrupt_main, args=(signum,))  # positional only
        timer.daemon = True
        timer.start()
        timers.append(timer)

    previous = _install(on_signal)
    try:
        yield request
    finally:
        for timer in timers:
            timer.cancel()
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


@dataclass
class RunOutcome:
    """How a run's loop ended: by a stop request (the signal's name), by an exception, or normally."""

    stop_reason: str | None = None
    failure: BaseException | None = None


@contextmanager
def run_outcome() -> Iterator[RunOutcome]:
    """Record how the block ended instead of letting it propagate, so the caller writes its final
    checkpoint first (``ac_core.run_directory.finish_run`` raises the failure again after that)."""
    outcome = RunOutcome()
    try:
        yield outcome
    except KeyboardInterrupt:
        outcome.stop_reason = "SIGINT"
    except RunInterrupted as exc:
        outcome.stop_reason = exc.signal_name
    except BaseException as exc:
        outcome.failure = exc
