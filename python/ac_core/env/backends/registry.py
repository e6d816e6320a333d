"""The backends, registered in one table: each one's ``env.backend`` name, the class that implements
it and what it can do. The settings checks, :func:`ac_core.env.backends.make_backend`, the trainer's
learner choice, the racing env factories and ``ac-core eval --backend`` all read this table; a new
backend is one row here (docs/DEVELOPING.md, "Adding a backend"). It imports nothing of the env, so
the env's settings can read it.
"""

from __future__ import annotations

from dataclasses import dataclass


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
