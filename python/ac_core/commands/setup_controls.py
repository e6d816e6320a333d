"""``ac-core setup-controls``: bind the vJoy device (or the uinput wheel) in AC's controls.ini."""

from __future__ import annotations

import argparse
import sys

from ac_core.game.config_files import Backup, IniFile, bound_controls, cfg_dir, controls_ini, documents_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "setup-controls",
        help="write AC's controls.ini for the vJoy device / uinput wheel (the user's file is backed up)",
        description="Binds steer (X), throttle (Y), brake (Z), clutch (Rx), gear up/down (buttons 1, 2), restart "
        "session and pause in Documents/Assetto Corsa/cfg/controls.ini, with Content Manager's hold delay for "
        "system commands switched off. The user's file is copied to controls.ini.ac_core_backup first; "
        "--restore puts it back. A copy is saved as a preset (cfg/controllers/savedsetups/ac_core.ini).",
    )
    p.add_argument("--documents", default=None, help="Documents/Assetto Corsa (default: the user's)")
    p.add_argument("--device", default="vjoy" if sys.platform == "win32" else "uinput", choices=("vjoy", "uinput"),
                   help="vjoy (Windows) or uinput (Linux/Proton); default for this OS")
    p.add_argument("--restart-button", type=int, default=3,
                   help="1-based button for restart session (env.restart_button)")
    p.add_argument("--pause-button", type=int, default=4, help="1-based button for pause")
    p.add_argument("--restore", action="store_true", help="put the user's controls.ini back and stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ac_core.errors import InputError

    path = cfg_dir(documents_dir(args.documents)) / "controls.ini"
    backup = Backup(path)
    if args.restore:
        if not backup.backup.exists():
            raise InputError(f"no backup {backup.backup} to restore: setup-controls has not changed {path}")
        backup.restore()
        print(f"ac-core setup-controls: restored {path}")
        return 0
    for name, value in (("--restart-button", args.restart_button), ("--pause-button", args.pause_button)):
        if not 1 <= value <= 128:
            raise InputError(f"{name} {value} is out of range: vJoy buttons are 1 to 128")
    if args.restart_button == args.pause_button or {args.restart_button, args.pause_button} & {1, 2}:
        raise InputError("--restart-button and --pause-button must differ from each other and from 1 and 2 "
                         "(gear up and down)")
    fresh = backup.save()
    base = IniFile.read(backup.backup) if backup.backup.is_file() else None
    ini = controls_ini(args.device, args.restart_button, args.pause_button, base)
    ini.write(path)
    ini.write(path.parent / "controllers/savedsetups/ac_core.ini")
    bindings = ", ".join(f"{c} {'axis' if k == 'axis' else 'button'} {i if k == 'axis' else i + 1}"
                         for c, k, i in bound_controls(ini))
    kept = "backed up to" if fresh else "the backup of an earlier run is kept at"
    print(f"ac-core setup-controls: wrote {path} ({args.device}: {bindings}); the user's file is {kept} "
          f"{backup.backup} (restore: ac-core setup-controls --restore)")
    return 0
