"""Page producers for the environment, registered in one table (:mod:`.registry`, ``BACKENDS``).

Each backend exposes the same page arrays (:class:`~ac_core.env.backends.base.Backend`), so the
observation, reward and episode logic never see which one runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ac_core.env.backends.registry import BACKEND_NAMES, BACKENDS, BackendSpec

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendSpec", "backend_class", "make_backend"]

if TYPE_CHECKING:
    from ac_core.env.backends.base import Backend
    from ac_core.env.settings import EnvSettings


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
