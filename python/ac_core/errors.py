"""The project's error classes, and how the CLI reports them.

Every error the project raises on purpose derives from :class:`AcCoreError` and carries a message
that names the problem and the fix in one line. Its ``exit_code`` tells the CLI what kind of failure
it is: 2 for bad input (a config value, a file, a command-line option: the user can fix it and rerun),
1 for a fault at run time (a game that died, a full disk). ``ac-core`` prints ``ac-core <command>:
<message>`` on stderr and exits with that code; ``--debug`` (or ``AC_CORE_DEBUG=1``) shows the
traceback instead.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class AcCoreError(Exception):
    """A fault at run time; the message says what happened and what to do."""

    exit_code = EXIT_FAULT


class InputError(AcCoreError):
    """Bad input (a setting, a file, an option); the message names it and what is valid."""

    exit_code = EXIT_BAD_INPUT


class NonFiniteError(AcCoreError):
    """A loss, gradient or weight that is NaN or infinite: training stops rather than learn garbage."""


class TrainingStopped(AcCoreError):
    """Training ended by a fault; the message says why and where its progress was saved."""

    def __init__(self, message: str, exit_code: int = EXIT_FAULT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RunInterrupted(BaseException):
    """A stop request from a signal (SIGTERM, SIGHUP, CTRL_BREAK …) raised in the main thread.

    A BaseException, as KeyboardInterrupt is, so ``except Exception`` in library code does not
    swallow it; the training loops catch it, save, and report the signal by name.
    """

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def one_line(message: object) -> str:
    """A message on one line (multi-line texts from libraries are joined with ' | ')."""
    text = " | ".join(part.strip() for part in str(message).strip().splitlines() if part.strip())
    return text or type(message).__name__


def describe_os_error(exc: OSError) -> str:
    """'<file>: <reason>' for an OSError, with the fix for the usual ones (full disk, permissions)."""
    reason = exc.strerror or one_line(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    hints = {errno.ENOSPC: "free some space or write elsewhere",
             getattr(errno, "EDQUOT", -1): "free some space or write elsewhere",
             errno.EFBIG: "the file size limit was reached; write smaller files or raise the limit",
             errno.EACCES: "choose a folder you can write to", errno.EROFS: "choose a writable folder",
             errno.EPERM: "choose a folder you can write to"}
    hint = hints.get(exc.errno or 0)
    return f"{where}{reason}" + (f" ({hint})" if hint else "")
