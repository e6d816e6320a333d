"""Faults injected into real training processes: stop signals, a game that dies, two trainers on one
folder, a stale lock, an earlier run in the folder, killed saves, a full disk, non-finite numbers.

Each test asserts the outcome a user relies on: the checkpoint loads and holds the step count, the
message is one line that names the thing, and the exit code says what happened.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from ac_core.checkpoint import load_checkpoint, save_checkpoint
from ac_core.config import config_from_dict
from ac_core.errors import NonFiniteError, TrainingStopped
from ac_core.train.loop import Trainer
from tests.processes import wait_for

REPO = Path(__file__).resolve().parents[1]
CPU_CONFIG = REPO / "configs" / "iqn_spa_cpu.yaml"
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and resource limits")
# Small enough to start learning and save within seconds on a 2-core machine.
QUICK = ["--no-progress", "--n-envs", "4", "--set", "agent.learning_starts=400", "--set", "agent.replay_size=20000",
         "--set", "agent.hidden_units=64", "--set", "train.eval_interval=1000000", "--set", "train.log_interval=500"]


def _train_cmd(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ac_core.cli", "train", "--config", str(CPU_CONFIG), "--out", str(tmp_path / "ck"),
            "--log-dir", str(tmp_path / "logs"), *QUICK, *extra]


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)




def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("ac-core train:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _step(path: Path) -> int:
    return load_checkpoint(path).step


# ----- stop signals --------------------------------------------------------------------------------


@POSIX_ONLY
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_writes_last_pt_with_the_step_reached(tmp_path: Path, signum: signal.Signals) -> None:
    last = tmp_path / "ck" / "last.pt"
    proc = subprocess.Popen(_train_cmd(tmp_path, "--total-timesteps", "100000000", "--set", "train.save_interval=800"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(last.exists, 180, what="the first periodic save", proc=proc)
        periodic = _step(last)
        time.sleep(1.0)  # the loop moves on past the periodic save
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    final = _step(last)
    assert final > periodic, "the stop wrote a checkpoint of its own, not only the last periodic one"
    assert f"stopped by {signum.name} at step {final}" in out and f"saved {last} at step {final}" in out
    assert not list(last.parent.glob(".*.tmp"))


@POSIX_ONLY
def test_the_game_dying_mid_run_still_writes_last_pt(tmp_path: Path) -> None:
    """sim-live: the simulator is a child process; SIGKILL it and the trainer must save and say so."""
    last = tmp_path / "ck" / "last.pt"
    cmd = _train_cmd(tmp_path, "--total-timesteps", "100000000", "--n-envs", "1", "--set", "env.backend=sim-live",
                     "--set", "env.lap_start=flying", "--set", "env.time_scale=10", "--set", "env.control_hz=20",
                     "--set", "train.save_interval=10000000")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    try:
        wait_for(lambda: children.exists() and children.read_text().strip(), 180, what="the simulator", proc=proc)
        wait_for(lambda: (tmp_path / "logs").is_dir() and any((tmp_path / "logs").iterdir()), 180,
                 what="the training loop", proc=proc)
        time.sleep(3.0)  # some driving, and no periodic save (save_interval is far away)
        for pid in children.read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    line = _one_line(err)
    assert "simulator" in line and f"saved {last} at step" in line and "--resume" in line
    assert _step(last) > 0


# ----- one owner per run directory -----------------------------------------------------------------


@POSIX_ONLY
def test_a_second_trainer_is_refused_and_a_dead_holder_s_lock_is_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / "ck" / ".ac_core.lock"
    first = subprocess.Popen(_train_cmd(tmp_path, "--total-timesteps", "100000000"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: lock.exists() and lock.read_text().strip(), 180, what="the first trainer's lock")
        second = _run(_train_cmd(tmp_path, "--total-timesteps", "1000", "--force"))
        assert second.returncode == 1
        line = _one_line(second.stderr)
        assert "in use by another training run" in line and f"pid {first.pid}" in line
    finally:
        first.kill()  # SIGKILL: no chance to remove its lock file
        first.wait()
    assert lock.exists()
    third = _run(_train_cmd(tmp_path, "--total-timesteps", "600", "--force"))
    assert third.returncode == 0, third.stderr
    assert f"taking over {lock}" in third.stderr and f"pid {first.pid}" in third.stderr
    assert not lock.exists(), "a finished run leaves no lock behind"


def test_an_earlier_run_needs_resume_or_force_and_force_keeps_its_files(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    assert _run(_train_cmd(tmp_path, "--total-timesteps", "900", "--set", "train.save_interval=300")).returncode == 0
    assert _step(ck / "last.pt") == 900

    again = _run(_train_cmd(tmp_path, "--total-timesteps", "300"))
    assert again.returncode == 2
    line = _one_line(again.stderr)
    assert str(ck) in line and "--resume" in line and "--force" in line
    assert _step(ck / "last.pt") == 900, "the refused run changed nothing"

    forced = _run(_train_cmd(tmp_path, "--total-timesteps", "300", "--force"))
    assert forced.returncode == 0, forced.stderr
    assert _step(ck / "last.pt") == 300
    previous = [p for p in ck.iterdir() if p.is_dir() and p.name.startswith("previous-")]
    assert len(previous) == 1 and _step(previous[0] / "last.pt") == 900
    assert sorted(p.name for p in previous[0].glob("step_*.pt")) == sorted(
        ["step_300.pt", "step_600.pt", "step_900.pt"]) or not list(previous[0].glob("step_*.pt"))
    assert not list(ck.glob("step_6*.pt")), "no old step files beside the new run's"
    assert any(p.name.startswith("previous-") for p in (tmp_path / "logs").iterdir()), "old events moved too"

    resumed = _run(_train_cmd(tmp_path, "--total-timesteps", "600", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert _step(ck / "last.pt") == 600


def test_resume_with_nothing_to_resume_names_the_folder(tmp_path: Path) -> None:
    result = _run(_train_cmd(tmp_path, "--total-timesteps", "300", "--resume"))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"no last.pt in {tmp_path / 'ck'}" in line
    assert not (tmp_path / "ck" / "last.pt").exists()


def test_temporary_files_of_killed_saves_are_removed_on_the_next_start(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    assert _run(_train_cmd(tmp_path, "--total-timesteps", "300")).returncode == 0
    # What a save killed between write and rename leaves (ac_core.checkpoint.atomic_save's temp names).
    leftovers = [ck / f".last.pt.k{i}.tmp" for i in range(10)]
    for path in leftovers:
        path.write_bytes(os.urandom(1000))
    resumed = _run(_train_cmd(tmp_path, "--total-timesteps", "600", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert "removed 10 temporary file(s)" in resumed.stderr
    assert not any(path.exists() for path in leftovers)


# ----- a full disk ----------------------------------------------------------------------------------


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@POSIX_ONLY
def test_a_full_disk_keeps_the_previous_checkpoint_and_says_so(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    assert _run(_train_cmd(tmp_path, "--total-timesteps", "600", "--set", "train.save_interval=300")).returncode == 0
    size = (ck / "last.pt").stat().st_size
    # The next checkpoint cannot be written whole (EFBIG, as a full disk gives ENOSPC).
    result = _run(_train_cmd(tmp_path, "--total-timesteps", "1200", "--resume", "--set", "train.save_interval=300"),
                  preexec_fn=_file_size_limit(size // 2))
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "File too large" in line and f"{ck / 'last.pt'} (from an earlier save) is the last good checkpoint" in line
    assert _step(ck / "last.pt") == 600
    assert not list(ck.glob(".*.tmp")), "a failed write leaves no partial file"


# ----- non-finite numbers ---------------------------------------------------------------------------


class NanAfter(gym.Env):
    """Rewards 0 until ``nan_from`` steps have been taken in this process, then NaN."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)
    steps = 0
    nan_from = 300

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        NanAfter.steps += 1
        reward = math.nan if NanAfter.steps > NanAfter.nan_from else 0.0
        obs = np.full(2, 0.5 if action else -0.5, dtype=np.float32)
        return obs, reward, False, NanAfter.steps % 20 == 0, {}


