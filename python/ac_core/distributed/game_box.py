"""``ac-core actor``: a game box (or any machine off the cluster) feeding the cluster's replay.

It connects as a Ray Client driver (the supported way for a Windows process to reach a Linux
cluster), takes the env settings and network shape from the running learner, drives its own car on
any backend the env accepts (ac, csp, sim-live) in real time, and streams transitions to the replay
and takes weights from the learner through :class:`BufferedTransport`, so the car never waits for
the network. :class:`RayClientLink` does the blocking calls and recovers from what can go wrong:

- the learner restarting (a new driver, or ``--resume``): its actor handles fail, so they are looked
  up again by name; until then the car drives with its last weights and transitions are buffered;
- a network loss shorter than Ray Client's grace period (``RAY_CLIENT_RECONNECT_GRACE_PERIOD``,
  30 s): Ray Client reconnects by itself; a longer one (or a head restart) ends the session, so the
  link shuts it down and connects anew — with the same checks (token, versions) as at start.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError

from ac_core.config import Config, config_from_dict, override
from ac_core.distributed.buffered import BufferedTransport
from ac_core.distributed.cluster import ClusterConnectionError, connect
from ac_core.distributed.collector import Collector, CollectorReport
from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.distributed.settings import ClusterSettings
from ac_core.distributed.transport import TransportError
from ac_core.errors import RunInterrupted
from ac_core.stop_signals import deferred_signals, stop_signals


class RayClientLink:
    def __init__(self, cluster: ClusterSettings, call_timeout_s: float = 30.0,
                 log: Callable[[str], None] = print) -> None:
        self.cluster, self.call_timeout_s, self.log = cluster, call_timeout_s, log
        self._replay: Any = None
        self._learner: Any = None
        self._connections = 0

    # ----- connection ----------------------------------------------------------------------------
    def connect(self) -> None:
        """(Re)connect to the head; raises ClusterConnectionError with the reason."""
        if ray.is_initialized():
            ray.shutdown()
        info = connect(self.cluster, self.log)
        self._connections += 1
        if self._connections == 1:
            self.log(f"connected to {info.address} (Ray {info.ray_version}, Python {info.python_version})")

    def _handles(self) -> tuple[Any, Any]:
        if not ray.is_initialized():
            try:
                self.connect()
            except ClusterConnectionError as exc:
                raise TransportError(str(exc)) from None
        if self._replay is None or self._learner is None:
            try:
                self._replay = ray.get_actor(self.cluster.actor_name("replay"))
                self._learner = ray.get_actor(self.cluster.actor_name("learner"))
            except ValueError:
                self._replay = self._learner = None
                raise TransportError(f"no run named {self.cluster.run_name!r} on the cluster (is `ac-core train "
                                     f"--ray-address … --run-name {self.cluster.run_name}` running?)") from None
        return self._replay, self._learner

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return ray.get(method.remote(*args), timeout=self.call_timeout_s)
        except (RayActorError, GetTimeoutError, RayError, ConnectionError, ValueError) as exc:
            # Stale handles (a restarted learner) are looked up again; a dead session is rebuilt.
            self._replay = self._learner = None
            if not ray.is_initialized() or isinstance(exc, ConnectionError):
                ray.shutdown()
            raise TransportError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None

    def reconnects(self) -> int:
        return max(self._connections - 1, 0)

    # ----- the Link interface ----------------------------------------------------------------------
    def push(self, batch: TransitionBatch) -> int:
        replay, _ = self._handles()
        return int(self._call(replay.push, batch))

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        _, learner = self._handles()
        return self._call(learner.get_weights, learner_id, version)

    def learner_config(self) -> dict[str, Any]:
        _, learner = self._handles()
        return self._call(learner.config_dict)

    def close(self) -> None:
        if ray.is_initialized():
            ray.shutdown()


def wait_for_run(link: RayClientLink, timeout_s: float, log: Callable[[str], None]) -> dict[str, Any]:
    """The learner's config, waiting (with a message) until the run exists."""
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        try:
            return link.learner_config()
        except TransportError as exc:
            if time.monotonic() > deadline:
                raise ClusterConnectionError(f"gave up after {timeout_s:g} s: {exc}") from None
            if not told:
                log(f"waiting for the learner: {exc}")
                told = True
            time.sleep(1.0)


def box_config(learner_config: dict[str, Any], backend: str, sets: list[str]) -> Config:
    """The learner's config for one car on this box's backend (observation and actions must match)."""
    cfg = config_from_dict(learner_config, "learner config")
    assignments = [f"env.backend={backend}", "env.n_envs=1"]
    if cfg.env.lap_start == "random" and backend != "sim":
        assignments.append("env.lap_start=flying")  # a live car cannot be teleported to a random point
    return override(cfg, assignments + list(sets))


def source_name() -> str:
    return f"box:{socket.gethostname()}:{os.getpid()}"


def run_game_box(cluster: ClusterSettings, backend: str, sets: list[str], steps: int | None = None,
                 buffer_transitions: int = 100_000, push_every: int = 64, sync_every: int = 200,
                 wait_s: float = 600.0, status_interval_s: float = 10.0, seed: int | None = None,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Drive until ``steps`` env steps (or Ctrl-C); returns the summary it prints."""
    from ac_core.train.racing import make_env_factory

    link = RayClientLink(cluster, log=log)
    link.connect()  # the first connection fails loudly (token, versions); later ones are retried quietly
    cfg = box_config(wait_for_run(link, wait_s, log), backend, sets)
    factory, _ = make_env_factory(cfg)
    first = link.pull_weights("", -1)
    transport = BufferedTransport(link, buffer_transitions, log=log)
    name = source_name()
    collector = Collector(factory(), cfg, transport, name, seed=cfg.train.seed + os.getpid() if seed is None else seed,
                          push_every=push_every, sync_every=sync_every)
    if first is not None:
        collector.apply_weights(first)
    log(f"{name}: driving on backend {backend!r} with weights version {collector.version}")
    interrupted = False
    report: CollectorReport | None = None
    next_status = time.monotonic() + status_interval_s
    stop_reason: str | None = None
    try:
        with stop_signals() as stop:
            while steps is None or collector.total_env_steps < steps:
                stop.check()
                report = collector.run(1, flush=False)
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + status_interval_s
                    stats = report.transport
                    log(f"steps {collector.total_env_steps}, pushed {stats.pushed_transitions}, buffered "
                        f"{stats.buffered_transitions}, dropped {stats.dropped_transitions}, "
                        f"weights v{collector.version}, {'connected' if stats.connected else 'DISCONNECTED'}")
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "SIGINT"
    except RunInterrupted as exc:
        interrupted, stop_reason = True, exc.signal_name
    finally:
        # What was driven is sent before exiting, whatever ended the loop (held against a second signal).
        with deferred_signals():
            if collector._steps_unpushed:
                collector.push()
            unsent = transport.flush(timeout_s=15.0)  # 15 s without a batch going out, 2 min at most
            stats = transport.stats()
            collector.close()
    summary = {"steps": collector.total_env_steps, "pushed": stats.pushed_transitions,
               "dropped": stats.dropped_transitions, "unsent": unsent, "weight_updates": stats.weight_updates,
               "policy_version": collector.version, "reconnects": stats.reconnects, "interrupted": interrupted,
               "stopped_by": stop_reason or "-"}
    log("actor summary: " + " ".join(f"{key}={value}" for key, value in summary.items()))
    if stats.dropped_transitions or unsent:
        log(f"{stats.dropped_transitions} transitions were dropped (buffer of {buffer_transitions} full while "
            f"disconnected) and {unsent} were still unsent at exit")
    return summary
