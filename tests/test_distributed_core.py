"""The Ray-free half of scale-out training: collector -> transport -> replay -> learner -> weights.

These run without Ray installed: the same Collector, ReplayService and LearnerCore that the Ray actors
wrap, connected by the in-process transport; and the game box's buffered transport against a link
that fails, to check that the car never waits, drops the oldest batches when full and counts them.
"""

from __future__ import annotations

import threading
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from ac_core.config import config_from_dict
from ac_core.distributed.buffered import BufferedTransport
from ac_core.distributed.collector import Collector
from ac_core.distributed.learner_core import LearnerCore
from ac_core.distributed.messages import TransitionBatch, WeightSnapshot
from ac_core.distributed.replay_service import ReplayService
from ac_core.distributed.transport import InProcessTransport, TransportError

AGENT = {"hidden_units": 32, "n_quantiles": 8, "n_quantiles_policy": 8, "n_cos": 16, "batch_size": 32,
         "replay_size": 5_000, "learning_starts": 200, "train_freq": 4, "gradient_steps": 1, "n_step": 3,
         "epsilon_decay_steps": 1_000}


@pytest.fixture(autouse=True)
def one_torch_thread() -> object:
    # Tiny networks on a shared 2-core machine: extra OpenMP threads only spin (50x slower here).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cartpole_setup(n_envs: int = 4, **collector_kwargs: object) -> tuple[Collector, ReplayService, LearnerCore]:
    cfg = config_from_dict({"agent": AGENT, "train": {"device": "cpu"}})
    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="sync")
    replay = ReplayService(cfg.agent.replay_size, 4, seed=0)
    learner = LearnerCore(cfg, 4, 2, publish_every=10, sample_batches=2)
    collector = Collector(env, cfg, InProcessTransport(replay, learner), "c0", seed=1, step_metrics=None,
                          **collector_kwargs)  # type: ignore[arg-type]
    return collector, replay, learner


def test_collector_replay_learner_round_trip_keeps_the_replay_ratio() -> None:
    collector, replay, learner = cartpole_setup(push_every=64, sync_every=50)
    report = collector.run(150)  # 600 env slots; Gymnasium's autoreset slots are not steps
    steps = report.env_steps
    assert 550 < steps <= 600 and report.total_env_steps == steps
    stats = replay.stats()
    assert stats.env_steps == steps
    # Every step is stored once it leaves the n-step queues; the rest are still pending.
    assert stats.size == report.pushed_transitions == steps - report.pending_steps
    assert stats.sources["c0"].env_steps == steps and stats.sources["c0"].policy_version == 0
    assert stats.episode_returns and len(stats.episode_returns) == len(stats.episode_lengths)

    train = learner.train_for(0.0, replay)
    # Learning became possible now (>= 200 stored); credit counts only the steps from here on.
    assert train.updates == 0 and learner.credit.pending == 0
    collector.run(100)
    due = (replay.counters()[0] - steps) // 4  # train_freq 4, gradient_steps 1
    train = learner.train_for(5.0, replay)
    assert train.updates == due == train.gradient_steps and train.skipped_updates == 0
    assert set(train.metrics) == {"loss", "q_mean", "quantile_spread", "grad_norm"}
    assert train.weights_version == due // 10 * 10  # published every 10 gradient steps

    collector.run(20)  # more than sync_every steps: the collector takes the new weights
    assert collector.version == train.weights_version
    for name, tensor in collector.agent.online.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), learner.weights.arrays[name])


def test_learner_drops_credit_beyond_its_backlog_and_counts_it() -> None:
    collector, replay, learner = cartpole_setup()
    learner.credit.max_backlog = 10
    collector.run(100)
    learner.due_updates(*replay.counters())  # learning becomes possible here
    start = replay.counters()[0]
    collector.run(100)  # ~400 steps -> ~100 updates due, all but 10 over the backlog
    due = (replay.counters()[0] - start) // 4
    assert learner.due_updates(*replay.counters()) == 10
    assert learner.skipped_updates == due - 10


def test_weights_from_a_new_learner_replace_newer_looking_versions() -> None:
    old = WeightSnapshot(500, 0, {}, "old")
    fresh = WeightSnapshot(3, 0, {}, "new")
    assert fresh.is_newer_than("old", 500) and not old.is_newer_than("old", 500)


def test_replay_rejects_a_source_with_other_observations() -> None:
    replay = ReplayService(100, 4)
    batch = TransitionBatch.from_parts([(np.zeros((2, 5), np.float32), np.zeros(2, np.int64),
                                         np.zeros(2, np.float32), np.ones(2, np.float32),
                                         np.zeros(2, np.float32), np.zeros((2, 5), np.float32))], 5,
                                       source="box", env_steps=2, policy_version=0)
    with pytest.raises(ValueError, match="observations of 5 values, the replay holds 4"):
        replay.push(batch)


