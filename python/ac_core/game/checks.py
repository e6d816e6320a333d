"""Checks against whatever writes the pages (AC, simshmbridge, ``ac-core sim``): are the pages live,
at what rate, does each control come back in the physics page, does a restart restart, does the lap
clock run. ``ac-core smoke-test`` runs them all, ``ac-core test-control`` the control echoes.

A control's echo is what the physics page reports the car received: ``gas``, ``brake``, ``clutch``,
``steerAngle`` (its sign follows the command; AC's scale depends on the car's lock), ``gear``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ac_core import pages as P
from ac_core.shm import PageSet, watch_session

# A control is sent for this long before its echo is read: AC reads controllers once per rendered frame
# and filters steering (STEER_FILTER, DEBOUNCING_MS); a quarter second covers both at 30 fps.
SETTLE_S = 0.3
MIN_PACKET_RATE_HZ = 100.0  # AC and the simulator publish ~333 physics packets a second
AXIS_CONTROLS = ("steer", "throttle", "brake", "clutch")
BUTTON_CONTROLS = ("gear_up", "gear_down")


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def timed(name: str, fn: Callable[[], tuple[bool, str]]) -> CheckResult:
    t0 = time.monotonic()
    try:
        ok, detail = fn()
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {str(e).split(';')[0]}"
    return CheckResult(name, ok, detail, round(time.monotonic() - t0, 2))


def results_json(results: list[CheckResult]) -> dict[str, Any]:
    return {"ok": all(r.ok for r in results), "checks": [asdict(r) for r in results]}


def print_table(title: str, results: list[CheckResult]) -> None:
    print(title)
    width = max(len(r.name) for r in results) if results else 5
    for r in results:
        print(f"  {r.name:<{width}}  {'PASS' if r.ok else 'FAIL'}  {r.detail}  ({r.seconds:.1f} s)")
    print(f"{'PASS' if all(r.ok for r in results) else 'FAIL'}: {sum(r.ok for r in results)} of {len(results)} "
          "checks passed")


class PageProbe:
    """Fresh snapshots of the pages and the physics clock for the checks."""

    def __init__(self, pages: PageSet) -> None:
        self.pages = pages

    def physics(self) -> Any:
        self.pages.read_physics()
        return self.pages.physics

    def graphics(self) -> Any:
        self.pages.read_graphics()
        return self.pages.graphics

    def packet_rate(self, seconds: float = 1.0) -> float:
        first = int(self.physics()["packetId"])
        t0 = time.monotonic()
        time.sleep(seconds)
        return (int(self.physics()["packetId"]) - first) / (time.monotonic() - t0)


# ---- the individual checks -------------------------------------------------------------------------


def check_live(pages: PageSet) -> tuple[bool, str]:
    seen = watch_session(pages, 0.5)
    summary = P.static_summary(pages.static)
    where = f"car {summary['carModel']!r}, track {summary['track']!r}"
    if seen.state == "live":
        return True, f"live ({seen.packets} packets in 0.5 s), {where}"
    return False, f"{seen.state}{': ' + seen.reason if seen.reason else ''} ({where}); drive out of the pits / " \
                  "unpause, or start the game"


def check_rate(probe: PageProbe) -> tuple[bool, str]:
    rate = probe.packet_rate(1.0)
    return rate >= MIN_PACKET_RATE_HZ, f"{rate:.0f} physics packets/s (want >= {MIN_PACKET_RATE_HZ:.0f})"


def hold(feeder: Any, seconds: float, steer: float = 0.0, throttle: float = 0.0, brake: float = 0.0,
         clutch: float = 0.0, buttons: int = 0) -> None:
    """Keep sending one command (a feeder write every 20 ms, as a control loop would)."""
    end = time.monotonic() + seconds
    while True:
        feeder.write(steer, throttle, brake, clutch, buttons)
        if time.monotonic() >= end:
            return
        time.sleep(0.02)


def check_axis(probe: PageProbe, feeder: Any, control: str) -> tuple[bool, str]:
    """Send the control at two values; its physics echo must follow (steer: its sign)."""
    field = {"steer": "steerAngle", "throttle": "gas", "brake": "brake", "clutch": "clutch"}[control]
    low, high = (-0.6, 0.6) if control == "steer" else (0.0, 0.8)
    echoes = []
    for value in (low, high):
        command = {"brake": 0.0 if control == "throttle" else 1.0, control: value}  # held on the brake
        hold(feeder, SETTLE_S, **command)
        echoes.append(float(probe.physics()[field]))
    hold(feeder, 0.05, brake=1.0)  # back to rest: wheel centred, braking
    if control == "steer":
        ok = echoes[0] < 0 < echoes[1] or echoes[1] < 0 < echoes[0]
    else:
        ok = abs((echoes[1] - echoes[0]) - (high - low)) <= 0.25 * (high - low)
    return ok, f"sent {low:+.1f} → {field} {echoes[0]:+.3f}, sent {high:+.1f} → {field} {echoes[1]:+.3f}"


def check_button(probe: PageProbe, feeder: Any, control: str, bits: int) -> tuple[bool, str]:
    """A gear button: the physics gear must move one step that way (needs AC's manual gearbox)."""
    before = int(probe.physics()["gear"])
    hold(feeder, 0.15, brake=1.0, buttons=bits)
    hold(feeder, SETTLE_S, brake=1.0)
    after = int(probe.physics()["gear"])
    want = 1 if control == "gear_up" else -1
    return after - before == want, f"gear {before} → {after} (want {'+1' if want > 0 else '-1'}; AC counts R=0, N=1)"


def check_restart(probe: PageProbe, feeder: Any, bits: int, hold_s: float, timeout_s: float = 10.0) -> tuple[bool, str]:
    """Drive a moment, press the restart binding, and see the session restart: the lap clock or the car's
    place jumps back."""
    hold(feeder, 1.5, throttle=1.0)
    g = probe.graphics()
    before_ms, before_pos = int(g["iCurrentTime"]), [float(v) for v in g["carCoordinates"]]
    hold(feeder, hold_s, buttons=bits)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        hold(feeder, 0.1)
        g = probe.graphics()
        now_ms, pos = int(g["iCurrentTime"]), [float(v) for v in g["carCoordinates"]]
        moved = sum((a - b) ** 2 for a, b in zip(pos, before_pos, strict=True)) ** 0.5
        if now_ms < before_ms or moved > 20.0:
            return True, f"restarted: lap clock {before_ms} → {now_ms} ms, car moved {moved:.0f} m"
    return False, (f"no restart within {timeout_s:g} s after pressing button bits {bits:#x} for {hold_s:g} s: bind "
                   "it to 'restart session' (`ac-core setup-controls`) and hold it longer than CM's delay")


def check_lap_clock(probe: PageProbe, feeder: Any) -> tuple[bool, str]:
    first = int(probe.graphics()["iCurrentTime"])
    hold(feeder, 1.0, throttle=0.5)
    second = int(probe.graphics()["iCurrentTime"])
    hold(feeder, 0.05, brake=1.0)
    return second > first, f"graphics.iCurrentTime {first} → {second} ms over 1 s"


def control_checks(probe: PageProbe, feeder: Any, controls: list[str]) -> list[CheckResult]:
    from ac_core.feeders import buttons

    out = []
    for control in controls:
        if control in AXIS_CONTROLS:
            out.append(timed(f"echo {control}", lambda c=control: check_axis(probe, feeder, c)))
        else:
            out.append(timed(f"echo {control}", lambda c=control: check_button(probe, feeder, c, buttons(c))))
    return out
