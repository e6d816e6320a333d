from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
_counter = itertools.count()


def unique_prefix(tag: str = "t") -> str:
    """A page-name prefix no other test, process or simulator uses."""
    return f"acct{os.getpid()}_{next(_counter)}_{tag}_"


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    return unique_prefix(request.node.name[:12].replace("[", "_").replace("]", "_"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found beside the repository ({SHARED}); it holds the test data")
    return SHARED
