"""CSP Custom AI: page layouts against a table written from the research file, every control and flag
through the simulator's implementation, teleport resets, pause/resume stepping, the heartbeat and
watchdog, each error, and the ``csp`` environment backend end to end against ``ac-core sim``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from ac_core import _core, csp
from ac_core.env import AssettoCorsaEnv, EnvConfigError
from ac_core.env.backends.live import GameStoppedError
from ac_core.env.settings import make_settings
from ac_core.sim import SimOptions, VehicleParams, native_track

# (field, offset, size in bytes), from research/csp_custom_ai.md §4 — independent of the C++ structs.
CONTROLS = [
    ("gas", 0, 4), ("brake", 4, 4), ("clutch", 8, 4), ("steer", 12, 4), ("handbrake", 16, 4), ("gear_up", 20, 1),
    ("gear_dn", 21, 1), ("drs", 22, 1), ("kers", 23, 1), ("brake_balance_up", 24, 1), ("brake_balance_dn", 25, 1),
    ("abs_up", 26, 1), ("abs_dn", 27, 1), ("tc_up", 28, 1), ("tc_dn", 29, 1), ("turbo_up", 30, 1), ("turbo_dn", 31, 1),
    ("engine_brake_up", 32, 1), ("engine_brake_dn", 33, 1), ("mguk_delivery_up", 34, 1), ("mguk_delivery_dn", 35, 1),
    ("mguk_recovery_up", 36, 1), ("mguk_recovery_dn", 37, 1), ("mguh_mode", 38, 1), ("headlights", 39, 1),
    ("teleport_to", 40, 1), ("autoclutch_on_start", 41, 1), ("autoclutch_on_change", 42, 1),
    ("autoblip_active", 43, 1), ("teleport_pos", 44, 12), ("teleport_dir", 56, 12), ("autoshift_active", 68, 1),
]  # fmt: skip
CAR = [
    ("packet_id", 0, 4), ("gas", 4, 4), ("brake", 8, 4), ("clutch", 12, 4), ("steer", 16, 4), ("handbrake", 20, 4),
    ("fuel", 24, 4), ("gear", 28, 4), ("rpm", 32, 4), ("speed_kmh", 36, 4), ("velocity", 40, 12), ("acc_g", 52, 12),
    ("look", 64, 12), ("up", 76, 12), ("position", 88, 12), ("local_velocity", 100, 12),
    ("local_angular_velocity", 112, 12), ("cg_height", 124, 4), ("car_damage", 128, 20), ("wheels", 148, 480),
    ("turbo_boost", 628, 4), ("final_ff", 632, 4), ("final_pure_ff", 636, 4), ("pit_limiter", 640, 1),
    ("abs_in_action", 641, 1), ("traction_control_in_action", 642, 1), ("lap_time_ms", 644, 4),
    ("best_lap_time_ms", 648, 4), ("drivetrain_torque", 652, 4), ("spline_position", 656, 4),
    ("collision_depth", 660, 4), ("collision_counter", 664, 4), ("wheels_valid_surface", 668, 4),
]  # fmt: skip
WHEEL = [
    ("position", 0, 12), ("contact_point", 12, 12), ("contact_normal", 24, 12), ("look", 36, 12), ("side", 48, 12),
    ("velocity", 60, 12), ("slip_ratio", 72, 4), ("load", 76, 4), ("pressure", 80, 4), ("angular_velocity", 84, 4),
    ("wear", 88, 4), ("dirty_level", 92, 4), ("core_temperature", 96, 4), ("camber_rad", 100, 4),
    ("disc_temperature", 104, 4), ("slip", 108, 4), ("slip_angle_deg", 112, 4), ("nd_slip", 116, 4),
]  # fmt: skip
CAR_PUBLIC = [
    ("packet_id", 0, 4), ("steer", 4, 4), ("rpm", 8, 4), ("spline_position", 12, 4), ("speed_kmh", 16, 4),
    ("velocity", 20, 12), ("acc_g", 32, 12), ("look", 44, 12), ("up", 56, 12), ("position", 68, 12),
    ("car_damage", 80, 20), ("is_braking", 100, 1),
]  # fmt: skip
SIM_STATE_V1 = [("pause", 0, 1), ("restart_session", 1, 1), ("disable_collisions", 2, 1), ("extra_sleep_ms", 3, 1),
                ("time_scale", 4, 4)]  # fmt: skip


def _layout(dtype: np.dtype) -> list[tuple[str, int, int]]:
    return [(name, dtype.fields[name][1], dtype.fields[name][0].itemsize) for name in dtype.names]


@pytest.mark.parametrize(
    ("kind", "table", "size"),
    [("controls", CONTROLS, 72), ("car", CAR, 672), ("car_public", CAR_PUBLIC, 104), ("sim_state_v1", SIM_STATE_V1, 8),
     ("sim_state_v0", SIM_STATE_V1[:4], 4)],
)  # fmt: skip
def test_page_layouts_match_the_research_table(kind: str, table: list, size: int) -> None:
    dtype = csp.DTYPES[kind]
    assert dtype.itemsize == size
    assert _layout(dtype) == table


def test_wheel_layout_and_names() -> None:
    assert _layout(csp.WHEEL_DTYPE) == WHEEL and csp.WHEEL_DTYPE.itemsize == 120
    assert csp.page_name("controls") == "AcTools.CSP.NewBehaviour.CustomAI.CarControls0.v0"
    assert csp.page_name("sim_state_v1", 3, "x_") == "x_AcTools.CSP.NewBehaviour.CustomAI.SimState.v1"
    assert csp.csp_prefix_for("acpmf_") == "" and csp.csp_prefix_for("acsim1_") == "acsim1_"
    assert "drs" in csp.bool_fields("controls") and "mguh_mode" not in csp.bool_fields("controls")
    with pytest.raises(ValueError, match="valid: controls"):
        csp.page_name("cars")


class SimThread:
    """The simulator's real-time loop serving CSP pages in a thread (as `ac-core sim --protocol csp`)."""

    def __init__(self, prefix: str, lap_start: str = "flying", auto_shift: bool = True) -> None:
        opts = SimOptions()
        opts.lap_start = lap_start
        opts.auto_shift = auto_shift
        self.runner = _core.RealtimeRunner(native_track("spa"), VehicleParams(), opts, prefix=prefix, pad=False,
                                           csp=True, csp_prefix=prefix)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.runner.run_for(0.02)

    def stop(self) -> dict:
        self._stop.set()
        self.runner.stop()
        self._thread.join()
        return self.runner.csp_stats

    def close(self) -> None:
        if not self._stop.is_set():
            self.stop()
        self.runner.close()