def test_a_nan_reward_stops_training_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    NanAfter.steps = 0
    cfg = config_from_dict({
        "agent": {"hidden_units": 16, "n_quantiles": 4, "batch_size": 16, "learning_starts": 50, "replay_size": 2000},
        "train": {"total_timesteps": 5000, "eval_interval": 100000, "save_interval": 200, "log_interval": 100,
                  "checkpoint_dir": str(tmp_path / "ck"), "log_dir": str(tmp_path / "logs"), "progress": False,
                  "device": "cpu"}})
    with pytest.raises(TrainingStopped) as info:
        Trainer(cfg, NanAfter).train()
    message = str(info.value)
    assert "is nan" in message and "last good checkpoint" in message and len(message.splitlines()) == 1
    saved = load_checkpoint(tmp_path / "ck" / "last.pt")
    assert saved.step == 200, "the periodic save before the NaN stays; no later, poisoned file replaced it"
    assert all(torch.isfinite(t).all() for t in saved.agent_state["online"].values())


def test_a_model_with_a_non_finite_weight_is_never_written(tmp_path: Path) -> None:
    from ac_core.agents.agent import IQNAgent

    cfg = config_from_dict({"agent": {"hidden_units": 16, "n_quantiles": 4}})
    agent = IQNAgent(3, 2, cfg.agent, "cpu")
    path = tmp_path / "last.pt"
    save_checkpoint(path, agent, 10, cfg)
    with torch.no_grad():
        next(agent.online.parameters()).view(-1)[0] = math.inf
    with pytest.raises(NonFiniteError, match=r"not writing .*last\.pt"):
        save_checkpoint(path, agent, 20, cfg)
    assert load_checkpoint(path).step == 10


# ----- the CLI's own messages -------------------------------------------------------------------------


def test_version_prints_the_version() -> None:
    result = _run([sys.executable, "-m", "ac_core.cli", "--version"])
    assert result.returncode == 0 and result.stdout.startswith("ac-core ") and "usage" not in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_eval_on_a_missing_gpu_blames_the_option_not_the_checkpoint(tmp_path: Path) -> None:
    from ac_core.agents.agent import IQNAgent

    cfg = config_from_dict({"agent": {"hidden_units": 16, "n_quantiles": 4}})
    save_checkpoint(tmp_path / "last.pt", IQNAgent(3, 2, cfg.agent, "cpu"), 1, cfg)
    result = _run([sys.executable, "-m", "ac_core.cli", "eval", "--checkpoint", str(tmp_path / "last.pt"),
                   "--device", "cuda"])
    assert result.returncode == 2
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "no CUDA device" in err and "corrupt" not in err


@POSIX_ONLY
def test_eval_stopped_by_a_signal_summarises_the_finished_episodes(tmp_path: Path) -> None:
    assert _run(_train_cmd(tmp_path, "--total-timesteps", "300")).returncode == 0
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "ac_core.cli", "eval", "--checkpoint", str(tmp_path / "ck" / "last.pt"),
           "--episodes", "1000", "--save-rollouts", str(runs), "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (runs / "episode_1.json").exists(), 180, what="two finished episodes", proc=proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    summary = json.loads((runs / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGTERM" and summary["episodes"] >= 2
    assert len(summary["per_episode"]) == summary["episodes"]
    assert f"covers the {summary['episodes']} finished episodes" in out
