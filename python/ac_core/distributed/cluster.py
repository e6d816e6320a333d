"""Connecting to a Ray cluster: addresses, token authentication, clear errors, version checks.

Facts this module works around (Ray 2.60, ``research/distributed_ray.md``):

- A wrong or missing token is not reported as such. Ray Client retries its handshake, swallowing
  the server's ``UNAUTHENTICATED`` status, and ends with ``ConnectionError: ray client connection
  timeout``; a native driver logs ``InvalidAuthToken`` and fails after about 20 s with "Failed to
  connect". So before ``ray.init`` we send one gRPC request of our own through Ray's own channel
  helper (which adds the token and honours ``RAY_USE_TLS``) and turn the answer into a clear
  "authentication failed or head unreachable" message, distinguishing a rejected token from silence.
- Ray Client needs the same Ray version and Python minor version on both ends. We connect with
  Ray's own check relaxed, read the head's versions, and on a mismatch disconnect and say exactly
  what to install.
- Token authentication is on by default here for any cluster this process did not start itself:
  ``RAY_AUTH_MODE=token`` unless the user set ``RAY_AUTH_MODE`` or passed ``--insecure-no-auth``.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ac_core.distributed import RAY_VERSION
from ac_core.distributed.settings import ClusterSettings
from ac_core.errors import InputError

AUTH_HELP = ("Give this process the head's token: run `ray get-auth-token` on the head and put it in "
             "RAY_AUTH_TOKEN (or a file named by RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token)")


class ClusterConnectionError(InputError, RuntimeError):
    """The cluster cannot be used from here; the message says why and what to do."""


class VersionMismatchError(ClusterConnectionError):
    """Ray or Python differ between this process and the head."""


@dataclass
class ConnectionInfo:
    address: str
    ray_version: str
    python_version: str
    started_local: bool


def local_versions() -> tuple[str, str]:
    import ray

    return ray.__version__, platform.python_version()


def version_mismatch_message(head_ray: str, head_python: str, local_ray: str, local_python: str) -> str | None:
    """What to install when Ray differs or the Python minor version differs (Ray Client's rule)."""
    head_minor = ".".join(head_python.split(".")[:2])
    local_minor = ".".join(local_python.split(".")[:2])
    problems, fixes = [], []
    if head_minor != local_minor:
        problems.append(f"Python {local_python} here, {head_python} on the head")
        fixes.append(f"install Python {head_minor} (any {head_minor}.x) on this machine and use it")
    if head_ray != local_ray:
        problems.append(f"Ray {local_ray} here, {head_ray} on the head")
    if not problems:
        return None
    fixes.append(f'pip install "ray[client]=={head_ray}"' + (f" with that Python {head_minor}"
                                                             if head_minor != local_minor else ""))
    return ("Ray Client needs the same Ray version and Python minor version as the head: "
            + "; ".join(problems) + ". Fix: " + ", then ".join(fixes)
            + " (and the same ac-core as the cluster nodes).")


def token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        return Path(path).expanduser().is_file()
    return (Path.home() / ".ray" / "auth_token").is_file()


def prepare_authentication(cluster: ClusterSettings) -> str:
    """Set RAY_AUTH_MODE for a remote cluster (before Ray reads it); returns the mode in effect."""
    explicit = os.environ.get("RAY_AUTH_MODE")
    if explicit is not None:
        mode = explicit.lower()
    elif cluster.insecure_no_auth:
        mode = "disabled"
    else:
        mode = "token"
    os.environ["RAY_AUTH_MODE"] = mode
    if mode == "token" and not token_available():
        raise ClusterConnectionError(
            f"token authentication is on for {cluster.address} but this machine has no token. {AUTH_HELP}. "
            "Only for a cluster started with RAY_AUTH_MODE=disabled on a trusted network: --insecure-no-auth")
    _refresh_ray_config()
    return mode


def _refresh_ray_config() -> None:
    """Ray caches its C++ config (which holds the auth mode) per process; re-read the environment."""
    try:
        from ray._raylet import Config

        Config.initialize("")
    except Exception:  # a Ray without this hook reads the environment at init anyway
        pass


def _unreachable(address: str, detail: str) -> ClusterConnectionError:
    return ClusterConnectionError(
        f"authentication failed or head unreachable: {address}: {detail}. Check that the head runs "
        "(`ray start --head --ray-client-server-port=10001`), that this port is open between the machines, "
        "that RAY_USE_TLS and the certificates match the head's, and that the token is the head's "
        f"({AUTH_HELP})")


def probe(cluster: ClusterSettings, timeout_s: float | None = None) -> None:
    """One authenticated gRPC request to the head; raises ClusterConnectionError with the reason."""
    timeout = cluster.connect_timeout_s if timeout_s is None else timeout_s
    try:
        import grpc
        from ray._private.grpc_utils import init_grpc_channel
        from ray.core.generated import (
            gcs_service_pb2,
            gcs_service_pb2_grpc,
            ray_client_pb2,
            ray_client_pb2_grpc,
        )
    except ImportError:  # a Ray whose internals moved: fall back to ray.init's own errors
        return
    target = cluster.address.removeprefix("ray://")
    channel = init_grpc_channel(target, options=[], asynchronous=False)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise _unreachable(cluster.address, f"no connection within {timeout:g} s") from None
        try:
            if cluster.is_client:
                ray_client_pb2_grpc.RayletDriverStub(channel).ClusterInfo(
                    ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING),
                    timeout=timeout, metadata=[("client_id", "ac-core-probe")])
            else:
                gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
                    gcs_service_pb2.GetClusterIdRequest(), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise ClusterConnectionError(
                    f"authentication failed or head unreachable: the head at {cluster.address} rejected this "
                    f"process's token ({exc.details()}). {AUTH_HELP}") from None
            raise _unreachable(cluster.address, f"{exc.code().name}: {exc.details()}") from None
    finally:
        channel.close()