class FlakyLink:
    """A link that is down while ``up`` is cleared; records what it delivered."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.delivered: list[TransitionBatch] = []
        self.snapshot = WeightSnapshot(7, 100, {}, "L")

    def push(self, batch: TransitionBatch) -> int:
        if not self.up.is_set():
            raise TransportError("head unreachable")
        self.delivered.append(batch)
        return 1234

    def pull_weights(self, learner_id: str, version: int) -> WeightSnapshot | None:
        if not self.up.is_set():
            raise TransportError("head unreachable")
        return self.snapshot if self.snapshot.is_newer_than(learner_id, version) else None

    def reconnects(self) -> int:
        return 0

    def close(self) -> None:
        pass


def batch_of(count: int, tag: int) -> TransitionBatch:
    return TransitionBatch.from_parts([(np.full((count, 2), tag, np.float32), np.zeros(count, np.int64),
                                        np.zeros(count, np.float32), np.ones(count, np.float32),
                                        np.zeros(count, np.float32), np.zeros((count, 2), np.float32))], 2,
                                      source="box", env_steps=count, policy_version=0)


def test_buffered_transport_never_blocks_drops_oldest_and_recovers() -> None:
    link = FlakyLink()
    messages: list[str] = []
    transport = BufferedTransport(link, capacity_transitions=25, retry_interval_s=0.05, weights_interval_s=0.05,
                                  log=messages.append)
    try:
        # 50 transitions into a 25-transition buffer while the link is down. The calls return while
        # it is still down (only this thread brings it up, below), so the control loop never waits.
        for tag in range(5):
            transport.push(batch_of(10, tag))
        assert transport.pull_weights("", -1) is None  # no weights yet: keeps the ones it has
        time.sleep(0.2)
        stats = transport.stats()
        assert not stats.connected and stats.dropped_transitions == 30 and stats.buffered_transitions == 20
        link.up.set()
        assert transport.flush(5.0) == 0
        assert [int(b.obs[0, 0]) for b in link.delivered] == [3, 4]  # the newest survived, in order
        deadline = time.monotonic() + 5
        while transport.pull_weights("", -1) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = transport.stats()
        assert stats.connected and stats.pushed_transitions == 20 and stats.global_step == 1234
        assert stats.weight_updates == 1
        assert any("link down" in m for m in messages) and any("link up" in m for m in messages)
    finally:
        transport.close()


def test_version_mismatch_says_exactly_what_to_install() -> None:
    from ac_core.distributed.cluster import version_mismatch_message

    assert version_mismatch_message("2.60.0", "3.11.9", "2.60.0", "3.11.2") is None  # patch may differ
    message = version_mismatch_message("2.60.0", "3.11.9", "2.59.1", "3.12.4")
    assert message is not None
    assert "Python 3.12.4 here, 3.11.9 on the head" in message and "Ray 2.59.1 here, 2.60.0 on the head" in message
    assert "install Python 3.11" in message and 'pip install "ray[client]==2.60.0"' in message


def test_a_remote_cluster_without_a_token_is_refused_before_connecting(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: object) -> None:
    from ac_core.distributed.cluster import ClusterConnectionError, prepare_authentication
    from ac_core.distributed.settings import ClusterSettings

    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        # set, then delete: monkeypatch then records the original state and restores it afterwards,
        # also over what prepare_authentication itself writes into os.environ.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterConnectionError, match=r"token authentication is on .* `ray get-auth-token`"):
        prepare_authentication(ClusterSettings("ray://head:10001"))
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert prepare_authentication(ClusterSettings("ray://head:10001", insecure_no_auth=True)) == "disabled"


def test_cluster_options_are_checked_and_ray_is_named(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    import importlib.util

    from ac_core.cli import main
    from ac_core.distributed import DistributedSetupError, RayMissingError, require_ray
    from ac_core.distributed.settings import ScaleOutSettings

    assert main(["train", "--config", "configs/iqn_spa_cpu.yaml", "--collectors", "2"]) == 2
    assert "--collectors and --local-cpus need --ray-address" in capsys.readouterr().err
    assert main(["train", "--config", "configs/iqn_spa_cpu.yaml", "--ray-address", "local",
                 "--set", "train.demonstrations=demo.npz"]) == 2
    assert "training on a Ray cluster does not use demonstrations" in capsys.readouterr().err
    with pytest.raises(DistributedSetupError, match=r"--collectors = -1 is out of range; use an integer in \[0, 1024"):
        ScaleOutSettings(collectors=-1)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RayMissingError, match=r"pip install \"\.\[distributed\]\""):
        require_ray("ac-core train --ray-address")


def test_the_single_machine_path_does_not_import_ray() -> None:
    import subprocess
    import sys

    code = "import sys, ac_core, ac_core.train.loop, ac_core.train, ac_core.cli; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class SlowLink(FlakyLink):
    """An up link that takes ``delay_s`` per push, as Ray Client on a loaded head did in CI."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.up.set()
        self.delay_s = delay_s

    def push(self, batch: TransitionBatch) -> int:
        time.sleep(self.delay_s)
        return super().push(batch)


def test_flush_waits_for_a_slow_link_while_it_delivers_and_not_for_a_dead_one() -> None:
    link = SlowLink(0.15)
    transport = BufferedTransport(link, capacity_transitions=1000, retry_interval_s=0.05, weights_interval_s=0.05)
    try:
        for tag in range(8):
            transport.push(batch_of(10, tag))
        # 8 pushes × 0.15 s = 1.2 s, well past the 0.4 s without progress that flush gives up after.
        assert transport.flush(0.4) == 0
        assert [int(b.obs[0, 0]) for b in link.delivered] == list(range(8))
        # A link that delivers nothing: flush gives up after timeout_s, with the transitions counted unsent.
        link.up.clear()
        transport.push(batch_of(10, 8))
        assert transport.flush(0.3) == 10
        # The overall limit holds even for a link that keeps delivering slowly.
        link.up.set()
        link.delay_s = 0.2
        for tag in range(9, 20):
            transport.push(batch_of(10, tag))
        assert transport.flush(0.5, limit_s=0.6) > 0
    finally:
        transport.close()
