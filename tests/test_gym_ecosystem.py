"""The env in the RL ecosystem: Gymnasium's make / make_vec / wrappers / checker, Stable-Baselines3's
make_vec_env and checker, rendering and RecordVideo, and the examples/ scripts run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.utils.passive_env_checker import env_render_passive_checker
from gymnasium.vector import AutoresetMode

from ac_core.env import ENV_ID, AssettoCorsaEnv, RacingVectorEnv, make_vector
from ac_core.env import actions as A
from ac_core.env.render import DisplayError
from ac_core.env.settings import ACTION_SETS
from tests.processes import cli_env

sb3 = pytest.importorskip("stable_baselines3", reason="Stable-Baselines3 is in the test extra: pip install .[test]")
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = {"lookahead_points": 8, "ray_count": 5}  # a short observation: fast checks


@pytest.mark.parametrize("action_set", ACTION_SETS)
def test_gymnasium_and_sb3_checkers_pass_for_every_action_set(action_set: str) -> None:
    env = gym.make(ENV_ID, action_set=action_set, render_mode="rgb_array", **SMALL)
    # The full render check would also open a "human" window: a display this machine may lack; the
    # rgb_array mode is checked as Gymnasium's checker checks each mode.
    gym_check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    env_render_passive_checker(env.unwrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env.unwrapped, warn=True)
    symmetric_advice = [w for w in caught if "symmetric and normalized Box" in str(w.message)]
    assert bool(symmetric_advice) == (action_set == "continuous")  # continuous_pedal is the symmetric option
    env.close()


def test_continuous_pedal_is_symmetric_and_one_axis_drives_both_pedals() -> None:
    env = AssettoCorsaEnv(action_set="continuous_pedal", **SMALL)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    decoded = A.decode_continuous(np.array([[0.3, 0.5], [-1.5, -0.7], [0.0, 0.0]]), "continuous_pedal")
    np.testing.assert_allclose(decoded, [[0.3, 0.5, 0.0], [-1.0, 0.0, 0.7], [0.0, 0.0, 0.0]], atol=1e-6)
    env.reset(seed=0)
    for _ in range(10):
        obs, *_ = env.step(np.array([0.0, 1.0], dtype=np.float32))
    layout = env.core.layout.slices
    assert obs[layout["prev_action"]].tolist() == [0.0, 1.0, 0.0]  # full throttle, no brake
    with pytest.raises(ValueError, match=r"shape \(2,\) of numbers \(steer, pedal\)"):
        env.step(np.zeros(3, dtype=np.float32))
    env.close()


def test_rgb_array_render_is_the_videos_top_down_frame() -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array", **SMALL)
    assert env.metadata["render_fps"] == 20.0
    env.reset(seed=0)
    first = env.render()
    for _ in range(20):
        env.step(0)
    frame = env.render()
    assert frame.shape == (480, 480, 3) and frame.dtype == np.uint8
    assert not np.array_equal(first, frame)  # the view follows the car
    env.close()


def test_render_modes_are_checked_and_human_without_a_display_is_one_line(monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"render_mode = 'rgb' is not valid; use one of: None, 'rgb_array', 'human'"):
        AssettoCorsaEnv(render_mode="rgb")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DisplayError) as err:
        gym.make(ENV_ID, render_mode="human")
    assert "needs a display" in str(err.value) and "rgb_array" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"gymnasium\.wrappers\.vector\.HumanRendering"):
        make_vector(2, render_mode="human")


def test_human_mode_without_an_interactive_backend_says_what_to_install(monkeypatch) -> None:
    import matplotlib

    monkeypatch.setenv("DISPLAY", ":99")  # a display is claimed, but matplotlib can only draw off-screen
    matplotlib.use("agg", force=True)
    env = gym.make(ENV_ID, render_mode="human", disable_env_checker=True, **SMALL)
    with pytest.raises(DisplayError, match="matplotlib's backend is 'agg', which cannot open a window") as err:
        env.reset(seed=0)  # human mode draws at every reset and step
    assert "\n" not in str(err.value)
    env.close()


def test_gymnasiums_make_arguments_given_to_the_env_are_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"'max_episode_steps', which is gymnasium\.make's own"):
        AssettoCorsaEnv(max_episode_steps=10)
    env = gym.make(ENV_ID, max_episode_steps=3, disable_env_checker=True, **SMALL)  # make() takes them
    env.reset(seed=0)
    ends = [env.step(0)[3] for _ in range(3)]
    assert ends == [False, False, True]
    env.close()


def test_sb3_make_vec_env_with_the_env_id_in_process() -> None:
    env = make_vec_env(ENV_ID, n_envs=2, seed=0, vec_env_cls=DummyVecEnv, env_kwargs=SMALL)
    assert env.render_mode == "rgb_array"  # make_vec_env asks for it; the env accepts it
    obs = env.reset()
    obs, rewards, _, infos = env.step(np.zeros(2, dtype=np.int64))
    assert obs.shape == (2, env.observation_space.shape[0]) and rewards.shape == (2,)
    assert all("speed_kmh" in info for info in infos)
    assert env.get_images()[0].shape == (480, 480, 3)
    env.close()


def test_sb3_subproc_vec_env_with_the_module_qualified_id() -> None:
    # Workers start fresh (forkserver): "module:id" makes Gymnasium import the module that registers the id.
    env = make_vec_env(f"ac_core.env:{ENV_ID}", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv, env_kwargs=SMALL)
    try:
        obs = env.reset()
        for _ in range(3):
            obs, _, _, infos = env.step(np.array([0, 0]))
        assert obs.shape == (2, env.observation_space.shape[0])
        assert [info["episode_time"] for info in infos] == pytest.approx([0.15, 0.15], abs=0.01)
    finally:
        env.close()


def test_make_vec_gives_the_batched_simulator_with_gymnasiums_keywords() -> None:
    envs = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", max_episode_steps=4,
                        render_mode="rgb_array", **SMALL)
    assert isinstance(envs, RacingVectorEnv) and envs.num_envs == 3 and envs.core.n == 3
    assert isinstance(gym.make_vec(ENV_ID, num_envs=2, **SMALL), RacingVectorEnv)  # the default mode, too
    envs.reset(seed=0)
    truncated = [envs.step(np.zeros(3, dtype=np.int64))[3].tolist() for _ in range(4)]
    assert truncated == [[False] * 3] * 3 + [[True] * 3]  # max_episode_steps
    frames = envs.render()
    assert len(frames) == 3 and all(f.shape == (480, 480, 3) for f in frames)
    envs.close()


def test_next_step_autoreset_returns_the_last_observation_then_resets() -> None:
    envs = make_vector(2, autoreset_mode=AutoresetMode.NEXT_STEP, max_episode_steps=3, **SMALL)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    first, _ = envs.reset(seed=0)
    for _ in range(3):
        obs, reward, terminated, truncated, infos = envs.step(np.array([0, 0]))
    assert truncated.all() and "final_obs" not in infos and not np.allclose(obs, first)
    assert infos["episode_time"] == pytest.approx([0.15, 0.15], abs=0.01)  # the ended episode's own info
    obs, reward, terminated, truncated, infos = envs.step(np.array([0, 0]))  # the reset step
    np.testing.assert_allclose(obs, first)
    assert reward.tolist() == [0.0, 0.0] and not terminated.any() and not truncated.any()
    assert infos["episode_time"].tolist() == [0.0, 0.0] and infos["reward_progress"].tolist() == [0.0, 0.0]
    obs, reward, *_ = envs.step(np.array([0, 0]))  # and the new episode runs
    assert (reward != 0).all()
    envs.close()


def test_vector_infos_have_masks_and_none_yet_is_the_same_in_both_envs() -> None:
    envs = make_vector(2, max_episode_steps=2, **SMALL)  # SameStep, as the trainer uses
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    _, infos = envs.reset(seed=0)
    for key in [k for k in infos if not k.startswith("_")]:
        assert infos["_" + key].shape == (2,), key
    assert infos["_speed_kmh"].all()
    assert not infos["_last_lap_time"].any() and not infos["_best_lap_time"].any()  # no lap yet
    envs.step(np.array([0, 0]))
    _, _, _, truncated, infos = envs.step(np.array([0, 0]))
    assert truncated.all() and infos["_final_obs"].all() and infos["_final_info"].all()
    assert infos["final_info"]["_episode_time"].all() and not infos["final_info"]["_last_lap_time"].any()
    envs.close()
    env = AssettoCorsaEnv(**SMALL)
    _, info = env.reset(seed=0)
    assert "last_lap_time" not in info and "best_lap_time" not in info and "speed_kmh" in info
    env.close()


@pytest.mark.parametrize("wrap", [
    lambda e: gym.wrappers.vector.NormalizeObservation(e),
    lambda e: gym.wrappers.vector.TransformObservation(e, lambda o: np.clip(o, -1.0, 1.0)),
    lambda e: gym.wrappers.vector.DtypeObservation(e, np.float64),
], ids=["NormalizeObservation", "TransformObservation", "DtypeObservation"])
def test_gymnasiums_vector_observation_wrappers_work_in_next_step_mode(wrap) -> None:
    envs = wrap(make_vector(2, autoreset_mode="NextStep", max_episode_steps=3, **SMALL))
    obs, _ = envs.reset(seed=0)
    for _ in range(5):  # across an autoreset
        obs, *_ = envs.step(np.array([0, 0]))
    assert obs.shape == (2, envs.single_observation_space.shape[0]) and np.isfinite(obs).all()
    assert obs in envs.observation_space
    envs.close()


def test_record_video_writes_a_video(tmp_path: Path) -> None:
    pytest.importorskip("moviepy", reason="Gymnasium's RecordVideo needs moviepy (in the test extra)")
    env = gym.make(ENV_ID, render_mode="rgb_array", max_episode_steps=15, **SMALL)
    env = gym.wrappers.RecordVideo(env, video_folder=str(tmp_path), episode_trigger=lambda episode: True)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000


def _run_example(name: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_example_sb3_ppo_runs_with_subprocess_workers_and_the_plain_id(tmp_path: Path) -> None:
    out = _run_example("sb3_ppo.py", "--steps", "256", "--vec", "subproc", "--save", "ppo.zip", cwd=tmp_path)
    assert "PPO: 256 steps on 2 cars (subproc)" in out and (tmp_path / "ppo.zip").stat().st_size > 0


def test_example_sb3_dqn_runs(tmp_path: Path) -> None:
    assert "DQN: 300 steps" in _run_example("sb3_dqn.py", "--steps", "300", cwd=tmp_path)


def test_example_cleanrl_ppo_runs(tmp_path: Path) -> None:
    out = _run_example("cleanrl_ppo.py", "--steps", "256", "--n-envs", "4", cwd=tmp_path)
    assert "steps 256:" in out


def test_example_record_video_writes_the_video(tmp_path: Path) -> None:
    pytest.importorskip("moviepy", reason="Gymnasium's RecordVideo needs moviepy (in the test extra)")
    out = _run_example("record_video.py", "--out", "videos", "--steps", "60", cwd=tmp_path)
    assert "videos/spa-episode-0.mp4" in out and (tmp_path / "videos" / "spa-episode-0.mp4").stat().st_size > 1000
