"""The ``ac-core`` command: one sub-command per module, each module registering its own parser.

A command module provides ``register(subparsers) -> None``, adding a parser whose default
``func(args) -> int`` runs it. Modules are imported lazily by name so that ``ac-core doctor`` does
not pay for importing PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (command name, module that implements it). Order is the order shown in --help.
COMMANDS: list[tuple[str, str]] = [
    ("doctor", "ac_core.commands.doctor"),
    ("telemetry", "ac_core.commands.telemetry"),
    ("sim", "ac_core.commands.sim"),
    ("train", "ac_core.commands.train"),
    ("eval", "ac_core.commands.eval"),
    ("record", "ac_core.commands.record"),
    ("curve", "ac_core.commands.curve"),
    ("actor", "ac_core.commands.actor"),
    ("bench", "ac_core.commands.bench"),
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from ac_core import __version__

    parser = argparse.ArgumentParser(
        prog="ac-core",
        description="Train and evaluate RL drivers for Assetto Corsa (or its built-in stand-in simulator).",
    )
    parser.add_argument("--version", action="version", version=f"ac-core {__version__}")
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
        parser.print_help()
        return 0 if "--help" in argv or "-h" in argv else 2
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
