"""The ``ac-core`` command: one sub-command per module, each module registering its own parser.

A command module provides ``register(subparsers) -> None``, adding a parser whose default
``func(args) -> int`` runs it. Modules are imported lazily by name so that ``ac-core doctor`` does
not pay for importing PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ac_core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAULT,
    EXIT_INTERRUPTED,
    AcCoreError,
    RunInterrupted,
    describe_os_error,
    one_line,
)

# (command name, module that implements it). Order is the order shown in --help.
COMMANDS: list[tuple[str, str]] = [
    ("doctor", "ac_core.commands.doctor"),
    ("launch", "ac_core.commands.launch"),
    ("setup-controls", "ac_core.commands.setup_controls"),
    ("test-control", "ac_core.commands.test_control"),
    ("smoke-test", "ac_core.commands.smoke_test"),
    ("telemetry", "ac_core.commands.telemetry"),
    ("sim", "ac_core.commands.sim"),
    ("train", "ac_core.commands.train"),
    ("eval", "ac_core.commands.eval"),
    ("record", "ac_core.commands.record"),
    ("demo", "ac_core.commands.demo"),
    ("curve", "ac_core.commands.curve"),
    ("actor", "ac_core.commands.actor"),
    ("bench", "ac_core.commands.bench"),
]

DEBUG_ENV = "AC_CORE_DEBUG"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from ac_core import __version__

    parser = argparse.ArgumentParser(
        prog="ac-core",
        description="Train and evaluate RL drivers for Assetto Corsa (or its built-in stand-in simulator).",
    )
    parser.add_argument("--version", action="version", version=f"ac-core {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the traceback of an error instead of its one-line message (or set {DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS:
        if only is not None and name != only:
            # Cheap placeholder so --help lists every command without importing heavy modules.
            sub.add_parser(name, help=f"(see `ac-core {name} --help`)", add_help=False)
            continue
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {name for name, _ in COMMANDS}
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command if command in known else None)
    if command is None or command not in known:
        if command is not None:
            parser.error(f"unknown command {command!r}; valid commands: {', '.join(sorted(known))}")
        if "--version" in argv:
            parser.parse_args(["--version"])  # prints the version and exits 0
        parser.print_help()
        return 0 if "--help" in argv or "-h" in argv else 2
    args = parser.parse_args(argv)
    debug = bool(args.debug) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    return run_command(command, lambda: int(args.func(args) or 0), debug=debug)


def run_command(command: str, body: Callable[[], int], *, debug: bool = False) -> int:
    """Run one command with the CLI's single error path: the project's errors, OS errors and unexpected
    exceptions become one line on stderr and an exit code (2 bad input, 1 fault, 130 interrupted)."""
    def report(message: str) -> None:
        print(f"ac-core {command}: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _project_warnings_on_one_line(command, warnings.showwarning)
            return body()
    except KeyboardInterrupt:
        report("interrupted")
        return EXIT_INTERRUPTED
    except RunInterrupted as exc:
        report(f"stopped by {exc.signal_name}")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, AcCoreError):
            report(one_line(exc))
            return exc.exit_code
        if _is_track_file_error(exc):
            report(one_line(exc))
            return EXIT_BAD_INPUT
        if isinstance(exc, OSError):
            report(describe_os_error(exc))
            return EXIT_FAULT
        if isinstance(exc, MemoryError):
            report("out of memory; lower the sizes in the config (agent.replay_size, env.n_envs, agent.batch_size)")
            return EXIT_FAULT
        report(f"internal error: {type(exc).__name__}: {one_line(exc)} "
               f"(rerun with --debug for the traceback, and please report it)")
        return EXIT_FAULT


def _project_warnings_on_one_line(command: str, show: Callable[..., None]) -> Callable[..., None]:
    """The project's own warnings (a stale replay.pt, a best score from another rule, a refused real-time
    priority) as one line like its errors; a library's keep Python's format, with file and line."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep

    def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                     file: Any = None, line: str | None = None) -> None:
        if os.path.abspath(filename).startswith(package):
            print(f"ac-core {command}: warning: {message}", file=sys.stderr if file is None else file)
        else:
            show(message, category, filename, lineno, file, line)

    return show_warning


def _is_track_file_error(exc: BaseException) -> bool:
    try:
        from ac_core import _core
    except ImportError:
        return False
    return isinstance(exc, _core.TrackFileError)


if __name__ == "__main__":
    sys.exit(main())
