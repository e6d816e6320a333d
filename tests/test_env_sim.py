"""The environment on the built-in simulator: Gymnasium conformance, determinism, episode ends
reached by scripted policies, the vector env, and the same observation from every backend."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ac_core.env  # noqa: F401 - registers the env id
from ac_core.env import AssettoCorsaEnv, EnvConfigError, make_vector
from ac_core.env import actions as A

FULL_THROTTLE_STRAIGHT = 3 * 4 + 0  # steer 0, full throttle
COAST_STRAIGHT = 3 * 4 + 1
FULL_BRAKE_STRAIGHT = 3 * 4 + 3
FULL_LEFT_THROTTLE = 0 * 4 + 0


def test_gymnasium_make_and_check_env() -> None:
    env = gymnasium.make("ac_core/AssettoCorsa-v0", backend="sim", track="spa")
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=1)
    assert obs.shape == env.observation_space.shape and obs.dtype == np.float32
    assert env.action_space.n == A.N_DISCRETE_ACTIONS
    assert {"speed_kmh", "s", "lap_completed", "raw", "reward_progress"} <= set(info)
    env.close()


def test_continuous_variant_checks() -> None:
    env = AssettoCorsaEnv(action_set="continuous")
    check_env(env, skip_render_check=True)
    env.close()


def test_bad_config_is_rejected_with_the_valid_keys() -> None:
    with pytest.raises(EnvConfigError, match="valid keys"):
        AssettoCorsaEnv(trak="spa")
    with pytest.raises(EnvConfigError, match="clear"):
        AssettoCorsaEnv(weather="blizzard")


def _rollout(env: AssettoCorsaEnv, seed: int, actions: list[int]) -> tuple[np.ndarray, list[float]]:
    obs, _ = env.reset(seed=seed)
    out, rewards = [obs], []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append(obs)
        rewards.append(r)
        if term or trunc:
            break
    return np.array(out), rewards


def test_deterministic_under_a_seed() -> None:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, A.N_DISCRETE_ACTIONS, 120).tolist()
    env = AssettoCorsaEnv(lap_start="random")
    a, ra = _rollout(env, 7, actions)
    b, rb = _rollout(env, 7, actions)
    c, _ = _rollout(env, 8, actions)
    env.close()
    assert np.array_equal(a, b) and ra == rb
    assert not np.array_equal(a[0], c[0]), "another seed starts elsewhere on the lap"


def test_reward_components_sum_to_the_reward() -> None:
    env = AssettoCorsaEnv()
    env.reset(seed=0)
    for _ in range(40):
        _, r, term, trunc, info = env.step(FULL_THROTTLE_STRAIGHT)
        parts = sum(info[f"reward_{k}"] for k in ("progress", "time", "off_track", "collision", "smoothness"))
        assert parts == pytest.approx(r)
        if term or trunc:
            break
    env.close()


def test_progress_is_rewarded_when_driving_forward() -> None:
    env = AssettoCorsaEnv(lap_start="flying")
    env.reset(seed=0)
    *_, info = env.step(FULL_THROTTLE_STRAIGHT)
    assert info["reward_progress"] > 0 and info["speed_kmh"] > 150


def test_no_progress_terminates_a_standing_car() -> None:
    env = AssettoCorsaEnv(lap_start="standing", no_progress_s=2.0)
    env.reset(seed=0)
    for _ in range(200):
        _, _, term, trunc, info = env.step(FULL_BRAKE_STRAIGHT)
        if term or trunc:
            break
    assert term and not trunc
    assert info["episode_time"] == pytest.approx(2.0, abs=0.2)


def test_leaving_the_track_terminates() -> None:
    env = AssettoCorsaEnv(lap_start="flying", terminate_on_collision=False, off_track_grace_s=0.5)
    env.reset(seed=0)
    for _ in range(400):
        _, _, term, trunc, info = env.step(FULL_LEFT_THROTTLE)
        if term or trunc:
            break
    assert term and info["off_track_events"] >= 1


def test_hitting_the_barrier_is_a_collision() -> None:
    env = AssettoCorsaEnv(lap_start="flying", off_track_grace_s=30.0, no_progress_s=30.0)
    env.reset(seed=0)
    for _ in range(600):
        _, _, term, trunc, info = env.step(FULL_LEFT_THROTTLE)
        if term or trunc:
            break
    assert term and info["collisions"] == 1 and info["reward_collision"] < 0


def test_truncation_by_time() -> None:
    env = AssettoCorsaEnv(lap_start="flying", max_episode_seconds=1.0)
    env.reset(seed=0)
    steps = 0
    while True:
        steps += 1
        _, _, term, trunc, _ = env.step(COAST_STRAIGHT)
        if term or trunc:
            break
    assert trunc and not term and steps == int(np.ceil(1.0 / env.settings.step_seconds))


def test_vector_env_autoresets_in_the_same_step() -> None:
    venv = make_vector(4, lap_start="random", max_episode_seconds=0.5)
    obs, infos = venv.reset(seed=3)
    assert obs.shape == (4, venv.single_observation_space.shape[0])
    done_seen = False
    for _ in range(20):
        obs, rew, term, trunc, infos = venv.step(np.full(4, COAST_STRAIGHT))
        assert rew.shape == (4,)
        if (term | trunc).any():
            done_seen = True
            assert infos["_final_obs"].tolist() == (term | trunc).tolist()
            assert infos["final_info"]["episode_time"][trunc].min() >= 0.5 - 1e-6
            # The returned observation is the first of the next episode.
            assert np.all(infos["episode_time"][term | trunc] == 0.0)
    assert done_seen
    venv.close()


def test_vector_cars_match_single_envs() -> None:
    """Car i of a vector env and a single env with the same start see the same observations."""
    venv = make_vector(3, lap_start="flying")
    single = AssettoCorsaEnv(lap_start="flying")
    vo, _ = venv.reset(seed=0)
    so, _ = single.reset(seed=0)
    assert np.array_equal(vo[1], so)
    for a in [FULL_THROTTLE_STRAIGHT] * 5 + [COAST_STRAIGHT] * 5:
        vo, *_ = venv.step(np.full(3, a))
        so, *_ = single.step(a)
    assert np.allclose(vo[2], so)
    venv.close()
    single.close()


def test_reference_driver_rounded_to_the_fine_action_table_laps_spa() -> None:
    """The fine table can express a full-speed lap: the reference driver's own controls, rounded to
    its nearest row each step (111 Hz), complete Spa within 1 % of the unrounded lap time."""
    from ac_core import _core
    from ac_core.sim.reference import reference_lap

    env = AssettoCorsaEnv(lap_start="flying", control_hz=111, max_episode_seconds=200, max_laps=1,
                          action_set="discrete_fine")
    env.reset(seed=0)
    backend = env.core.backend
    driver = _core.ReferenceDriver(backend.track.core, backend.batch)
    table = A.action_table("discrete_fine")
    done, info = False, {}
    while not done:
        driver.drive(backend.batch, 0)
        c = backend.batch.controls[0]
        action = int(A.nearest_discrete(np.array([[c["steer"], c["throttle"], c["brake"]]]), table)[0])
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert info["completed_laps"] == 1 and info["off_track_events"] == 0
    reference = reference_lap("spa").lap_time_s
    assert info["best_lap_time"] == pytest.approx(reference, rel=0.01)


# ----- misuse of the Gymnasium API: one clear line, a ValueError (arguments) or RuntimeError (state) -----

def _one_line_error(exc_type: type[Exception], call, *fragments: str) -> None:
    from ac_core.errors import InputError

    with pytest.raises(exc_type) as e:
        call()
    message = str(e.value)
    assert isinstance(e.value, InputError) and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_wrong_discrete_actions_name_the_action_space() -> None:
    from ac_core.env.core import EnvUsageError

    env = AssettoCorsaEnv()
    env.reset(seed=0)
    n = A.N_DISCRETE_ACTIONS
    for action, problem in [(2.5, "the action is 2.5 (float), not an integer"), ("3", "'3' (str), not an integer"),
                            (None, "None (NoneType)"), ([3], "[3] (list)"), (True, "True (bool)"),
                            (np.array([3]), "an array of shape (1,) and dtype int64"),
                            (n, f"the action {n} is out of range"), (-1, "the action -1 is out of range")]:
        _one_line_error(EnvUsageError, lambda a=action: env.step(a), "AssettoCorsaEnv.step()", problem,
                        f"Discrete({n}): use an int in [0, {n - 1}]")
    # what Discrete.contains accepts still works: NumPy integers and 0-d integer arrays
    for action in (np.int32(COAST_STRAIGHT), np.array(COAST_STRAIGHT), np.uint8(COAST_STRAIGHT)):
        assert env.step(action)[0].shape == env.observation_space.shape
    env.close()


def test_wrong_continuous_actions_name_the_shape() -> None:
    from ac_core.env.core import EnvUsageError

    env = AssettoCorsaEnv(action_set="continuous")
    env.reset(seed=0)
    for action, problem in [([0.0, 1.0], "shape (2,)"), ("abc", "dtype <U3"), ([[0.0, 1.0, 0.0]], "shape (1, 3)"),
                            ([1.0, [2.0, 3.0]], "a ragged sequence"), ([0.0, float("nan"), 0.0], "NaN or inf")]:
        _one_line_error(EnvUsageError, lambda a=action: env.step(a), "AssettoCorsaEnv.step()", problem)
    assert env.step(np.array([5.0, 1.0, 0.0]))[0].shape == env.observation_space.shape  # finite: clipped, as documented
    env.close()


def test_bad_reset_options_and_seeds_are_named() -> None:
    from ac_core.env.core import EnvUsageError

    env = AssettoCorsaEnv()
    for kwargs, fragment in [({"options": [1]}, "options = [1] (list) is not a dict"),
                             ({"options": {"random": True}}, "options has the unknown key 'random'; valid keys: "
                                                             "random_start"),
                             ({"options": {"random_start": "yes"}},
                              "options['random_start'] = 'yes' (str) is not a bool"),
                             ({"seed": -1}, "seed = -1 (int) is not valid"), ({"seed": 1.5}, "seed = 1.5 (float)")]:
        _one_line_error(EnvUsageError, lambda k=kwargs: env.reset(**k), "AssettoCorsaEnv.reset()", fragment)
    obs, _ = env.reset(seed=0, options={"random_start": True})
    assert obs.shape == env.observation_space.shape
    env.close()


def test_calls_out_of_order_or_after_close_are_refused() -> None:
    from ac_core.env.core import EnvStateError

    env = AssettoCorsaEnv()
    _one_line_error(EnvStateError, lambda: env.step(0), "call reset() before step()")
    env.reset(seed=0)
    env.close()
    env.close()  # a second close does nothing
    _one_line_error(EnvStateError, lambda: env.step(0), "AssettoCorsaEnv.step(): the environment is closed")
    _one_line_error(EnvStateError, lambda: env.reset(), "AssettoCorsaEnv.reset(): the environment is closed")
    assert issubclass(EnvStateError, RuntimeError)


def test_vector_env_misuse_is_named() -> None:
    from ac_core.env.core import EnvStateError, EnvUsageError

    venv = make_vector(3)
    _one_line_error(EnvStateError, lambda: venv.step(np.zeros(3, dtype=np.int64)), "reset() before the first step()")
    venv.reset(seed=0)
    n = A.N_DISCRETE_ACTIONS
    for actions, problem in [(np.zeros(3), "dtype float64"), (np.zeros(4, dtype=np.int64), "shape (4,)"),
                             (np.zeros((3, 1), dtype=np.int64), "shape (3, 1)"), ([0, 1, n], f"action {n} (car 2)"),
                             (5, "shape ()")]:
        _one_line_error(EnvUsageError, lambda a=actions: venv.step(a), "RacingVectorEnv.step()", problem)
    _one_line_error(EnvUsageError, lambda: venv.reset(options={"random_start": 1}), "RacingVectorEnv.reset()")
    assert venv.step([0, 1, 2])[0].shape == (3, venv.single_observation_space.shape[0])  # a list of ints is fine
    venv.close()
    _one_line_error(EnvStateError, lambda: venv.step(np.zeros(3, dtype=np.int64)), "the environment is closed")
    _one_line_error(EnvStateError, lambda: venv.reset(), "the environment is closed")
    cont = make_vector(2, action_set="continuous")
    cont.reset(seed=0)
    _one_line_error(EnvUsageError, lambda: cont.step(np.zeros(2)), "shape (2,)", "use an array of shape (2, 3)")
    cont.close()


def test_misuse_through_gymnasium_make_reaches_the_env_check() -> None:
    from ac_core.env.core import EnvUsageError

    env = gymnasium.make("ac_core/AssettoCorsa-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"AssettoCorsaEnv\.step\(\): the action is 2\.5 \(float\), not an integer"):
        env.step(2.5)
    assert issubclass(EnvUsageError, ValueError)
    env.close()
