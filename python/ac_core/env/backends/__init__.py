"""Page producers for the environment: ``sim`` (in-process), ``sim-live`` (simulator process),
``ac`` (the real game through a virtual joystick) and ``csp`` (the game through CSP's Custom AI).
Each exposes the same page arrays, so the observation, reward and episode
logic never see which one runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ac_core.env.backends.base import Backend
    from ac_core.env.settings import EnvSettings


def make_backend(settings: EnvSettings, n: int = 1) -> Backend:
    if settings.backend == "sim":
        from ac_core.env.backends.sim import SimBackend

        return SimBackend(settings, n)
    if n != 1:
        raise ValueError(f"backend {settings.backend!r} drives one car; use backend 'sim' for {n} cars")
    if settings.backend == "sim-live":
        from ac_core.env.backends.live import SimLiveBackend

        return SimLiveBackend(settings)
    if settings.backend == "csp":
        from ac_core.env.backends.csp import CspBackend as inner
    else:
        from ac_core.env.backends.live import AcBackend as inner
    if settings.ac_launch:  # ac_core starts the game, and starts it again after a crash or hang
        from ac_core.env.backends.supervisor import SupervisedBackend

        return SupervisedBackend(settings, inner)
    return inner(settings)
