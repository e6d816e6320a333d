"""Validation of the built-in simulator with its reference driver against real 2022 F1 figures at Spa
(research/spa_and_f1_car_data.md §7), on the built-in Spa and on the TUMFTM Spa centre line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ac_core
from ac_core.sim import reference_lap

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
TUM_SPA = (SHARED / "data/tracks/TUMFTM_racetrack-database/tracks/Spa.csv").resolve()

TRACKS = ["spa", pytest.param(str(TUM_SPA), marks=pytest.mark.skipif(not TUM_SPA.exists(), reason="no shared data"))]


@pytest.fixture(scope="module", params=TRACKS, ids=["builtin-spa", "tumftm-spa"])
def lap(request):
    return reference_lap(request.param)


def les_combes_s(lap) -> float:
    """The first slow corner (< 200 km/h) after Raidillon: Les Combes, at the end of the Kemmel straight."""
    return next(c.s_m for c in lap.corner_minima() if c.s_m > 1500.0)


def test_completes_a_lap(lap):
    assert lap.completed
    assert lap.collisions == 0
    assert lap.trace.size > 100 * 333
    assert lap.trace["s"].max() > lap.track_length_m - 20


def test_lap_time_in_the_2022_range(lap):
    # Real 2022 qualifying 1:43.7-1:44.5; a QSS model on these lines gives ~1:45.6 (research §3).
    assert 100.0 <= lap.lap_time_s <= 112.0


def test_top_speed_before_les_combes(lap):
    assert 310.0 <= lap.max_speed_between(1000.0, les_combes_s(lap)) <= 345.0


def test_la_source_minimum(lap):
    assert 65.0 <= lap.min_speed_between(150.0, 650.0) <= 90.0


def test_peak_braking_and_lateral_g(lap):
    assert 3.5 <= lap.peak_braking_g <= 6.5
    assert 3.5 <= lap.peak_lateral_g <= 6.0


def test_trace_is_consistent(lap):
    tr = lap.trace
    assert tr["time_s"][-1] == pytest.approx(lap.lap_time_s, abs=0.01)
    assert (tr["speed_kmh"] > 0).all()
    assert lap.top_speed_kmh == pytest.approx(tr["speed_kmh"].max())


def test_driver_plan_is_the_faster_lap_the_driver_aims_at(lap):
    from ac_core.sim import driver_plan

    plan = driver_plan(lap.track)
    assert plan.lap_time_s == pytest.approx(lap.planned_lap_time_s)
    # The plan assumes the MGU-K everywhere and no tracking error: a few seconds faster, not tens.
    assert lap.lap_time_s - 8.0 < plan.lap_time_s < lap.lap_time_s
    assert plan.s[-1] == pytest.approx(lap.track_length_m, abs=5.0)
    # The plan's top speed is the car's (the driven lap loses its time in the corners and on energy).
    assert plan.speed_kmh.max() == pytest.approx(lap.top_speed_kmh, abs=15.0)
    # Along the centre line the profile would take longer than the plan's time, which runs along the
    # racing line: the line cuts the corners.
    v = plan.speed_kmh / 3.6
    ds = np.diff(np.append(plan.s, lap.track_length_m))
    assert float(np.sum(ds / (0.5 * (v + np.roll(v, -1))))) > plan.lap_time_s


def test_cli_reference_lap_json():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(ac_core.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-m", "ac_core.cli", "sim", "--reference-lap", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    data = json.loads(out.stdout)
    for key in ("lap_time_s", "top_speed_kmh", "min_speed_kmh", "peak_lateral_g", "peak_braking_g", "track_length_m"):
        assert isinstance(data[key], float)
    assert data["completed"] is True


def test_plot_needs_matplotlib_or_writes_a_png(tmp_path):
    from ac_core.sim.reference import plot_reference_lap

    lap = reference_lap("spa")
    target = tmp_path / "lap.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="matplotlib"):
            plot_reference_lap(lap, target)
        return
    plot_reference_lap(lap, target)
    assert target.stat().st_size > 10_000


def test_reference_lap_on_a_written_fast_lane_ai(tmp_path, capsys):
    """The built-in Spa through AC's own file format (what the ac backend loads from an install): a
    round trip through write_fast_lane_ai and the .ai reader must leave the reference lap unchanged."""
    from ac_core.cli import main
    from ac_core.track import load_track, write_fast_lane_ai

    path = tmp_path / "fast_lane.ai"
    write_fast_lane_ai(load_track("spa"), path)
    assert main(["sim", "--reference-lap", "--track", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    builtin = reference_lap("spa")
    assert from_file["completed"] is True
    assert from_file["track_length_m"] == pytest.approx(builtin.track_length_m, rel=0.01)
    # The file holds points every 2 m (the built-in is sampled every 1 m): a few per cent at most
    # (0.05 % when written).
    assert from_file["collisions"] == 0
    assert from_file["lap_time_s"] == pytest.approx(builtin.lap_time_s, rel=0.03)
