"""Scale-out training on Ray: one learner, many simulator collectors, game boxes as remote actors.

Optional: ``pip install .[distributed]`` (Ray with the client extra). Nothing here is imported by
``import ac_core`` or by the single-machine trainer. The Ray-free parts — the transport interface
(:mod:`.transport`), the replay service, the learner core, the collector and the buffered transport
— run and are tested without Ray; only :mod:`.cluster`, :mod:`.actors`, :mod:`.driver` and
:mod:`.game_box` import it.
"""

from __future__ import annotations

import importlib.util

from ac_core.errors import InputError

RAY_VERSION = "2.60.0"
INSTALL_HINT = f'pip install ".[distributed]" (or: pip install "ray[client]=={RAY_VERSION}")'


class RayMissingError(InputError, RuntimeError):
    """Ray is not installed; the message names the install command."""


class DistributedSetupError(InputError, ValueError):
    """Options of a cluster run that cannot work together; the message names the fix."""


def require_ray(what: str) -> None:
    """Fail with the install command when Ray is absent (checked without importing it)."""
    if importlib.util.find_spec("ray") is None:
        raise RayMissingError(f"{what} needs Ray, which is not installed; install it with {INSTALL_HINT}")