@contextmanager
def _relaxed_client_version_check() -> Iterator[None]:
    """Let Ray Client connect despite a mismatch so we can read the head's versions and explain."""
    previous = os.environ.get("RAY_IGNORE_VERSION_MISMATCH")
    os.environ["RAY_IGNORE_VERSION_MISMATCH"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("RAY_IGNORE_VERSION_MISMATCH", None)
        else:
            os.environ["RAY_IGNORE_VERSION_MISMATCH"] = previous


class _NoSigtermNote(logging.Filter):
    """Drops Ray's "SIGTERM handler is not set because current thread is not the main thread": a game
    box connects from a worker thread, and SIGTERM is ac_core's own (``ac_core.stop_signals``) anyway;
    the line only puzzled users of ``ac-core actor``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


logging.getLogger("ray._private.worker").addFilter(_NoSigtermNote())


def _client_init(cluster: ClusterSettings, attempts: int = 3) -> Any:
    """``ray.init("ray://…")``, retried: the token was accepted (the probe passed), but the head starts
    a server process per client, which can fail or time out on a loaded head ("Starting Ray client server
    failed"); a second try usually gets one."""
    import ray

    for attempt in range(1, attempts + 1):
        try:
            with _relaxed_client_version_check():
                return ray.init(cluster.address, namespace=cluster.namespace, logging_level=logging.WARNING)
        except ConnectionError:
            if attempt == attempts:
                raise
            time.sleep(2.0 * attempt)
    raise AssertionError("unreachable")


def connect(cluster: ClusterSettings, log: Callable[[str], None] = print) -> ConnectionInfo:
    """``ray.init`` for the given address, with the checks above. ``local`` starts a cluster here."""
    import ray

    local_ray, local_python = local_versions()
    if cluster.is_local and ray.is_initialized():
        # A program (a notebook, a benchmark) that started its own local Ray: use it, leave it running.
        return ConnectionInfo("local (existing)", local_ray, local_python, started_local=False)
    if cluster.is_local:
        kwargs: dict[str, object] = {"include_dashboard": False, "namespace": cluster.namespace,
                                     "logging_level": logging.WARNING}
        if cluster.local_cpus:
            kwargs["num_cpus"] = cluster.local_cpus
        if cluster.object_store_mb:
            kwargs["object_store_memory"] = cluster.object_store_mb * 1024 * 1024
        ray.init(**kwargs)
        return ConnectionInfo("local", local_ray, local_python, started_local=True)
    if local_ray != RAY_VERSION:
        log(f"note: ac-core is tested with Ray {RAY_VERSION}; this machine has Ray {local_ray}")
    mode = prepare_authentication(cluster)
    probe(cluster)
    try:
        if cluster.is_client:
            context = _client_init(cluster)
            head_ray, head_python = context.ray_version, context.python_version
            problem = version_mismatch_message(head_ray, head_python, local_ray, local_python)
            if problem:
                ray.shutdown()
                raise VersionMismatchError(problem)
        else:
            ray.init(address=cluster.address, namespace=cluster.namespace, logging_level=logging.WARNING)
            head_ray, head_python = local_ray, local_python  # a native driver is checked by Ray itself
    except ClusterConnectionError:
        raise
    except ConnectionError as exc:
        raise _unreachable(cluster.address, f"{type(exc).__name__}: {exc} (token auth: {mode})") from None
    except RuntimeError as exc:
        if "version" in str(exc).lower():
            raise VersionMismatchError(f"{exc}. Install the head's Ray and Python versions on this machine "
                                       f"(here: Ray {local_ray}, Python {local_python})") from None
        raise
    return ConnectionInfo(cluster.address, head_ray, head_python, started_local=False)


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0.0))


def describe_platform() -> str:
    return f"{platform.system()} {platform.machine()}, Python {platform.python_version()} ({sys.executable})"
