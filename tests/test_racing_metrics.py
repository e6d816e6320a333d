"""The racing env's per-step TensorBoard scalars (ac_core.train.racing.lap_metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ac_core.train.racing import lap_metrics


def test_lap_time_is_the_fastest_lap_completed_this_step() -> None:
    valid = np.array([True, True, True, False])
    infos = {"lap_completed": np.array([True, True, False, True]),
             "last_lap_time": np.array([112.5, 109.0, math.nan, 90.0]),  # the invalid env's lap is ignored
             "speed_kmh": np.array([100.0, 200.0, 300.0, 999.0])}
    out = lap_metrics(infos, valid)
    assert out["lap_time_s"] == pytest.approx(109.0) and out["speed_kmh"] == pytest.approx(200.0)
    assert "step_lateness_ms" not in out  # in-process simulator: no timing


def test_step_lateness_from_a_vector_env_and_from_the_single_env_wrapper() -> None:
    valid = np.ones(2, dtype=bool)
    vector = {"timing": {"lateness_ms": np.array([0.5, 7.25]), "_lateness_ms": np.ones(2, dtype=bool)}}
    assert lap_metrics(vector, valid)["step_lateness_ms"] == pytest.approx(7.25)
    from ac_core.train.batched_env import _as_vector_info

    single = _as_vector_info({"timing": {"lateness_ms": 3.5, "packet_id": 10}})
    assert lap_metrics(single, valid[:1])["step_lateness_ms"] == pytest.approx(3.5)


def test_a_lap_without_a_valid_time_is_skipped_in_both_info_layouts() -> None:
    from ac_core.train.batched_env import _as_vector_info

    valid = np.ones(2, dtype=bool)
    # The vector env: the mask is False where no lap is timed (the value there is NaN).
    vector = {"lap_completed": np.array([True, True]), "last_lap_time": np.array([math.nan, 104.5]),
              "_last_lap_time": np.array([False, True])}
    assert lap_metrics(vector, valid)["lap_time_s"] == pytest.approx(104.5)
    # The single env leaves the key out; through the trainer's wrapper, a lap without a time logs nothing.
    single = _as_vector_info({"lap_completed": True, "speed_kmh": 80.0})
    assert "lap_time_s" not in lap_metrics(single, valid[:1])


def test_cut_laps_count_as_laps_but_not_as_clean_ones_in_the_summary() -> None:
    """LapObserver keeps the clean laps apart; the summary and its TensorBoard view report both."""
    from ac_core.train.batched_env import BatchStep
    from ac_core.train.evaluation import EpisodeRecord, LapObserver, racing_metrics, racing_summary

    records = [EpisodeRecord(0, 0), EpisodeRecord(1, 1)]
    observer = LapObserver()
    no = np.zeros(2, dtype=bool)
    for lap_times, clean in (([97.8, 101.9], [False, True]), ([99.0, 102.5], [True, True])):
        step = BatchStep(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2, np.float32), no, no, np.ones(2, bool),
                         {"lap_completed": np.ones(2, bool), "last_lap_time": np.array(lap_times),
                          "last_lap_clean": np.array(clean)})
        observer.on_step(step, np.ones(2, dtype=bool), records)
    assert records[0].laps == [97.8, 99.0] and records[0].clean_laps == [99.0]
    summary = racing_summary(records, 7000.0, reference_lap_s=101.9)
    assert summary["completed_laps"] == 4 and summary["best_lap_time_s"] == pytest.approx(97.8)
    assert summary["clean_laps"] == 3 and summary["best_clean_lap_time_s"] == pytest.approx(99.0)
    assert summary["best_clean_lap_vs_reference"] == pytest.approx(99.0 / 101.9)
    metrics = racing_metrics(summary)
    assert metrics["eval/best_clean_lap_time"] == pytest.approx(99.0) and metrics["eval/clean_laps"] == 3.0


def test_the_score_ranks_a_clean_lap_above_a_faster_cut_one_and_a_cut_lap_above_none() -> None:
    """best.pt must not be chosen for a lap AC would not count: 103 s clean < 97.8 s cut < no lap."""
    from ac_core.train.evaluation import score_from

    clean = score_from(103.0, 97.8, 7000.0, 7000.0)
    cut_only = score_from(None, 97.8, 7000.0, 7000.0)
    slower_cut = score_from(None, 99.0, 7000.0, 7000.0)
    no_lap = score_from(None, None, 6900.0, 7000.0)
    assert clean == pytest.approx(103.0) and cut_only == pytest.approx(597.8) and no_lap == pytest.approx(1010.0)
    assert clean < cut_only < slower_cut < no_lap
