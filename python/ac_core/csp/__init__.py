"""CSP (Custom Shaders Patch) Custom AI: drive an Assetto Corsa car through CSP's shared memory.

* :class:`CspSession` (C++): creates ``CarControls<N>.v0`` (CSP takes the car over) and
  ``SimState.v1``, waits for ``Car<N>.v0``, writes controls and buttons, teleports, pauses, sets the
  time scale, and steps in sync with the physics ``packet_id`` (``step_paused`` / ``wait_ticks``).
* NumPy dtypes of every page, generated from the C++ structs (``ac_core._core.csp_field_table``).
* :func:`probe` — what ``ac-core doctor`` reports about the Custom AI pages.
* :mod:`ac_core.csp.watchdog` — the out-of-process safety net (brakes the car if we die).

Page names: ``<prefix>AcTools.CSP.NewBehaviour.CustomAI.<Page>``. The game uses no prefix; the
built-in simulator and the tests use the AC page prefix for both (:func:`csp_prefix_for`).
See ``docs/csp.md`` for the protocol, what CSP documents and what it leaves open.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ac_core import _core

CspSession = _core.CspSession
CspFeeder = _core.CspFeeder
CspError = _core.CspError
CspPageKind = _core.CspPageKind
NAMESPACE: str = str(_core.CSP_NAMESPACE)
AC_DEFAULT_PREFIX = "acpmf_"

PAGE_KINDS: dict[str, Any] = {
    "controls": CspPageKind.CAR_CONTROLS,
    "car": CspPageKind.CAR,
    "car_public": CspPageKind.CAR_PUBLIC,
    "sim_state_v0": CspPageKind.SIM_STATE_V0,
    "sim_state_v1": CspPageKind.SIM_STATE_V1,
}


def csp_prefix_for(ac_prefix: str) -> str:
    """The CSP name prefix that goes with an AC page prefix: the game publishes ``acpmf_*`` and CSP's
    pages without a prefix; any other AC prefix is a simulator or a test, which uses it for both."""
    return "" if ac_prefix == AC_DEFAULT_PREFIX else ac_prefix


def _kind(kind: str | Any) -> Any:
    if isinstance(kind, str):
        try:
            return PAGE_KINDS[kind]
        except KeyError:
            raise ValueError(f"unknown CSP page {kind!r}; valid: {', '.join(PAGE_KINDS)}") from None
    return kind


def page_name(kind: str | Any, car_index: int = 0, prefix: str = "") -> str:
    return str(_core.csp_page_name(_kind(kind), car_index, prefix))


def _dtype(rows: list[tuple[str, int, str, int, bool]], itemsize: int, wheel: np.dtype | None) -> np.dtype:
    names, formats, offsets = [], [], []
    for name, offset, fmt, count, _is_bool in rows:
        base = wheel if fmt == "wheel" else np.dtype(fmt)
        names.append(name)
        formats.append((base, (count,)) if count > 1 else base)
        offsets.append(offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize})


WHEEL_DTYPE = _dtype(_core.csp_wheel_field_table(), int(_core.CSP_WHEEL_SIZE), None)
DTYPES: dict[str, np.dtype] = {
    name: _dtype(_core.csp_field_table(kind), int(_core.csp_page_size(kind)), WHEEL_DTYPE)
    for name, kind in PAGE_KINDS.items()
}
CAR_DTYPE = DTYPES["car"]
CONTROLS_DTYPE = DTYPES["controls"]


def empty_page(kind: str) -> np.ndarray:
    """A zeroed 0-d record of a CSP page (e.g. the destination of ``CspSession.read_car``)."""
    if kind not in DTYPES:
        raise ValueError(f"unknown CSP page {kind!r}; valid: {', '.join(DTYPES)}")
    return np.zeros((), dtype=DTYPES[kind])


def bool_fields(kind: str) -> list[str]:
    return [row[0] for row in _core.csp_field_table(_kind(kind)) if row[4]]


def _writer_pid(page: Any) -> int | None:
    """The pid in our trailer, if the page was written by ac_core (a session or the simulator)."""
    if page.size < int(_core.CSP_OWN_PAGE_SIZE):
        return None
    trailer = np.frombuffer(page, dtype="<u4", count=8, offset=int(_core.CSP_TRAILER_OFFSET))
    return int(trailer[3]) if int(trailer[0]) == int(_core.CSP_TRAILER_MAGIC) else None


def probe(prefix: str = "", car_index: int = 0, watch_seconds: float = 0.2) -> dict[str, Any]:
    """Which Custom AI pages exist and whether the car page is live. Never creates a page: creating
    ``CarControls<N>`` would take the car over."""
    pages: dict[str, Any] = {}
    for kind in ("controls", "car", "car_public", "sim_state_v1", "sim_state_v0"):
        name = page_name(kind, car_index, prefix)
        entry: dict[str, Any] = {"name": name, "os_name": _core.SharedPage.os_name(name), "found": False}
        if _core.SharedPage.exists(name):
            entry["found"] = True
            try:
                with _core.SharedPage.open(name) as page:
                    entry["size"] = int(page.size)
                    entry["writer_pid"] = _writer_pid(page)
            except (OSError, ValueError) as e:
                entry["error"] = str(e)
        pages[kind] = entry
    report: dict[str, Any] = {"prefix": prefix, "car_index": car_index, "pages": pages, "car_live": False}
    car = pages["car"]
    if car["found"] and "error" not in car:
        if car["size"] < int(_core.csp_page_size(CspPageKind.CAR)):
            need = _core.csp_page_size(CspPageKind.CAR)
            car["error"] = f"{car['size']} bytes: smaller than CSP's {need}-byte car page"
        else:
            with _core.SharedPage.open(car["name"]) as page:
                first = int(np.frombuffer(page, dtype="<i4", count=1)[0])
                time.sleep(watch_seconds)
                last = int(np.frombuffer(page, dtype="<i4", count=1)[0])
            report["car_live"] = last != first
            report["car_packets_seen"] = last - first
    report["usable"] = bool(pages["car"]["found"] and report["car_live"])
    if report["usable"]:
        report["state"] = f"Custom AI drives car {car_index} (Car{car_index}.v0 is live)"
    elif pages["controls"]["found"] and not pages["car"]["found"]:
        report["state"] = (
            f"a controller created CarControls{car_index}.v0 but CSP did not create Car{car_index}.v0: Custom AI is "
            "disabled in new_behaviour.ini, the track's surfaces.ini does not allow it, or the car cannot be controlled"
        )
    elif pages["car"]["found"]:
        report["state"] = f"Car{car_index}.v0 exists but its packet_id is frozen: the game is paused, in a menu or gone"
    else:
        report["state"] = (
            "no Custom AI pages: nothing has asked for the car (normal until a `csp` environment starts). "
            "`ac-core doctor --csp-probe` creates the controls page briefly to check that CSP takes the car over"
        )
    return report


def probe_takeover(prefix: str = "", car_index: int = 0, timeout_s: float = 5.0) -> dict[str, Any]:
    """Creates ``CarControls<N>`` (CSP takes the car over, braking), waits for ``Car<N>``, measures
    its packet rate, then lets go. Returns what happened; the car is left braking."""
    result: dict[str, Any] = {"car_index": car_index, "took_over": False}
    try:
        session = CspSession(prefix=prefix, car_index=car_index)
    except (OSError, ValueError) as e:
        result["error"] = f"could not create the controls page: {e}"
        return result
    try:
        session.wait_for_car(timeout_s)
        result["took_over"] = True
        first, t0 = session.packet_id, time.monotonic()
        time.sleep(0.3)
        result["car_packets_per_s"] = round((session.packet_id - first) / (time.monotonic() - t0), 1)
    except CspError as e:
        result["error"] = str(e)
    finally:
        session.close()
    return result
