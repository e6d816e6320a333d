"""Page producers for the environment, registered in one table (:data:`BACKENDS`).

Each backend exposes the same page arrays (:class:`~ac_core.env.backends.base.Backend`), so the
observation, reward and episode logic never see which one runs. A new backend is one row here:
its name (``env.backend``), the class that implements it, and what it can do — the settings checks,
``make_backend``, the CLI's ``--backend`` choices and the docs' list all read this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ac_core.env.backends.base import Backend
    from ac_core.env.settings import EnvSettings


@dataclass(frozen=True)
class BackendSpec:
    name: str
    summary: str
    implementation: str  # "module:Class"; the class takes (settings) or, when batched, (settings, n)
    batched: bool = False  # runs N cars in one env, in this process: the world waits for the agent
    teleports: bool = False  # can put a car anywhere on the lap (lap_start "random")
    builtin_car: bool = False  # drives the built-in simulator's car (FormulaAlpha2022 or an AC car folder)
    game: bool = False  # the real game: ac_core can launch it (env.ac_launch) and supervise it


BACKENDS: dict[str, BackendSpec] = {spec.name: spec for spec in (
    BackendSpec("sim", "the built-in simulator in this process, N cars in lockstep",
                "ac_core.env.backends.sim:SimBackend", batched=True, teleports=True, builtin_car=True),
    BackendSpec("sim-live", "the built-in simulator as its own real-time process, driven as the game is",
                "ac_core.env.backends.live:SimLiveBackend", builtin_car=True),
    BackendSpec("ac", "Assetto Corsa through a virtual joystick (vJoy, or uinput under Proton)",
                "ac_core.env.backends.live:AcBackend", game=True),
    BackendSpec("csp", "Assetto Corsa through CSP's Custom AI (controls, teleports, pause-step)",
                "ac_core.env.backends.csp:CspBackend", teleports=True, game=True),
)}
BACKEND_NAMES = tuple(BACKENDS)


def backend_class(name: str) -> type:
    module, cls = BACKENDS[name].implementation.split(":")
    return getattr(importlib.import_module(module), cls)


def make_backend(settings: EnvSettings, n: int = 1) -> Backend:
    spec = BACKENDS[settings.backend]
    if spec.batched:
        return backend_class(spec.name)(settings, n)
    if n != 1:
        raise ValueError(f"backend {settings.backend!r} drives one car; use backend 'sim' for {n} cars")
    inner = backend_class(spec.name)
    if spec.game and settings.ac_launch:  # ac_core starts the game, and starts it again after a crash or hang
        from ac_core.env.backends.supervisor import SupervisedBackend

        return SupervisedBackend(settings, inner)
    return inner(settings)
