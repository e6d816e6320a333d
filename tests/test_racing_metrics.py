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
