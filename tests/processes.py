"""Helpers for tests that run the project's own processes (`ac-core …` subprocesses) and wait on them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ac_core

CLI = [sys.executable, "-m", "ac_core.cli"]


def cli_env() -> dict[str, str]:
    """This environment, with the imported ac_core first on the path, so a child runs the same package
    (the installed one in CI, the source tree with PYTHONPATH during development)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(ac_core.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, *,
             what: str = "the condition", proc: subprocess.Popen | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout`` seconds, or
    as soon as ``proc`` (the process that should bring the condition about) has exited."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the process ended (code {proc.returncode}) before {what}: {err}")
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout:g} s")
