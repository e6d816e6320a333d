"""A throw-away Ray head for tests and benchmarks: token auth on, small, quiet, quick to stop.

``ray start --head --block`` in its own process (so stopping it is one SIGTERM to a process we
started, never ``ray stop``, which kills every Ray on the machine by name), with: explicit logical
CPUs, no dashboard, usage stats off, a small object store, HOME and Ray's temp dir in a short
private folder under /tmp (Ray's socket paths must stay under ~107 characters), the 30 s graceful
drain turned off, and free ports outside Ray's default worker-port range (10002-19999).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RayHead:
    gcs_address: str  # for a driver on this machine (native)
    client_address: str  # ray://… for a Ray Client driver (the game-box path)
    token: str
    env: dict[str, str]  # environment for processes that should reach this head
    home: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# One token for every cluster a test process starts: Ray reads the token once per process and keeps
# it, so a second cluster with another token would reject this process's own connections.
SESSION_TOKEN = secrets.token_hex(16)


def _absolute_paths(value: str) -> str:
    return os.pathsep.join(str(Path(p).resolve()) if p else p for p in value.split(os.pathsep))


def head_environment(home: Path, token: str) -> dict[str, str]:
    env = dict(os.environ)
    # Ray workers start in another directory: relative import paths would point nowhere there.
    for name in ("PYTHONPATH", "AC_CORE_EXT_DIR"):
        if env.get(name):
            env[name] = _absolute_paths(env[name])
    env.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0",
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_DEDUP_LOGS="0", TQDM_DISABLE="1")
    return env


def _client_port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def ray_head(num_cpus: int = 4, object_store_mb: int = 150, start_timeout_s: float = 90.0) -> Iterator[RayHead]:
    root = Path(tempfile.mkdtemp(prefix="acr", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    token = SESSION_TOKEN
    env = head_environment(home, token)
    gcs_port, client_port, agent_port = _free_port(), _free_port(), _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    command = [str(ray_cli) if ray_cli.exists() else "ray", "start", "--head", "--block",
               "--node-ip-address=127.0.0.1", f"--port={gcs_port}", f"--ray-client-server-port={client_port}",
               f"--dashboard-agent-listen-port={agent_port}", f"--num-cpus={num_cpus}", "--include-dashboard=false",
               f"--object-store-memory={object_store_mb * 1024 * 1024}", f"--temp-dir={root / 't'}",
               "--disable-usage-stats"]
    log = open(root / "head.log", "w")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _client_port_answers(client_port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start: {(root / 'head.log').read_text()[-3000:]}")
            time.sleep(0.25)
        yield RayHead(f"127.0.0.1:{gcs_port}", f"ray://127.0.0.1:{client_port}", token, env, home)
    finally:
        # SIGTERM to our `ray start --block` (its session), which stops the head's processes it started.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for this process, restoring them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
