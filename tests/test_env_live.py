"""The live backends against pages the project writes: the real-AC backend with a fake game (a
page publisher thread) and the pad feeder, and the sim-live backend with the simulator process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from ac_core import _testing
from ac_core import pages as P
from ac_core.env import AssettoCorsaEnv, EnvConfigError
from ac_core.env.backends.live import AcBackend, GameStoppedError
from ac_core.env.core import RacingCore
from ac_core.env.settings import make_settings
from ac_core.testing.page_publisher import PagePublisher


class FakeAc:
    """Publishes given pages and advances physics.packetId at ~333 Hz; watches the pad for buttons."""

    def __init__(self, prefix: str, physics: np.ndarray, graphics: np.ndarray, static: np.ndarray) -> None:
        self.pub = PagePublisher(prefix)
        self.pub.physics[...] = physics
        self.pub.graphics[...] = graphics
        self.pub.static[...] = static
        self.pub.graphics["status"] = int(P.AcStatus.LIVE)
        self.pub.publish()
        self.prefix = prefix
        self.running = threading.Event()
        self.running.set()
        self.stop_flag = threading.Event()
        self.buttons_seen: set[int] = set()
        self.longest_press_s = 0.0  # longest stretch any button was held, by this thread's clock
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pad = _testing.PadLink(self.prefix, 0.01)
        pressed_since: float | None = None
        while not self.stop_flag.is_set():
            if self.running.is_set():
                self._publish_next()
            snap = pad.poll()
            now = time.monotonic()
            if snap is not None and snap["buttons"]:
                self.buttons_seen.add(int(snap["buttons"]))
                pressed_since = now if pressed_since is None else pressed_since
                self.longest_press_s = max(self.longest_press_s, now - pressed_since)
            elif snap is not None:
                pressed_since = None
            time.sleep(0.003)

    def _publish_next(self) -> None:
        self.pub.physics["packetId"] += 1
        self.pub.publish("physics")

    def close(self) -> None:
        self.stop_flag.set()
        self.thread.join()
        self.pub.close()


@contextmanager
def fake_game_on_track(prefix: str, fake_type: type[FakeAc] = FakeAc) -> Iterator[tuple[FakeAc, np.ndarray]]:
    """A FakeAc (or ``fake_type``) publishing a flying-start car on the built-in Spa (pages from the
    in-process sim); yields it with the sim's first observation."""
    sim_env = AssettoCorsaEnv(lap_start="flying")
    obs, _ = sim_env.reset(seed=0)
    b = sim_env.core.backend
    fake = fake_type(prefix, b.physics[0], b.graphics[0], b.static)
    try:
        yield fake, obs
    finally:
        fake.close()
        sim_env.close()


def _ac_settings(prefix: str, **kw):
    return make_settings(**{"backend": "ac", "prefix": prefix, "track_file": "spa", "feeder": "pad",
                            "reset_timeout_s": 5.0, **kw})


def test_same_page_same_observation_on_sim_and_ac_backends(prefix: str) -> None:
    with fake_game_on_track(prefix) as (fake, obs_sim):
        core = RacingCore(_ac_settings(prefix, lap_start="flying"), backend=AcBackend(_ac_settings(prefix)))
        try:
            obs_ac = core.reset(np.zeros(1, dtype=np.int64), np.random.default_rng(0))[0]
        finally:
            core.close()
        assert 4 in fake.buttons_seen, "reset pressed AC's restart button (button 3 = bit 2)"
    assert np.allclose(obs_ac, obs_sim, atol=1e-5), np.flatnonzero(~np.isclose(obs_ac, obs_sim, atol=1e-5))


def test_restart_button_is_held_for_restart_hold_s(prefix: str) -> None:
    # Content Manager can ignore system buttons released before its hold delay (0.45 s by default).
    with fake_game_on_track(prefix) as (fake, _):
        settings = _ac_settings(prefix, lap_start="flying", restart_hold_s=0.6)
        core = RacingCore(settings, backend=AcBackend(settings))
        try:
            core.reset(np.zeros(1, dtype=np.int64), np.random.default_rng(0))
        finally:
            core.close()
        assert 4 in fake.buttons_seen
        assert fake.longest_press_s >= 0.5, f"held {fake.longest_press_s:.3f} s"


def test_ac_backend_rejects_another_car_or_track(prefix: str) -> None:
    static = P.empty_page("static")
    P.set_text(static, "carModel", "ks_ferrari_sf15t")
    P.set_text(static, "track", "monza")
    fake = FakeAc(prefix, P.empty_page("physics"), P.empty_page("graphics"), static)
    try:
        with pytest.raises(EnvConfigError) as e:
            AcBackend(make_settings(backend="ac", prefix=prefix, feeder="pad", car="FormulaAlpha2022", track="spa"))
        msg = str(e.value)
        assert "ks_ferrari_sf15t" in msg and "monza" in msg and "env.car" in msg
    finally:
        fake.close()


