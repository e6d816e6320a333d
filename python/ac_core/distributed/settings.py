"""Settings of a cluster run (command-line options, not config keys: a checkpoint written by a
cluster run holds the same config as a single-machine one, so either can resume or evaluate it).

Each field declares its range (:func:`ac_core.settings_spec.setting`) and is checked by the same
validator as the config; a field set by a command-line option is named by that option."""

from __future__ import annotations

from dataclasses import dataclass

from ac_core.distributed import DistributedSetupError
from ac_core.settings_spec import check_instance, setting

# Counts of chunks, batches and steps between pulls or snapshots: a million is hours of a collector's
# or the learner's work between events; more only means they never happen.
_MAX_COUNT = 1_000_000
_HOUR = 3600.0


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DistributedSetupError(message)


@dataclass
class ClusterSettings:
    """Where the cluster is and how to reach it."""

    address: str = setting(label="--ray-address",
                           doc='"local" (start one here), "auto", "HOST:PORT" (a node) or "ray://HOST:10001"')
    namespace: str = setting("ac_core")
    run_name: str = setting("main", label="--run-name",
                            doc='actors are named "<run_name>.replay" and "<run_name>.learner"')
    insecure_no_auth: bool = setting(False, label="--insecure-no-auth",
                                     doc="connect to a remote cluster without token authentication")
    connect_timeout_s: float = setting(30.0, low=0, low_open=True, high=_HOUR, label="--connect-timeout")
    local_cpus: int | None = setting(None, low=1, high=4096, label="--local-cpus",
                                     doc="--ray-address local: logical CPUs (default: this machine's)")
    # --ray-address local: object store size (default: Ray's); Ray's minimum is 75 MiB, a TiB is beyond any node.
    object_store_mb: int | None = setting(None, low=80, high=1_048_576, label="object_store_mb")

    def __post_init__(self) -> None:
        check_instance(self, error=DistributedSetupError)
        _check("." not in self.run_name, f"--run-name = {self.run_name!r} contains a dot; use a name without dots")

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

    collectors: int = setting(2, low=0, high=1024, label="--collectors", doc="simulator collectors (Ray actors)")
    chunk_steps: int = setting(512, low=1, high=_MAX_COUNT,
                               doc="env steps a collector runs per call; it pushes everything at the end of each")
    push_every: int = setting(256, low=1, high=_MAX_COUNT, doc="transitions per pushed batch (within a chunk)")
    sync_every: int = setting(400, low=1, high=_MAX_COUNT, doc="env steps between weight pulls")
    publish_every: int = setting(50, low=1, high=_MAX_COUNT, doc="gradient steps between weight snapshots")
    learner_slice_s: float = setting(0.5, low=0, low_open=True, high=_HOUR,
                                     doc="seconds of training per learner call (the driver reports between calls)")
    sample_batches: int = setting(4, low=1, high=1024, doc="replay batches per sample request (one round trip)")
    collector_cpus: float = setting(1.0, low=0, high=1024)
    max_collector_restarts: int = setting(20, low=0, high=_MAX_COUNT,
                                          doc="per collector; Ray restarts a dead collector this many times")
    report_interval_s: float = setting(2.0, low=0, low_open=True, high=_HOUR, doc="progress bar and TensorBoard")

    def __post_init__(self) -> None:
        check_instance(self, error=DistributedSetupError)
