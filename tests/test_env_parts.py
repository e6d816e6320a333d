"""Environment pieces that need no simulator: settings validation, actions, reward, episode ends."""

from __future__ import annotations

import numpy as np
import pytest

from ac_core.env import actions as A
from ac_core.env.episode import EpisodeTracker
from ac_core.env.observation import ObservationLayout, lookahead_distances, ray_angles
from ac_core.env.reward import COMPONENTS, compute_reward
from ac_core.env.settings import EnvConfigError, RewardWeights, make_settings


def test_seed_keys_and_defaults() -> None:
    s = make_settings({"track": "spa", "car": "FormulaAlpha2022", "weather": "clear", "lap_start": "pit_out"})
    assert s.backend == "sim" and s.ticks_per_step == 17 and s.step_seconds == pytest.approx(17 / 333)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"trak": "spa"}, "env.trak is an unknown key (did you mean track?); valid keys in env:"),
        ({"backend": "carla"}, "env.backend = 'carla' is not valid; choose one of: sim, sim-live, ac"),
        ({"lap_start": "grid"}, "choose one of: pit_out, flying, standing, random"),
        ({"control_hz": -5}, "env.control_hz = -5 is out of range; use a number in (0, 333]"),
        ({"control_hz": 1000}, "env.control_hz = 1000 is out of range; use a number in (0, 333]"),
        ({"max_laps": 1.5}, "env.max_laps = 1.5 is not a whole number; use an integer in [0, 10000]"),
        ({"car": "GT3"}, "choose one of: FormulaAlpha2022"),
        ({"reward": {"speed": 1}}, "env.reward.speed is an unknown key; valid keys in env.reward: progress, time"),
        ({"reward": {"time": -1}}, "env.reward.time = -1 is out of range; use a number in [0, 1000]"),
        ({"terminate_on_collision": "yes"}, "env.terminate_on_collision = 'yes' is not a boolean; use true or false"),
    ],
)
def test_bad_settings_name_the_key_and_the_choices(mapping: dict, message: str) -> None:
    with pytest.raises(EnvConfigError) as e:
        make_settings(mapping)
    assert message in str(e.value)


def test_numbers_written_as_yaml_strings_are_accepted() -> None:
    s = make_settings({"control_hz": "20", "max_episode_seconds": "1e2", "reward": {"progress": "2e-1"}})
    assert s.control_hz == 20.0 and s.max_episode_seconds == 100.0 and s.reward.progress == 0.2


def test_discrete_action_table() -> None:
    assert 20 <= A.N_DISCRETE_ACTIONS <= 30
    acts = A.DISCRETE_ACTIONS
    assert not np.any((acts[:, 1] > 0) & (acts[:, 2] > 0)), "never throttle and brake together"
    assert {0.0, -1.0, 1.0} <= set(acts[:, 0].tolist())
    assert len(A.describe_discrete_actions()) == A.N_DISCRETE_ACTIONS
    assert A.decode_discrete(np.array([0]))[0].tolist() == [-1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="out of range"):
        A.decode_discrete(np.array([A.N_DISCRETE_ACTIONS]))


def test_fine_discrete_action_table_has_part_pedals_and_names_every_row() -> None:
    acts = A.action_table("discrete_fine")
    assert len(acts) == 63 and A.is_discrete("discrete_fine") and not A.is_discrete("continuous")
    assert not np.any((acts[:, 1] > 0) & (acts[:, 2] > 0)), "never throttle and brake together"
    levels = {0.0, 0.333, 0.667, 1.0}
    assert set(np.round(acts[:, 1].astype(np.float64), 3).tolist()) == levels
    assert set(np.round(acts[:, 2].astype(np.float64), 3).tolist()) == levels
    names = A.describe_discrete_actions(acts)
    assert len(names) == 63 and "throttle 67%" in names[1] and "full brake" in names[6]
    with pytest.raises(ValueError, match="not discrete"):
        A.action_table("continuous")