@pytest.fixture
def sim(prefix: str) -> Iterator[SimThread]:
    s = SimThread(prefix)
    yield s
    s.close()


@pytest.fixture
def session(prefix: str, sim: SimThread) -> Iterator[csp.CspSession]:
    sess = csp.CspSession(prefix=prefix)
    sess.wait_for_car(5.0)
    yield sess
    sess.close()


def test_every_control_and_flag_reaches_the_simulator(sim: SimThread, session: csp.CspSession) -> None:
    session.time_scale = 4.0
    session.paused = True
    buttons = csp.CspSession.button_names()
    assert "gear_up" in buttons and "headlights" not in buttons and "autoshift_active" not in buttons
    for name in buttons:
        session.press_button(name, 1)
    session.set_control_byte("headlights", 1)
    session.set_control_byte("mguh_mode", 3)
    session.set_control_byte("autoblip_active", 0)
    session.write_drive(-0.5, 0.25, 0.125, 0.75, 0.5)
    session.set_disable_collisions(True)
    session.set_extra_sleep_ms(7)
    session.set_restart_session(True)
    session.step_paused(2)
    session.set_restart_session(False)
    session.set_extra_sleep_ms(0)
    session.step_paused(2)
    session.paused = False  # while paused the page holds safe controls; running, the caller's
    session.wait_ticks(3)
    stats = sim.stop()
    assert all(stats["edges"][name] == 1 for name in buttons), stats["edges"]
    last = stats["last_controls"]
    assert last["headlights"] == 1 and last["mguh_mode"] == 3 and last["autoblip_active"] == 0
    assert last["autoshift_active"] == 1 and last["autoclutch_on_start"] == 1
    drive = (last["steer"], last["gas"], last["brake"], last["clutch"], last["handbrake"])
    assert drive == (-0.5, 0.25, 0.125, 0.75, 0.5)
    assert stats["restarts"] == 1
    state = stats["last_sim_state"]
    assert state["disable_collisions"] == 1 and state["pause"] == 0 and state["time_scale"] == 4.0
    assert sim.runner.effective_time_scale == 4.0
    assert sim.runner.stats["csp_paused_loops"] > 0


