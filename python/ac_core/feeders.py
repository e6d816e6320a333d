"""Control outputs behind one interface: ``write(steer, throttle, brake, clutch=0, buttons=0)``.

=========  ===============================================  ==============================
kind       where the controls go                            implementation
=========  ===============================================  ==============================
pad        the pad page ``<prefix>pad`` (built-in sim)      C++ ``PadFeeder``
vjoy       vJoy device (Windows, AC)                        C++ ``VJoyFeeder`` (one UpdateVJD),
                                                            else ``PyVJoyFeeder`` (pyvjoy)
uinput     a uinput joystick (Linux, AC under Proton)       C++ ``UinputFeeder``
=========  ===============================================  ==============================

Ranges: steer [-1, 1], throttle/brake/clutch [0, 1]; values outside are clamped and counted
(``stats["clamped_values"]``), NaN or infinity raises ValueError and nothing is sent. ``buttons`` is
a bit mask: see ``BUTTONS`` / ``buttons()``. vJoy and uinput axes: X steer, Y throttle, Z brake,
Rx clutch; buttons 1..8 (vJoy) or BTN_TRIGGER.. (uinput) in ``BUTTONS`` order.
"""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any, Protocol

from ac_core import _core
from ac_core.errors import AcCoreError
from ac_core.shm import DEFAULT_PREFIX

BUTTONS: dict[str, int] = {
    "gear_up": 1 << 0,
    "gear_down": 1 << 1,
    "restart": 1 << 2,
    "pause": 1 << 3,
    "drs": 1 << 4,
    "button6": 1 << 5,
    "button7": 1 << 6,
    "button8": 1 << 7,
}
FEEDER_KINDS = ("auto", "pad", "vjoy", "uinput")

VJoyError = _core.VJoyError
UinputError = _core.UinputError


class ControlFeeder(Protocol):
    kind: str

    def write(self, steer: float, throttle: float, brake: float, clutch: float = 0.0, buttons: int = 0) -> None: ...

    def close(self) -> None: ...


class FeederUnavailableError(AcCoreError, RuntimeError):
    """No way to send controls of the requested kind on this machine."""


def buttons(*names: str) -> int:
    """The bit mask for button names, e.g. ``buttons("gear_up")``."""
    mask = 0
    for name in names:
        if name not in BUTTONS:
            raise ValueError(f"unknown button {name!r}; valid: {', '.join(BUTTONS)}")
        mask |= BUTTONS[name]
    return mask


# ---- pyvjoy fallback ------------------------------------------------------------------------------

_PYVJOY_AXES = {"steer": "wAxisX", "throttle": "wAxisY", "brake": "wAxisZ", "clutch": "wAxisXRot"}
# pyvjoy gives no access to GetVJDAxisMin/Max: use the SDK examples' convention (research §1.3).
PYVJOY_AXIS_MIN = 0x1
PYVJOY_AXIS_MAX = 0x8000