def test_nearest_discrete_picks_the_closest_row() -> None:
    table = A.action_table("discrete_fine")
    idx = A.nearest_discrete(np.array([[0.27, 0.7, 0.0], [-1.0, 0.0, 0.9]]), table)
    assert table[idx[0]].tolist() == pytest.approx([0.25, 2 / 3, 0.0])
    assert table[idx[1]].tolist() == pytest.approx([-1.0, 0.0, 1.0])


def test_continuous_actions_clip_reject_nan_and_never_press_both() -> None:
    out = A.decode_continuous(np.array([[2.0, 0.8, 0.3], [-0.5, 0.2, 0.9]]))
    assert np.allclose(out, [[1.0, 0.8, 0.0], [-0.5, 0.0, 0.9]])
    with pytest.raises(ValueError, match="NaN"):
        A.decode_continuous(np.array([np.nan, 0.0, 0.0]))


def test_steering_rate_limit() -> None:
    cur = np.array([0.0, 0.9, -1.0])
    out = A.rate_limit(cur, np.array([1.0, 1.0, 1.0]), 0.2)
    assert out.tolist() == pytest.approx([0.2, 1.0, -0.8])


def test_reward_components_sum_to_reward() -> None:
    w = RewardWeights(progress=0.1, time=0.02, off_track=0.01, collision=10.0, smoothness=0.05)
    total, parts = compute_reward(
        w, np.array([4.0, -1.0]), np.array([80.0, 10.0]) * np.array([0.0, 4.0]) / 4.0, np.array([0.0, 1.0]),
        np.array([False, True]), np.array([0.0, 0.5]),
    )  # fmt: skip
    assert set(parts) == set(COMPONENTS)
    assert np.allclose(sum(parts.values()), total)
    assert total[0] == pytest.approx(0.4 - 0.02)
    assert total[1] == pytest.approx(-0.1 - 0.02 - 0.01 * 10.0 - 10.0 - 0.025)


def test_progress_off_the_track_is_paid_at_its_share() -> None:
    """A cut gains nothing at off_track_progress 0: metres gained off the track (by the share of the step's
    frames spent off) are not paid; going backwards costs the same on and off the track."""
    progress, off = np.array([10.0, 10.0, 10.0, -2.0]), np.array([0.0, 0.5, 1.0, 1.0])
    args = (np.zeros(4), off, np.zeros(4, dtype=bool), np.zeros(4))
    _, paid_all = compute_reward(RewardWeights(progress=0.1), progress, *args)
    _, cut_free = compute_reward(RewardWeights(progress=0.1, off_track_progress=0.0), progress, *args)
    _, half = compute_reward(RewardWeights(progress=0.1, off_track_progress=0.5), progress, *args)
    assert paid_all["progress"].tolist() == pytest.approx([1.0, 1.0, 1.0, -0.2])
    assert cut_free["progress"].tolist() == pytest.approx([1.0, 0.5, 0.0, -0.2])
    assert half["progress"].tolist() == pytest.approx([1.0, 0.75, 0.5, -0.2])


def _tracker(**kw) -> EpisodeTracker:
    t = EpisodeTracker(1, make_settings(**kw))
    t.reset(np.array([0]), np.zeros(1), np.zeros(1, dtype=np.int64))
    return t


def _update(
    t: EpisodeTracker, progress=1.5, tyres=0, damage=0.0, laps=0, last_ms=0, dt=0.05, off_fraction=None, off_at_end=None
):
    off = float(tyres > t.settings.off_track_tyres)
    return t.update(dt, np.array([progress]), np.array([float(tyres)]),
                    np.array([off if off_fraction is None else off_fraction]),
                    np.array([off if off_at_end is None else off_at_end]), np.array([damage]), np.array([laps]),
                    np.array([last_ms]), np.array([50.0]))  # fmt: skip