def test_gear_buttons_drive_a_manual_gearbox(prefix: str) -> None:
    sim = SimThread(prefix, lap_start="standing", auto_shift=False)
    try:
        with_session = csp.CspSession(prefix=prefix, autoshift=False)
        try:
            with_session.wait_for_car(5.0)
            car = csp.empty_page("car")
            with_session.time_scale = 4.0
            with_session.paused = True
            with_session.read_car(car)
            gear0 = int(car["gear"])
            with_session.press_button("gear_up", 2)
            with_session.read_car(car)
            assert int(car["gear"]) == gear0 + 1
            with_session.step_paused(60)  # the gearbox's minimum time between shifts
            with_session.press_button("gear_dn", 2)
            with_session.read_car(car)
            assert int(car["gear"]) == gear0
        finally:
            with_session.close()
    finally:
        sim.close()


def test_pause_step_runs_exactly_k_ticks(session: csp.CspSession) -> None:
    # 30 ms ticks: the pause has a whole tick to land. It is real time (as in the game), so a machine
    # loaded enough to delay this thread by a tick can overshoot; the session counts every extra tick,
    # and most steps must still be exact (all 8 on an idle machine; CI once saw one of 8 at 12 ms ticks).
    session.time_scale = 0.1
    session.write_drive(0.0, 1.0, 0.0)
    ticks = []
    for _ in range(8):
        packet, ran, _wall = session.step_paused(3)
        ticks.append(ran)
        assert session.packet_id == packet
    assert all(ran >= 3 for ran in ticks) and ticks.count(3) >= 6, ticks
    assert session.stats["overshoot_ticks"] == sum(ticks) - 3 * len(ticks)
    frozen = session.packet_id
    time.sleep(0.05)
    assert session.packet_id == frozen  # paused between steps


def test_teleport_resets_to_a_position_and_to_the_pits(session: csp.CspSession) -> None:
    track = native_track("spa")
    x, z, y = track.position(3000.0, 0.0)
    h = track.heading(3000.0)
    session.paused = True
    session.teleport([x, y, z], [np.sin(h), 0.0, np.cos(h)])
    assert session.paused
    car = csp.empty_page("car")
    session.read_car(car)
    assert np.hypot(car["position"][0] - x, car["position"][2] - z) < 1.0 and car["speed_kmh"] < 2.0
    session.teleport_to_pits()
    session.read_car(car)
    assert car["speed_kmh"] < 2.0
    with pytest.raises(csp.CspError, match="did not move car 0") as e:
        session.teleport([x + 5000.0, y, z + 5000.0], [0.0, 0.0, 1.0], timeout_s=0.3)
    assert e.value.code == "not_moved"
    with pytest.raises(ValueError, match="zero vector"):
        session.teleport([x, y, z], [0.0, 0.0, 0.0])


def test_heartbeat_brakes_when_the_caller_stalls(prefix: str, sim: SimThread) -> None:
    session = csp.CspSession(prefix=prefix, heartbeat_interval_s=0.01, stall_timeout_s=0.1)
    try:
        session.wait_for_car(5.0)
        session.write_drive(0.3, 1.0, 0.0)
        beat = session.heartbeat
        time.sleep(0.35)
        assert session.heartbeat > beat
        assert session.stats["stall_brakes"] >= 1
        page = np.frombuffer(_core.SharedPage.open(session.page_name(csp.CspPageKind.CAR_CONTROLS)), dtype=np.uint8)
        controls = page[:72].view(csp.CONTROLS_DTYPE)[0]
        assert controls["gas"] == 0.0 and controls["brake"] == 1.0 and controls["steer"] == 0.0
        assert session.staged_drive["gas"] == 1.0  # what the caller asked for is kept for its next write
    finally:
        session.close()


