"""Which control outputs can drive a car on this machine (for `ac-core doctor`).

A quick, side-effect-free look: nothing is acquired or created here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass


@dataclass
class OutputStatus:
    name: str
    usable: bool
    detail: str


def vjoy_dll_candidates() -> list[str]:
    """Where the installed vJoy driver keeps its DLL (the official installer and the Windows 11 fork)."""
    # Windows environment variables are case-insensitive; os.environ upper-cases them there.
    roots = [os.environ.get("PROGRAMFILES", r"C:\Program Files"), os.environ.get("PROGRAMW6432", "")]
    arch = "x64" if sys.maxsize > 2**32 else "x86"
    out = []
    for root in filter(None, roots):
        out.append(os.path.join(root, "vJoy", arch, "vJoyInterface.dll"))
    return list(dict.fromkeys(out))


def probe_vjoy() -> OutputStatus:
    if sys.platform != "win32":
        return OutputStatus("vjoy", False, "Windows only (the game's virtual joystick driver)")
    for path in vjoy_dll_candidates():
        if os.path.exists(path):
            return OutputStatus("vjoy", True, f"vJoyInterface.dll found at {path}")
    if importlib.util.find_spec("pyvjoy") is not None:
        return OutputStatus("vjoy", True, "pyvjoy installed (fallback path)")
    return OutputStatus("vjoy", False, "vJoy is not installed: install the vJoy driver (see docs/windows.md)")


def probe_uinput(path: str = "/dev/uinput") -> OutputStatus:
    if not sys.platform.startswith("linux"):
        return OutputStatus("uinput", False, "Linux only (AC under Proton)")
    if not os.path.exists(path):
        return OutputStatus("uinput", False, f"{path} is missing: load the module with `sudo modprobe uinput`")
    if not os.access(path, os.W_OK):
        return OutputStatus(
            "uinput", False, f"{path} is not writable: add a udev rule or group (see docs/windows.md, Proton)"
        )
    return OutputStatus("uinput", True, f"{path} writable")


def probe_pad() -> OutputStatus:
    return OutputStatus("pad", True, "virtual pad page for the built-in simulator (always available)")


def probe_all() -> list[OutputStatus]:
    return [probe_vjoy(), probe_uinput(), probe_pad()]