def test_sub_step_excursion_is_one_off_track_event() -> None:
    """Tyres out in some frames of a step (not its newest): one event and its share of the step as
    off-track time; the next step, back on track, ends the excursion."""
    t = _tracker(off_track_grace_s=0.5)
    _update(t, tyres=4, off_fraction=0.25, off_at_end=0.0, dt=0.1)
    assert t.off_track_events[0] == 1 and t.off_time[0] == pytest.approx(0.025) and not t.was_off[0]
    _update(t, tyres=4, off_fraction=0.5, off_at_end=1.0, dt=0.1)  # off again, and still off at the end
    assert t.off_track_events[0] == 2 and t.off_time[0] == pytest.approx(0.075)
    _update(t, tyres=4, off_fraction=1.0, off_at_end=1.0, dt=0.1)  # the same excursion goes on
    assert t.off_track_events[0] == 2 and t.off_time[0] == pytest.approx(0.175)
    _update(t, tyres=0, dt=0.1)
    assert t.off_time[0] == 0.0


def test_off_track_beyond_grace_terminates() -> None:
    t = _tracker(off_track_grace_s=0.5)
    for _ in range(10):  # 0.5 s with 3 tyres out: still within the grace time
        _, term, _ = _update(t, tyres=3)
        assert not term[0]
    _, term, _ = _update(t, tyres=3)
    assert term[0] and t.off_track_events[0] == 1


def test_collision_terminates_and_counts() -> None:
    t = _tracker()
    collided, term, _ = _update(t, damage=12.0)
    assert collided[0] and term[0] and t.collisions[0] == 1
    t2 = _tracker(terminate_on_collision=False)
    _, term, _ = _update(t2, damage=12.0)
    assert not term[0] and t2.collisions[0] == 1


def test_no_progress_terminates() -> None:
    t = _tracker(no_progress_s=1.0)
    ends = [_update(t, progress=0.0)[1][0] for _ in range(25)]
    assert not any(ends[:19]) and ends[-1]  # 1 s = 20 steps of 50 ms


def test_truncation_by_time_and_laps() -> None:
    t = _tracker(max_episode_seconds=1.0)
    outs = [_update(t)[2][0] for _ in range(20)]
    assert outs[-1] and not any(outs[:-1])
    t = _tracker(max_laps=1)
    _, _, trunc = _update(t, laps=1, last_ms=104_500)
    assert trunc[0] and t.last_lap_s[0] == pytest.approx(104.5) and t.best_lap_s[0] == pytest.approx(104.5)


def test_a_lap_with_a_cut_is_timed_but_not_clean() -> None:
    """AC's track limits: a lap in which more than ``off_track_tyres`` tyres went out, even for a sub-step
    excursion well inside the grace time, counts as completed and timed but not clean; the next lap is
    clean again unless the car crosses the line still off."""
    t = _tracker(off_track_grace_s=1.0)
    _update(t, laps=1, last_ms=104_000)  # a clean lap
    assert t.last_lap_clean[0]
    _update(t, laps=1, tyres=3, off_fraction=0.2, off_at_end=0.0)  # a brief cut, back on within the step
    _update(t, laps=1)
    _update(t, laps=2, last_ms=100_000)
    assert t.last_lap_s[0] == pytest.approx(100.0) and not t.last_lap_clean[0] and t.best_lap_s[0] == 100.0
    _update(t, laps=3, last_ms=103_000)  # the lap after it: clean
    assert t.last_lap_clean[0]
    _update(t, laps=4, last_ms=102_000, tyres=4)  # cut on the line: this lap and the next are cut
    assert not t.last_lap_clean[0]
    _update(t, laps=4, tyres=0)
    _update(t, laps=5, last_ms=101_000)
    assert not t.last_lap_clean[0]


def test_observation_layout() -> None:
    s = make_settings()
    layout = ObservationLayout.for_settings(s)
    assert layout.size == 2 + 1 + 2 + 3 + 1 + 1 + 4 + 1 + 1 + 1 + 80 + 40 + 15 + 3
    d = lookahead_distances(s)
    assert d[0] == pytest.approx(5.0) and d[-1] == pytest.approx(400.0) and np.all(np.diff(d) > 0)
    r = ray_angles(s)
    assert r[0] == pytest.approx(-np.pi / 2) and r[-1] == pytest.approx(np.pi / 2) and 0.0 in r
