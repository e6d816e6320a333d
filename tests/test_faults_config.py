"""Bad numbers in a config reach `ac-core train` as a user would write them: the real CLI in its own
process must stop before building anything, with exit code 2 and one line on stderr naming the file
(or --set), the key and the valid range, and leave no checkpoint or log files behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _train(tmp_path: Path, config_text: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    config = tmp_path / "bad.yaml"
    config.write_text(config_text)
    out, logs = tmp_path / "run", tmp_path / "logs"
    result = subprocess.run(
        [sys.executable, "-m", "ac_core.cli", "train", "--config", str(config), "--out", str(out),
         "--log-dir", str(logs), "--no-progress", *extra],
        capture_output=True, text=True, timeout=120, env=os.environ,
    )
    return result, config, out


@pytest.mark.parametrize(
    ("config_text", "extra", "expected"),
    [
        # the cases: NaN weights that used to train to exit 0, and the raw tracebacks
        ("env:\n  reward:\n    progress: .nan\n", [],
         "env.reward.progress = nan is not a finite number; use a number in [0, 1000]"),
        ("env:\n  max_laps: .inf\n", [], "env.max_laps = inf is not a finite number; use an integer in [0, 10000]"),
        ("env:\n  ray_count: .nan\n", [], "env.ray_count = nan is not a finite number; use an integer in [1, 360]"),
        ("agent:\n  hidden_units: 1e12\n", [],
         "agent.hidden_units = 1e12 is out of range; use an integer in [1, 4096]"),
        ("agent:\n  replay_size: 1e12\n", [],
         "agent.replay_size = 1e12 is out of range; use an integer in [1, 1_000_000_000]"),
        ("env:\n  ray_count: 100000\n", [], "env.ray_count = 100000 is out of range; use an integer in [1, 360]"),
        ("train:\n  seed: .inf\n", [], "train.seed = inf is not a finite number; use an integer in [0, 4_294_967_295]"),
        ("agent:\n  gamma: -.inf\n", [], "agent.gamma = -inf is not a finite number; use a number in (0, 1]"),
        ("agent:\n  batch_size: sixty-four\n", [],
         "agent.batch_size = 'sixty-four' is not an integer; use an integer in [1, 16384]"),
        # a good file, a bad override: --set is named instead of the file
        ("agent:\n  lr: 3e-4\n", ["--set", "agent.lr=.nan"],
         "agent.lr = nan is not a finite number; use a number in (0, 1]"),
    ],
    ids=["reward-nan", "int-inf", "int-nan", "hidden-1e12", "replay-1e12", "rays-100000", "seed-inf", "gamma-ninf",
         "text-for-int", "set-nan"],
)
def test_bad_numbers_stop_train_with_one_line_and_nothing_written(tmp_path: Path, config_text: str,
                                                                  extra: list[str], expected: str) -> None:
    result, config, out = _train(tmp_path, config_text, *extra)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    source = "--set" if extra else str(config)
    assert lines[0] == f"ac-core train: {source}: {expected}"
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())
