"""Real-time step clocks for driving a live game (the C++ steppers, with Python-friendly wrappers).

* ``Stepper``: deadline clock at a fixed rate. Deadlines chain from the previous deadline (no
  drift); if the work between steps overruns the deadline by more than ``timeout_factor`` periods,
  the clock restarts from now and the step is counted (and logged) as timed out, like rtgym.
* ``PhysicsStepper``: a step ends after ``ticks`` new physics packetIds of a ``TelemetryStream``
  (AC: 3 ms per tick), so actions line up with the game's own clock.

Waiting happens in C++ with the GIL released; ``stats`` gives lateness p50/p99/max in seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from ac_core import _core
from ac_core.telemetry_stream import TelemetryStream

log = logging.getLogger(__name__)


class Stepper:
    def __init__(
        self,
        hz: float | None = None,
        *,
        period_s: float | None = None,
        timeout_factor: float = 1.0,
        spin_s: float = 0.0002,
        window: int = 65536,
    ) -> None:
        if (hz is None) == (period_s is None):
            raise ValueError("give exactly one of hz= or period_s=")
        if hz is not None:
            if not hz > 0:
                raise ValueError(f"stepper rate must be positive, got hz={hz}")
            period_s = 1.0 / hz
        self._stepper = _core.DeadlineStepper(float(period_s), timeout_factor, spin_s, window)

    @property
    def period_s(self) -> float:
        return self._stepper.period_s

    def start(self) -> None:
        """Anchor the clock now; the first step() ends one period later (implicit on first step)."""
        self._stepper.start()

    def step(self) -> float:
        """Wait for the next deadline; returns how late the wake-up was, in seconds."""
        lateness, timed_out = self._stepper.step()
        if timed_out:
            log.warning(
                "time step timed out: the work between steps took more than timeout_factor periods; "
                "the clock restarted from now"
            )
        return lateness

    @property
    def stats(self) -> dict[str, Any]:
        """steps, timeouts, p50_s, p99_s, max_s, mean_s, drift_s, elapsed_s."""
        return self._stepper.stats

    def reset_stats(self) -> None:
        self._stepper.reset_stats()


class PhysicsStepper:
    def __init__(self, stream: TelemetryStream, ticks: int, *, timeout_ticks: int = 0, window: int = 65536) -> None:
        self._stream = stream
        self._stepper = _core.PhysicsStepper(stream.poller, int(ticks), int(timeout_ticks), window)

    @property
    def ticks(self) -> int:
        return self._stepper.ticks

    def step(self, timeout: float = 1.0) -> int:
        """Wait until ``ticks`` physics packets after the previous step; returns the packetId.

        Raises TimeoutError when no such packet arrives within ``timeout`` seconds (paused or gone).
        """
        result = self._stepper.step(float(timeout))
        if result is None:
            raise TimeoutError(
                f"no physics packet {self._stepper.target_packet_id} within {timeout} s: the game is paused, "
                f"loading or not running (stream stats: {self._stream.stats['liveness']})"
            )
        packet_id, _lateness, timed_out = result
        if timed_out:
            log.warning("physics step overran: the game ran ahead of the agent; re-anchored at %d", packet_id)
        return packet_id

    @property
    def stats(self) -> dict[str, Any]:
        return self._stepper.stats
