"""Scale-out on a real (local) Ray cluster: learner, replay and 2 simulator collectors on a head with
token authentication; a second process joining as a Ray Client game box (`ac-core actor`, sim-live
backend — the code path a Windows box uses); a killed collector restarted by Ray with its lost steps
counted; a wrong token rejected with a clear message; and the learner's checkpoint resumed.

One head serves the whole module (starting one costs ~5-10 s). Skipped without Ray installed; CI
installs it (`pip install .[test,distributed]`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install .[distributed] to run the scale-out tests")

from ac_core.checkpoint import load_checkpoint
from ac_core.config import config_from_dict
from ac_core.distributed.settings import ClusterSettings, ScaleOutSettings
from tests.ray_head import RayHead, environment, ray_head

pytestmark = pytest.mark.timeout(600)

TINY = {
    "env": {"lap_start": "random", "control_hz": 10, "max_episode_seconds": 6, "n_envs": 4},
    "agent": {"batch_size": 16, "n_quantiles": 4, "n_quantiles_policy": 4, "hidden_units": 32, "n_cos": 16,
              "learning_starts": 200, "epsilon_decay_steps": 2_000, "replay_size": 20_000, "train_freq": 4},
    "train": {"total_timesteps": 10_000_000, "eval_interval": 10_000_000, "save_interval": 10_000_000,
              "eval_episodes": 1, "torch_threads": 1, "progress": False, "device": "cpu", "seed": 3},
}
SCALE = {"collectors": 2, "chunk_steps": 128, "push_every": 64, "sync_every": 64, "publish_every": 5,
         "learner_slice_s": 0.3, "report_interval_s": 0.5, "max_collector_restarts": 3}


@pytest.fixture(scope="module")
def head() -> Iterator[RayHead]:
    with ray_head(num_cpus=4, object_store_mb=150) as started, environment(
            {key: started.env[key] for key in ("HOME", "RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN",
                                               "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "RAY_DEDUP_LOGS")}):
        yield started


def make_trainer(head: RayHead, tmp_path: Path, run_name: str = "t"):
    from ac_core.distributed.driver import ClusterTrainer

    raw = {section: dict(values) for section, values in TINY.items()}
    raw["train"].update(checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "logs"))
    cluster = ClusterSettings(head.gcs_address, run_name=run_name, connect_timeout_s=20)
    return ClusterTrainer(config_from_dict(raw), cluster, ScaleOutSettings(**SCALE), log=print)


def start_game_box(head: RayHead, run_name: str, steps: int, token: str | None = None,
                   address: str | None = None, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    env = dict(head.env)
    if token is not None:
        env["RAY_AUTH_TOKEN"] = token
    command = [sys.executable, "-m", "ac_core.cli", "actor", "--ray-address", address or head.client_address,
               "--backend", "sim-live", "--run-name", run_name, "--steps", str(steps), "--push-every", "16",
               "--sync-every", "20", "--wait", "60", "--connect-timeout", "10",
               "--set", "env.time_scale=4", "--set", f"env.prefix=acbox{os.getpid()}_", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def source_stats(trainer, prefix: str) -> dict:
    import ray

    stats = ray.get(trainer.replay.stats.remote())
    return {name: s for name, s in stats.sources.items() if name.startswith(prefix)}


def test_cluster_run_with_a_game_box_a_restarted_collector_and_a_resume(head: RayHead, tmp_path: Path) -> None:
    import ray

    trainer = make_trainer(head, tmp_path)
    try:
        trainer.start()
        # 1. Both collectors feed the replay; the learner trains and publishes.
        assert trainer.run_until(lambda: trainer.learner_report is not None and trainer.learner_report.gradient_steps
                                 >= 20 and all(trainer.collector_reports), timeout_s=180)
        collectors = source_stats(trainer, "collector-")
        assert set(collectors) == {"collector-0", "collector-1"}
        assert all(s.env_steps > 0 and s.transitions > 0 for s in collectors.values())

        # 2. A Ray Client game box on sim-live pushes transitions and takes new weights.
        box = start_game_box(head, "t", steps=160)
        assert trainer.run_until(lambda: box.poll() is not None, timeout_s=240), "the game box did not finish"
        output = box.stdout.read() if box.stdout else ""
        print(output)
        assert box.returncode == 0, output
        summary = next(line for line in output.splitlines() if line.startswith("actor summary:"))
        fields = dict(item.split("=") for item in summary.removeprefix("actor summary: ").split())
        assert int(fields["steps"]) >= 160 and int(fields["pushed"]) > 100
        assert fields["dropped"] == "0" and fields["unsent"] == "0"
        assert int(fields["weight_updates"]) >= 1 and int(fields["policy_version"]) > 0
        boxes = source_stats(trainer, "box:")
        assert len(boxes) == 1
        (box_stats,) = boxes.values()
        assert box_stats.transitions == int(fields["pushed"]) and box_stats.env_steps == int(fields["steps"])

        # 3. A killed collector is restarted by Ray; its lost steps are counted and it collects again.
        before = source_stats(trainer, "collector-0")["collector-0"].env_steps
        ray.kill(trainer.collectors[0], no_restart=False)
        assert trainer.run_until(lambda: trainer.restarts[0] == 1 and trainer.collector_reports[0] is not None,
                                 timeout_s=120)
        assert trainer.lost_steps > 0
        assert source_stats(trainer, "collector-0")["collector-0"].env_steps > before
        # Steps/s covers the time since the previous report (every 0.5 s while run_until drives the
        # loop): wait for a report in which the collectors stepped, rather than take whichever is next.
        assert trainer.run_until(lambda: trainer.last_stats.get("perf/steps_per_second", 0.0) > 0, timeout_s=60)
        assert trainer.last_stats["perf/collector_restarts"] == 1
        assert trainer.last_stats["perf/lost_steps"] == trainer.lost_steps
        assert "perf/weight_lag_max" in trainer.last_stats
        assert "perf/steps_per_second/collector-1" in trainer.last_stats

        trainer.finish()  # writes last.pt
        saved_step = trainer.step
        saved_updates = trainer.agent.gradient_steps
    finally:
        trainer.close()

    # 4. The checkpoint is the single-machine format, and a new cluster run resumes it.
    checkpoint = load_checkpoint(tmp_path / "ck" / "last.pt")
    assert checkpoint.step == saved_step and checkpoint.agent_state["gradient_steps"] == saved_updates
    assert checkpoint.metadata["cluster"]["collector_restarts"] == 1
    resumed = make_trainer(head, tmp_path, run_name="t2")
    try:
        resumed.start(resume=True)
        assert resumed.step == saved_step
        state = ray.get(resumed.learner.state.remote())
        assert state["gradient_steps"] == saved_updates
        assert resumed.run_until(lambda: resumed.step > saved_step + 500, timeout_s=120)
        resumed.finish()
        assert load_checkpoint(tmp_path / "ck" / "last.pt").step > saved_step
    finally:
        resumed.close()


def test_a_wrong_token_is_reported_as_such(head: RayHead) -> None:
    box = start_game_box(head, "nobody", steps=1, token="0" * 32)
    output, _ = box.communicate(timeout=120)
    assert box.returncode == 2, output
    assert "authentication failed or head unreachable" in output
    assert "rejected this process's token" in output and "ray get-auth-token" in output
    assert "Traceback" not in output


def test_an_unreachable_head_is_reported_within_the_connect_timeout(head: RayHead) -> None:
    from tests.ray_head import _free_port

    start = time.monotonic()
    box = start_game_box(head, "nobody", steps=1, address=f"ray://127.0.0.1:{_free_port()}",
                         extra=("--connect-timeout", "2"))
    output, _ = box.communicate(timeout=120)
    assert box.returncode == 2, output
    assert "authentication failed or head unreachable" in output and "no connection within 2 s" in output
    assert time.monotonic() - start < 60


def test_a_stop_signal_ends_a_cluster_run_with_last_pt_and_a_game_box_with_nothing_unsent(
        head: RayHead, tmp_path: Path) -> None:
    import signal

    import yaml

    # The driver, as `ac-core train --ray-address` runs it, in its own process: SIGTERM must save.
    raw = {section: dict(values) for section, values in TINY.items()}
    raw["train"].update(save_interval=1_000)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    last = tmp_path / "ck" / "last.pt"
    driver = subprocess.Popen(
        [sys.executable, "-m", "ac_core.cli", "train", "--config", str(config), "--out", str(tmp_path / "ck"),
         "--log-dir", str(tmp_path / "logs"), "--ray-address", head.gcs_address, "--collectors", "1",
         "--run-name", "sig"], env=dict(head.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    box = None
    try:
        deadline = time.monotonic() + 240
        while not last.exists():
            assert driver.poll() is None and time.monotonic() < deadline, "the cluster run saved nothing"
            time.sleep(0.2)
        periodic = load_checkpoint(last).step
        box = start_game_box(head, "sig", steps=1_000_000)
        assert box.stdout is not None
        seen = []
        for line in box.stdout:  # connected, found the run, started its simulator, drives
            seen.append(line)
            if "driving on backend" in line:
                break
        time.sleep(3.0)  # it drives and pushes; the cluster moves past the periodic save
        box.send_signal(signal.SIGTERM)
        rest, _ = box.communicate(timeout=120)
        box_output = "".join(seen) + rest
        driver.send_signal(signal.SIGTERM)
        output, _ = driver.communicate(timeout=240)
    finally:
        for process in (driver, box):
            if process is not None:
                process.kill()
    assert box.returncode == 130, box_output
    summary = next(line for line in box_output.splitlines() if line.startswith("actor summary:"))
    fields = dict(item.split("=") for item in summary.removeprefix("actor summary: ").split())
    assert fields["stopped_by"] == "SIGTERM" and fields["unsent"] == "0" and int(fields["steps"]) > 0
    assert driver.returncode == 130, output
    final = load_checkpoint(last).step
    assert final > periodic and f"stopped by SIGTERM at step {final}" in output
