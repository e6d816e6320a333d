"""Settings of a cluster run (command-line options, not config keys: a checkpoint written by a
cluster run holds the same config as a single-machine one, so either can resume or evaluate it)."""

from __future__ import annotations

from dataclasses import dataclass

from ac_core.distributed import DistributedSetupError


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DistributedSetupError(message)


@dataclass
class ClusterSettings:
    """Where the cluster is and how to reach it."""

    address: str  # "local" (start one here), "auto", "HOST:PORT" (a node of the cluster) or "ray://HOST:10001"
    namespace: str = "ac_core"
    run_name: str = "main"  # actors are named "<run_name>.replay" and "<run_name>.learner"
    insecure_no_auth: bool = False  # connect to a remote cluster without token authentication
    connect_timeout_s: float = 30.0
    local_cpus: int | None = None  # --ray-address local: logical CPUs (default: this machine's)
    object_store_mb: int | None = None  # --ray-address local: object store size (default: Ray's)

    def __post_init__(self) -> None:
        _check(bool(self.address.strip()), "--ray-address is empty; use local, auto, HOST:PORT or ray://HOST:10001")
        _check(bool(self.run_name) and "." not in self.run_name,
               f"--run-name {self.run_name!r} must be non-empty and without dots")
        _check(self.connect_timeout_s > 0, f"--connect-timeout must be > 0, got {self.connect_timeout_s}")
        _check(self.local_cpus is None or self.local_cpus >= 1, f"--local-cpus must be >= 1, got {self.local_cpus}")
        _check(self.object_store_mb is None or self.object_store_mb >= 80,
               f"object store size must be >= 80 MB (Ray's minimum is 75 MiB), got {self.object_store_mb}")

    @property
    def is_local(self) -> bool:
        return self.address == "local"

    @property
    def is_client(self) -> bool:
        return self.address.startswith("ray://")

    def actor_name(self, role: str) -> str:
        return f"{self.run_name}.{role}"


@dataclass
class ScaleOutSettings:
    """How the learner and the simulator collectors work together."""

    collectors: int = 2
    chunk_steps: int = 512  # env steps a collector runs per call; it pushes everything at the end of each
    push_every: int = 256  # transitions per pushed batch (within a chunk)
    sync_every: int = 400  # env steps between weight pulls
    publish_every: int = 50  # gradient steps between weight snapshots
    learner_slice_s: float = 0.5  # seconds of training per learner call (the driver reports between calls)
    sample_batches: int = 4  # replay batches per sample request (one round trip)
    collector_cpus: float = 1.0
    max_collector_restarts: int = 20  # per collector; Ray restarts a dead collector this many times
    report_interval_s: float = 2.0  # progress bar and TensorBoard refresh

    def __post_init__(self) -> None:
        _check(self.collectors >= 0, f"--collectors must be >= 0, got {self.collectors}")
        for name in ("chunk_steps", "push_every", "sync_every", "publish_every", "sample_batches"):
            _check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        _check(self.learner_slice_s > 0 and self.report_interval_s > 0,
               "learner_slice_s and report_interval_s must be > 0")
        _check(self.collector_cpus >= 0, f"collector_cpus must be >= 0, got {self.collector_cpus}")
        _check(self.max_collector_restarts >= 0, "max_collector_restarts must be >= 0")
