"""End to end: a short training run on Spa writes logs and checkpoints, and `ac-core eval` reads
them and writes the summary, per-step telemetry and plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ac_core.cli import main

TINY = """
env:
  track: "spa"
  car: "FormulaAlpha2022"
  weather: "clear"
  lap_start: "random"
  control_hz: 10
  max_episode_seconds: 6
  n_envs: 4
agent:
  type: "IQN"
  lr: 3e-4
  batch_size: 16
  n_quantiles: 4
  n_quantiles_policy: 4
  hidden_units: 32
  learning_starts: 100
  epsilon_decay_steps: 500
  replay_size: 2_000
train:
  total_timesteps: 480
  eval_interval: 240
  save_interval: 240
  eval_episodes: 2
  log_interval: 100
  torch_threads: 1
  progress: false
"""


def test_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    ck, logs, runs = tmp_path / "checkpoints", tmp_path / "logs", tmp_path / "runs"
    assert main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(logs)]) == 0
    assert (ck / "last.pt").is_file() and (ck / "best.pt").is_file() and (ck / "step_240.pt").is_file()
    assert any(logs.iterdir()), "TensorBoard event files"
    assert main(["eval", "--checkpoint", str(ck / "last.pt"), "--episodes", "2", "--save-rollouts", str(runs),
                 "--video", "gif", "--video-speedup", "2"]) == 0
    summary = json.loads((runs / "summary.json").read_text())
    for key in ("episodes", "completed_laps", "best_lap_time_s", "mean_lap_time_s", "off_track_events",
                "collisions", "avg_speed_kmh", "cumulative_reward", "reference_lap_time_s"):
        assert key in summary
    assert summary["episodes"] == 2 and 95 < summary["reference_lap_time_s"] < 115
    # The lap the reference driver aims at is faster than the one it drives; a lapless agent has no gap.
    assert 90 < summary["planned_lap_time_s"] < summary["reference_lap_time_s"]
    assert (summary["gap_to_plan_s"] is None) == (summary["best_lap_time_s"] is None)
    with open(runs / "episode_0.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and set(rows[0]) >= {"time", "s", "x", "y", "z", "speed_kmh", "throttle", "brake", "steer",
                                      "gear", "rpm", "lateral", "tyres_out", "reward"}
    assert len(json.loads((runs / "episode_0.json").read_text())) == len(rows)
    assert (runs / "track_map.png").stat().st_size > 10_000 and (runs / "speed_trace.png").is_file()
    video = Path(summary["video"])
    assert video.parent == runs and video.suffix == ".gif" and video.stat().st_size > 1_000
    from PIL import Image

    shown = json.loads((runs / video.name.replace(".gif", ".json")).read_text())
    driven_s = shown[-1]["time"] - shown[0]["time"]
    with Image.open(video) as gif:  # 10 frames per video second, 2 driven seconds per video second
        assert abs(gif.n_frames - driven_s * 10 / 2) <= 2, (gif.n_frames, driven_s)
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(ck / "last.pt"), "--save-rollouts", str(runs), "--video", "gif",
                 "--video-speedup", "0"]) == 2
    assert "--video-speedup must be positive" in capsys.readouterr().err
    # The evaluation's τ: the stored config's (sampled) by default, a grid on request, a negative count refused.
    assert summary["eval_quantiles"] == 0
    assert main(["eval", "--checkpoint", str(ck / "last.pt"), "--episodes", "1", "--no-plots", "--save-rollouts",
                 str(tmp_path / "grid"), "--eval-quantiles", "32"]) == 0
    assert json.loads((tmp_path / "grid" / "summary.json").read_text())["eval_quantiles"] == 32
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(ck / "last.pt"), "--eval-quantiles", "-1"]) == 2
    assert "--eval-quantiles must be ≥ 0" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(ck / "last.pt"), "--video", "gif"]) == 2  # needs --save-rollouts

    from ac_core.train.checkpoint_eval import evaluate

    runs_a = [evaluate(ck / "last.pt", 2, None, seed=7, echo=lambda *_: None) for _ in range(2)]
    assert runs_a[0]["cumulative_reward"] == runs_a[1]["cumulative_reward"], "rollouts repeat under a seed"


def test_eval_of_a_corrupt_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["eval", "--checkpoint", str(bad), "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read as a checkpoint" in err and str(bad) in err and len(err.strip().splitlines()) == 1


def test_resuming_a_run_scored_by_an_older_rule_says_so_on_one_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    """A checkpoint from before clean laps counted (no score rule, a best that may be a cut lap) resumes,
    drops its best with a one-line warning in the CLI's format, and the next evaluation writes best.pt."""
    import torch

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    ck = tmp_path / "checkpoints"
    assert main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(tmp_path / "logs")]) == 0
    payload = torch.load(ck / "last.pt", weights_only=False)
    training = payload["metadata"]["training"]
    assert training.pop("score_rule")  # the racing rule is stored ...
    training["best_score"] = payload["metadata"]["best_score"] = 97.763  # ... an old run's cut lap is not
    torch.save(payload, ck / "last.pt")
    (ck / "best.pt").unlink()
    capsys.readouterr()
    assert main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(tmp_path / "logs"), "--resume",
                 "--set", "train.total_timesteps=720"]) == 0
    err = capsys.readouterr().err
    assert "ac-core train: warning: the checkpoint's best score 97.763 was scored by another rule" in err
    assert "UserWarning" not in err and "run_state.py" not in err
    assert (ck / "best.pt").is_file(), "the first evaluation after the resume sets best.pt"