def test_ac_backend_missing_game_says_what_to_start(prefix: str) -> None:
    with pytest.raises(GameStoppedError, match="ac-core sim"):
        AcBackend(_ac_settings(prefix))


def test_ac_backend_reports_a_game_that_stops(prefix: str) -> None:
    with fake_game_on_track(prefix) as (fake, _):
        env = AssettoCorsaEnv(_ac_settings(prefix, reset_timeout_s=0.5))
        try:
            env.reset(seed=0)
            _, _, _, _, info = env.step(13)
            assert "timing" in info and info["timing"]["packet_id"] > 0
            fake.running.clear()  # the game freezes
            with pytest.raises(GameStoppedError, match="stopped"):
                env.step(13)
        finally:
            env.close()


def _set_status(fake: FakeAc, status: P.AcStatus, *, packets: bool) -> None:
    """What AC does on Esc: graphics.status says AC_PAUSE and physics.packetId stops (and back)."""
    fake.pub.graphics["status"] = int(status)
    fake.pub.publish("graphics")
    if packets:
        fake.running.set()
    else:
        fake.running.clear()


def test_ac_backend_waits_out_a_pause_but_reports_a_game_that_stops(prefix: str) -> None:
    with fake_game_on_track(prefix) as (fake, _):
        _pause_then_stop(fake, prefix)


def _pause_then_stop(fake: FakeAc, prefix: str) -> None:
    # Timeouts far below the defaults (20 s, 1 h) keep the test short; the pause outlasts reset_timeout_s 3×.
    env = AssettoCorsaEnv(_ac_settings(prefix, reset_timeout_s=0.5, pause_timeout_s=3.0))
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step(13)
        assert info["timing"]["paused_s"] == 0.0

        # A pause longer than reset_timeout_s, then a resume: the step waits and returns normally.
        _set_status(fake, P.AcStatus.PAUSE, packets=False)
        resume = threading.Timer(1.5, _set_status, (fake, P.AcStatus.LIVE), {"packets": True})
        resume.start()
        t0 = time.monotonic()
        _, _, term, trunc, info = env.step(13)
        resume.join()
        assert time.monotonic() - t0 >= 1.4 and not term and not trunc
        assert 1.0 <= info["timing"]["paused_s"] <= 3.0, info["timing"]
        # Episode time counts physics ticks: two steps, however long the wall clock says they took.
        assert info["episode_time"] == pytest.approx(2 * env.core.settings.step_seconds)

        # A pause past pause_timeout_s says so (not "stopped"); the env steps again after the resume.
        _set_status(fake, P.AcStatus.PAUSE, packets=False)
        with pytest.raises(GameStoppedError, match="paused for more than 3 s"):
            env.step(13)
        _set_status(fake, P.AcStatus.LIVE, packets=True)
        env.step(13)

        # Packets stop while the game says it is live: that is a stopped game.
        _set_status(fake, P.AcStatus.LIVE, packets=False)
        with pytest.raises(GameStoppedError, match="stopped") as e:
            env.step(13)
        assert "not paused" in str(e.value)  # the stop path (reset_timeout_s), not the pause timeout
    finally:
        env.close()


def test_pause_timeout_setting_is_checked() -> None:
    assert make_settings().pause_timeout_s > make_settings().reset_timeout_s
    assert make_settings(pause_timeout_s=0).pause_timeout_s == 0.0  # 0 = wait for ever
    with pytest.raises(EnvConfigError, match="pause_timeout_s"):
        make_settings(pause_timeout_s=-1)


def live_check_env(env: AssettoCorsaEnv) -> None:
    """gymnasium's check_env without its two determinism checks: a car in a real-time process keeps
    moving while the agent waits, so two runs with one seed cannot see bit-identical pages."""
    from gymnasium.utils import env_checker as C
    from gymnasium.utils.passive_env_checker import env_reset_passive_checker, env_step_passive_checker

    C.check_action_space(env.action_space)
    C.check_observation_space(env.observation_space)
    C.check_reset_return_type(env)
    C.check_reset_return_info_deprecation(env)
    C.check_reset_options(env)
    env_reset_passive_checker(env)
    env_step_passive_checker(env, env.action_space.sample())


def test_sim_live_backend_drives_the_simulator_process() -> None:
    env = AssettoCorsaEnv(backend="sim-live", lap_start="flying", time_scale=4.0)
    try:
        live_check_env(env)
        env.reset(seed=0)
        speeds = []
        for _ in range(30):
            _, _, term, trunc, info = env.step(3 * 4 + 0)  # full throttle, straight
            speeds.append(info["speed_kmh"])
            if term or trunc:
                break
        assert info["timing"]["packet_id"] > 0 and np.isfinite(info["timing"]["lateness_ms"])
        assert max(speeds) > 150
    finally:
        env.close()