WATCHED_CHILD = """
import sys, time
from ac_core import csp
from ac_core.csp import watchdog
session = csp.CspSession(prefix=sys.argv[1])
session.write_drive(0.0, 1.0, 0.0)  # full throttle, running
proc = watchdog.spawn(sys.argv[1], 0, 1, timeout_s=0.2, linger_s=0.2)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_watchdog_brakes_the_car_when_the_trainer_is_killed(prefix: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", WATCHED_CHILD, prefix], stdout=subprocess.PIPE, text=True)
    name = csp.page_name("controls", 0, prefix)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        page = _core.SharedPage.open(name)
        controls = np.frombuffer(page, dtype=np.uint8)[:72].view(csp.CONTROLS_DTYPE)
        assert controls["gas"][0] == 1.0
        time.sleep(0.3)  # the watchdog has attached and seen the heartbeat
        child.send_signal(signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 5.0
        while controls["gas"][0] != 0.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert controls["gas"][0] == 0.0 and controls["brake"][0] == 1.0
        page.close()
    finally:
        if child.poll() is None:
            child.kill()
        for kind in ("controls", "sim_state_v1"):  # the killed owner could not remove its pages
            if _core.SharedPage.exists(csp.page_name(kind, 0, prefix)):
                _core.SharedPage.create(csp.page_name(kind, 0, prefix), 4096, replace_stale=True).close()


def test_errors_name_the_problem_and_the_fix(prefix: str) -> None:
    session = csp.CspSession(prefix=prefix)
    try:
        with pytest.raises(csp.CspError) as e:
            session.wait_for_car(0.1)
        assert e.value.code == "car_not_found"
        for reason in ("ENABLED=1", "new_behaviour.ini", "ALLOW_CUSTOM_AI_MANIPULATION=1", "surfaces.ini",
                       "cannot be controlled"):
            assert reason in str(e.value)
        with pytest.raises(ValueError, match="'steer' is NaN"):
            session.write_drive(float("nan"), 0.0, 0.0)
        with pytest.raises(ValueError, match=r"valid: .*gear_up"):
            session.press_button("gear_upp")
        with pytest.raises(ValueError, match=r"time_scale must be a positive"):
            session.time_scale = -1.0
        with pytest.raises(ValueError, match=r"0\.\.255"):
            session.set_extra_sleep_ms(300)
    finally:
        session.close()
    with pytest.raises(ValueError, match="sim_state_version 1"):
        csp.CspSession(prefix=prefix, sim_state_version=0).time_scale = 2.0
    with pytest.raises(EnvConfigError, match=r"csp_mode = 'sync' is not valid; choose one of: pause, realtime"):
        make_settings(backend="csp", csp_mode="sync")
    with pytest.raises(EnvConfigError, match="csp_sim_state_version"):
        make_settings(backend="csp", csp_sim_state_version=2)
    with pytest.raises(EnvConfigError, match=r"time_scale = 4\.0 needs csp_sim_state_version 1"):
        make_settings(backend="csp", csp_sim_state_version=0, time_scale=4)
    assert make_settings(backend="csp", lap_start="random").lap_start == "random"


def test_step_reports_a_stopped_game(prefix: str) -> None:
    sim = SimThread(prefix)
    session = csp.CspSession(prefix=prefix)
    try:
        session.wait_for_car(5.0)
        sim.stop()  # the game freezes: packet_id stops
        with pytest.raises(csp.CspError, match="no new physics tick") as e:
            session.wait_ticks(3, timeout_s=0.2)
        assert e.value.code == "game_stopped"
    finally:
        session.close()
        sim.close()


def test_doctor_sees_usable_custom_ai_pages(prefix: str, session: csp.CspSession) -> None:
    report = csp.probe(prefix, 0, 0.1)
    assert report["usable"] and report["car_live"]
    assert report["pages"]["controls"]["writer_pid"] == os.getpid()
    absent = csp.probe(prefix + "none_", 0, 0.01)
    assert not absent["usable"] and "no Custom AI pages" in absent["state"]


@pytest.mark.parametrize("mode", ["pause", "realtime"])
def test_csp_backend_end_to_end_with_the_simulator_process(mode: str) -> None:
    env = AssettoCorsaEnv(backend="csp", csp_sim=True, csp_mode=mode, time_scale=4.0, lap_start="random",
                          csp_watchdog=False, reset_timeout_s=10.0)
    try:
        _, info = env.reset(seed=3)
        assert info["speed_kmh"] < 2.0  # teleported, at rest
        s0 = info["s"]
        ticks = []
        for _ in range(25):
            _, _, term, trunc, info = env.step(3 * 4 + 0)  # full throttle, straight
            ticks.append(info["timing"]["ticks"])
            assert info["timing"]["ticks_requested"] == env.core.settings.ticks_per_step
            if term or trunc:
                break
        assert info["speed_kmh"] > 30
        assert sum(ticks) >= len(ticks) * env.core.settings.ticks_per_step
        if mode == "pause":
            # Every step ran at least its ticks, and every extra one is counted. Exactness needs the pause
            # to land within a 0.75 ms tick (time scale 4), which a loaded machine misses; it is tested at
            # 30 ms ticks in test_pause_step_runs_exactly_k_ticks.
            k = env.core.settings.ticks_per_step
            assert min(ticks) >= k, ticks
            assert env.core.backend.session.stats["overshoot_ticks"] >= sum(ticks) - k * len(ticks)
        _, info = env.reset(seed=4)
        assert abs(info["s"] - s0) > 1.0 and info["speed_kmh"] < 2.0
    finally:
        env.close()


def test_csp_backend_without_the_game_says_what_to_start() -> None:
    with pytest.raises(GameStoppedError, match="ac-core sim"):
        AssettoCorsaEnv(backend="csp", prefix="acct_nogame_", csp_watchdog=False)


def _raw_page(name: str, size: int) -> tuple[_core.SharedPage, np.ndarray]:
    """A page of exactly `size` bytes, as a third-party client creates it (no trailer)."""
    page = _core.SharedPage.create(name, size, replace_stale=True)
    return page, np.frombuffer(page, dtype=np.uint8)


def _write_controls(raw: np.ndarray, size: int, autoshift: int) -> None:
    full = csp.empty_page("controls")
    full["gas"], full["clutch"] = 1.0, 1.0
    full["autoclutch_on_start"] = full["autoclutch_on_change"] = 1
    full["autoshift_active"] = autoshift
    raw[:size] = np.frombuffer(full.tobytes(), dtype=np.uint8)[:size]  # a shorter struct simply ends earlier


def _car_page(prefix: str, timeout: float) -> np.ndarray | None:
    name = csp.page_name("car", 0, prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _core.SharedPage.exists(name):
            page = _core.SharedPage.open(name)
            return np.frombuffer(page, dtype=csp.DTYPES["car"], count=1)
        time.sleep(0.02)
    return None


@pytest.mark.parametrize(
    ("size", "autoshift", "driven"),
    [(72, 0, "manual"), (68, 0, "automatic"), (64, 1, None)],
    ids=["72-byte", "68-byte-0.1.78", "64-byte"],
)
def test_controls_pages_of_other_sizes(prefix: str, size: int, autoshift: int, driven: str | None) -> None:
    """72 bytes: CSP's struct, autoshift_active as written (0 = the car's box stays manual). 68 bytes:
    CSP 0.1.78's struct (no autoshift_active): accepted, the simulator's own automatic box applies.
    64 bytes: no CSP header declares it (it cuts teleport_dir): refused, with one line saying why."""
    sim = SimThread(prefix, lap_start="standing", auto_shift=True)
    # The pages go with their arrays (garbage collected): closing them would unmap memory that a
    # failing assertion's report may still read.
    try:
        _, state = _raw_page(csp.page_name("sim_state_v1", 0, prefix), 8)
        state.view(np.float32)[1] = 4.0  # time_scale: seconds of driving in a fraction of that
        _, controls = _raw_page(csp.page_name("controls", 0, prefix), size)
        _write_controls(controls, size, autoshift)
        car = _car_page(prefix, 3.0 if driven else 0.6)
        if driven is None:
            assert car is None
            stats = sim.stop()
            assert stats["attaches"] == 0 and stats["refused_controls"] >= 2  # retried, said once
            assert "64 bytes" in stats["last_refusal"] and "72 bytes or more" in stats["last_refusal"]
            assert "\n" not in stats["last_refusal"]
            assert sim.runner.take_notes() == [stats["last_refusal"]]
            return
        assert car is not None
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline and not (driven == "automatic" and car["gear"][0] >= 3):
            time.sleep(0.05)
        speed, gear = float(car["speed_kmh"][0]), int(car["gear"][0])
        stats = sim.stop()
        assert stats["attaches"] == 1 and stats["refused_controls"] == 0
        assert speed > 20.0  # clutch 1 with the autoclutch on: the engine drives the wheels
        if driven == "manual":
            assert gear == 2  # still 1st: autoshift_active 0 is the manual box
        else:
            assert gear >= 3
    finally:
        sim.close()