class PyVJoyFeeder:
    """vJoy through pyvjoy, for machines where the C++ loader cannot load the DLL.

    Still one UpdateVJD per write: the fields of pyvjoy's ``data`` (a JOYSTICK_POSITION_V2) are set
    and ``update()`` sends them together, instead of one SetAxis (one IOCTL) per axis.
    """

    kind = "vjoy-pyvjoy"

    def __init__(self, device_id: int = 1, *, module: Any = None) -> None:
        if module is None:
            try:
                module = importlib.import_module("pyvjoy")
            except ImportError as e:
                raise FeederUnavailableError("pyvjoy is not installed (pip install pyvjoy)") from e
            except SystemExit as e:  # pyvjoy calls sys.exit() when its bundled DLL does not load
                raise FeederUnavailableError(f"pyvjoy could not load vJoyInterface.dll: {e}") from None
        self._device = module.VJoyDevice(device_id)
        self.device_id = device_id
        self._stats = {"writes": 0, "clamped_values": 0, "rejected": 0}
        self._closed = False

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    def _clean(self, name: str, value: float, lo: float, hi: float) -> float:
        v = float(value)
        if not math.isfinite(v):
            self._stats["rejected"] += 1
            raise ValueError(
                f"control {name!r} is {'NaN' if math.isnan(v) else 'infinite'}: refusing to send it; "
                "check the policy output (nothing was written)"
            )
        if v < lo or v > hi:
            self._stats["clamped_values"] += 1
            v = min(max(v, lo), hi)
        return v

    def write(self, steer: float, throttle: float, brake: float, clutch: float = 0.0, buttons: int = 0) -> None:
        if self._closed:
            raise RuntimeError("pyvjoy feeder is closed; create a new one")
        values = {
            "steer": (self._clean("steer", steer, -1.0, 1.0) + 1.0) * 0.5,
            "throttle": self._clean("throttle", throttle, 0.0, 1.0),
            "brake": self._clean("brake", brake, 0.0, 1.0),
            "clutch": self._clean("clutch", clutch, 0.0, 1.0),
        }
        data = self._device.data
        for name, fraction in values.items():
            setattr(data, _PYVJOY_AXES[name], round(PYVJOY_AXIS_MIN + fraction * (PYVJOY_AXIS_MAX - PYVJOY_AXIS_MIN)))
        data.lButtons = int(buttons) & 0xFF
        self._device.update()
        self._stats["writes"] += 1

    def close(self) -> None:
        if self._closed:
            return
        self.write(0.0, 0.0, 0.0)  # centred wheel, pedals up
        self._closed = True


# ---- factory --------------------------------------------------------------------------------------

# Codes for which pyvjoy may still work (our loader failed, the driver itself may be fine).
_FALLBACK_CODES = {"not_installed", "load_failed", "missing_export"}


def make_vjoy_feeder(device_id: int = 1, *, dll_path: str = "", pyvjoy_module: Any = None) -> Any:
    """The C++ VJoyFeeder (installed driver's DLL first, then ``dll_path``), else pyvjoy."""
    try:
        return _core.VJoyFeeder(device_id, dll_path)
    except _core.VJoyError as e:
        if getattr(e, "code", None) not in _FALLBACK_CODES:
            raise  # the driver answered: pyvjoy would meet the same problem
        native_error = e
    try:
        return PyVJoyFeeder(device_id, module=pyvjoy_module)
    except FeederUnavailableError as e:
        raise FeederUnavailableError(f"no vJoy output: {native_error}; fallback: {e}") from None


def open_vjoy(device_id: int = 1, dll_path: str = "") -> Any:
    """The vJoy feeder for AC on Windows (native, else pyvjoy); same as ``make_feeder("vjoy")``."""
    return make_vjoy_feeder(device_id, dll_path=dll_path)


def make_feeder(
    kind: str = "auto",
    *,
    prefix: str = DEFAULT_PREFIX,
    device_id: int = 1,
    dll_path: str = "",
    uinput_path: str = "/dev/uinput",
    pyvjoy_module: Any = None,
) -> Any:
    """A control feeder by kind: "pad", "vjoy", "uinput", or "auto" (vJoy on Windows, uinput on Linux)."""
    if kind not in FEEDER_KINDS:
        raise ValueError(f"unknown feeder kind {kind!r}; valid: {', '.join(FEEDER_KINDS)}")
    if kind == "auto":
        if sys.platform == "win32":
            kind = "vjoy"
        elif sys.platform.startswith("linux"):
            kind = "uinput"
        else:
            raise FeederUnavailableError(f"no control output for AC on {sys.platform}; use kind='pad' with the sim")
    if kind == "pad":
        return _core.PadFeeder(prefix)
    if kind == "vjoy":
        return make_vjoy_feeder(device_id, dll_path=dll_path, pyvjoy_module=pyvjoy_module)
    if not _core.UINPUT_AVAILABLE:
        raise FeederUnavailableError("uinput is Linux-only; on Windows use kind='vjoy'")
    return _core.UinputFeeder(uinput_path)
