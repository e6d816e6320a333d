"""ac_core: train and evaluate reinforcement-learning drivers for Assetto Corsa.

The C++ core (``ac_core._core``) maps AC's shared-memory pages, takes checked snapshots and runs the
real-time plumbing; the Python package builds the page dtypes, the CLI, the environment and the
agents on top of it.
"""

import os as _os

# Developers running from the source tree point AC_CORE_EXT_DIR at a CMake build folder that holds
# freshly built _core and _testing modules (see README, "Developing"); installed packages never need it.
if _os.environ.get("AC_CORE_EXT_DIR"):
    __path__.insert(0, _os.path.abspath(_os.environ["AC_CORE_EXT_DIR"]))  # type: ignore[name-defined]

from ac_core._core import __version__

__all__ = ["__version__"]
