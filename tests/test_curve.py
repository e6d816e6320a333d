"""`ac-core curve`: learning curves and headline figures from a run's TensorBoard logs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ac_core.cli import main


def _write_run(logdir: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(logdir))
    laps = [math.nan, math.nan, 118.0, 109.5, 111.0]
    for i, lap in enumerate(laps):
        step = (i + 1) * 1000
        writer.add_scalar("eval/best_lap_time", lap, step)
        writer.add_scalar("eval/completed_laps", 0.0 if math.isnan(lap) else 2.0, step)
        writer.add_scalar("eval/off_track_events", 1.0 + i, step)
        writer.add_scalar("eval/max_distance_m", 1000.0 * (i + 1), step)
        writer.add_scalar("perf/steps_per_second", 500.0 + i, step)
        writer.add_scalar("rollout/episode_return", 10.0 * i, step)
    writer.close()


def test_curve_plots_and_reports_the_headline_figures(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_run(tmp_path / "logs")
    out, data = tmp_path / "curve.png", tmp_path / "curve.json"
    assert main(["curve", str(tmp_path / "logs"), "--out", str(out), "--json", str(data), "--track", "none"]) == 0
    assert out.stat().st_size > 20_000
    headline = json.loads(data.read_text())["headline"]
    assert headline["steps_to_first_lap"] == 3000
    assert headline["best_lap_time_s"] == pytest.approx(109.5) and headline["best_lap_step"] == 4000
    assert headline["median_steps_per_second"] == pytest.approx(502.0)
    assert headline["off_track_per_lap_last_eval"] == pytest.approx(5.0 / 2.0)
    curves = json.loads(data.read_text())["curves"]
    assert curves["eval/best_lap_time"]["values"][:2] == [None, None]  # NaN (no lap yet) as null
    assert "steps_to_first_lap" in capsys.readouterr().out


def test_curve_with_the_reference_lap_of_the_built_in_spa(tmp_path: Path) -> None:
    _write_run(tmp_path / "logs")
    assert main(["curve", str(tmp_path / "logs"), "--out", str(tmp_path / "c.png"), "--json",
                 str(tmp_path / "c.json")]) == 0
    headline = json.loads((tmp_path / "c.json").read_text())["headline"]
    assert 95 < headline["reference_lap_time_s"] < 115
    assert headline["best_lap_vs_reference"] == pytest.approx(109.5 / headline["reference_lap_time_s"])


def test_curve_without_logs_says_where_to_look(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["curve", str(tmp_path), "--out", str(tmp_path / "c.png")]) == 1
    assert "no TensorBoard event files" in capsys.readouterr().err


def test_speed_trace_breaks_the_line_where_the_lap_wraps() -> None:
    import numpy as np

    from ac_core.plots import break_at_wraps

    d, v = break_at_wraps(np.array([6990.0, 7000.0, 5.0, 15.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert np.isnan(d[2]) and np.isnan(v[2]) and d[3] == 5.0 and len(d) == 5
