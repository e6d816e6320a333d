"""Built-in simulator: physics sanity, determinism, page consistency, options (C++ core via ac_core.sim)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ac_core import _core
from ac_core.pages import AcStatus, decode_utf16
from ac_core.sim import CONTROLS_DTYPE, make_sim, native_track, reference_lap
from ac_core.track import track_from_vertices

G = 9.80665


def flat_circle(radius: float = 300.0, half_width: float = 12.0, runoff: float = 40.0):
    """A flat closed circle (driven counter-clockwise, i.e. turning left)."""
    n = 240
    a = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    v = np.zeros((n, 7))
    v[:, 0] = radius * np.cos(a)
    v[:, 1] = -radius * np.sin(a)
    v[:, 3] = half_width
    v[:, 4] = half_width
    v[:, 5] = runoff
    v[:, 6] = runoff
    return track_from_vertices(v, name="circle")


@pytest.fixture(scope="module")
def circle():
    return flat_circle()


def test_controls_view_has_the_documented_layout():
    sim = make_sim(3)
    assert sim.controls.dtype == CONTROLS_DTYPE
    assert sim.controls.shape == (3,)
    assert sim.physics.shape == (3,) and sim.graphics.shape == (3,)
    # zero copy: the view writes into the simulator
    sim.controls["throttle"][1] = 0.75
    assert sim.controls["throttle"][1] == pytest.approx(0.75)


def test_no_motion_without_input_on_flat_ground(circle):
    sim = make_sim(1, circle, lap_start="standing")
    p0 = sim.physics[0]["tyreContactPoint"].copy()
    sim.step(3 * 333)
    ph = sim.physics[0]
    assert ph["speedKmh"] < 1e-3
    assert np.abs(ph["tyreContactPoint"] - p0).max() < 1e-3
    assert ph["packetId"] == 999


def test_coasting_decelerates(circle):
    sim = make_sim(1, circle, lap_start="standing")
    sim.teleport(0, 100.0, 0.0, 0.0, 60.0)
    speeds = []
    for _ in range(20):
        sim.step(33)
        speeds.append(float(sim.physics[0]["speedKmh"]))
    assert all(b < a for a, b in itertools.pairwise(speeds))
    decel = (speeds[0] - speeds[-1]) / 3.6 / (19 * 33 / 333.0)
    assert 1.0 < decel < 15.0  # drag + rolling resistance + engine braking, m/s^2


def test_full_lock_at_low_speed_turns_a_plausible_circle():
    big = flat_circle(radius=400.0, half_width=40.0, runoff=60.0)
    sim = make_sim(1, big, lap_start="standing")
    sim.teleport(0, 0.0, 0.0, 0.0, 8.0)
    radii = []
    for i in range(3 * 333):
        v = float(sim.physics[0]["speedKmh"]) / 3.6
        sim.controls[0] = (-1.0, float(np.clip(0.3 * (8.0 - v), 0, 1)), 0.0, 0.0, 0, 0)
        sim.step(1)
        if i > 333:
            yaw_rate = float(sim.physics[0]["localAngularVel"][1])
            radii.append(v / abs(yaw_rate))
    radius = float(np.median(radii))
    # kinematic wheelbase / lock = 3.6 / 0.35 = 10.3 m; an F1 car needs ~8-20 m
    assert 8.0 < radius < 20.0
    assert sim.physics[0]["localAngularVel"][1] > 0  # steer < 0 (left) turns left (+ yaw rate)


def run_random(seed: int, steps: int = 200) -> tuple[bytes, bytes]:
    rng = np.random.default_rng(seed)
    sim = make_sim(2, "spa", lap_start="flying")
    for _ in range(steps):
        c = sim.controls
        c["steer"] = rng.uniform(-0.2, 0.2, 2)
        c["throttle"] = rng.uniform(0, 1, 2)
        c["brake"] = (rng.uniform(0, 1, 2) > 0.8) * 0.5
        sim.step(4)
    return sim.physics.tobytes(), sim.graphics.tobytes()


def test_same_start_and_controls_give_bit_identical_pages():
    assert run_random(7) == run_random(7)
    assert run_random(7) != run_random(8)


def test_cars_in_a_batch_are_independent_and_identical_with_equal_inputs():
    sim = make_sim(4, "spa")
    sim.controls["throttle"] = 1.0
    sim.controls["steer"][3] = 0.2
    sim.step(100)
    ph = sim.physics
    assert ph[0].tobytes() == ph[1].tobytes() == ph[2].tobytes()
    assert ph[3].tobytes() != ph[0].tobytes()


def test_page_fields_are_consistent():
    sim = make_sim(1, "spa", lap_start="flying")
    driver = _core.ReferenceDriver(native_track("spa"), sim)
    for _ in range(3 * 333):
        driver.drive(sim, 0)
        sim.step(1)
    ph, gr, st = sim.physics[0], sim.graphics[0], sim.static
    state, prog = sim.state(0), sim.progress(0)
    assert ph["speedKmh"] == pytest.approx(float(np.linalg.norm(ph["velocity"])) * 3.6, rel=1e-5)
    assert gr["normalizedCarPosition"] == pytest.approx(prog["s"] / sim.track_length, abs=1e-6)
    assert ph["gear"] == state["gear"] + 1  # AC: 0 = R, 1 = N, 2 = 1st
    assert ph["rpms"] == pytest.approx(state["engine_rpm"], abs=1)
    assert gr["carCoordinates"][0] == pytest.approx(state["x"], abs=1e-2)
    assert gr["carCoordinates"][2] == pytest.approx(state["z"], abs=1e-2)
    # The body frame is pitched and rolled on its springs: forward differs from vx by a cosine.
    assert ph["localVelocity"][2] == pytest.approx(state["vx"], rel=1e-3)
    assert ph["accG"][2] == pytest.approx(state["ax"] / G, rel=1e-4, abs=1e-5)
    assert ph["localAngularVel"][1] == pytest.approx(state["r"], rel=1e-5, abs=1e-6)
    assert ph["heading"] == pytest.approx(state["yaw"], abs=1e-6)
    # heading convention: forward = (sin psi, cos psi) in (x, z)
    v = ph["velocity"]
    assert math.atan2(v[0], v[2]) == pytest.approx(float(ph["heading"]), abs=0.1)
    assert gr["status"] == AcStatus.LIVE
    assert ph["wheelLoad"].sum() > 805 * G  # with downforce
    assert gr["iCurrentTime"] > 0 and decode_utf16(gr["currentTime"]).count(":") == 2
    assert decode_utf16(st["smVersion"]) == "1.7"
    assert decode_utf16(st["carModel"]) == "FormulaAlpha2022"
    assert decode_utf16(st["track"]) == "spa"
    assert st["sectorCount"] == 3
    assert st["trackSPlineLength"] == pytest.approx(sim.track_length, rel=1e-6)
    assert st["maxRpm"] > 12000 and st["maxPower"] > 700e3 and st["tyreRadius"][0] == pytest.approx(0.36)
    assert st["hasDRS"] == 1


def test_lap_and_sector_times_add_up():
    sim = make_sim(1, "spa", lap_start="flying")
    driver = _core.ReferenceDriver(native_track("spa"), sim)
    sectors: list[int] = []
    last_sector = int(sim.graphics[0]["currentSectorIndex"])
    for _ in range(130 * 333):
        driver.drive(sim, 0)
        sim.step(1)
        gr = sim.graphics[0]
        if int(gr["currentSectorIndex"]) != last_sector:
            last_sector = int(gr["currentSectorIndex"])
            if sim.progress(0)["timing"] and (sectors or last_sector == 1):
                sectors.append(int(gr["lastSectorTime"]))
        if gr["completedLaps"] == 1:
            break
    gr = sim.graphics[0]
    assert gr["completedLaps"] == 1
    assert len(sectors) == 3
    assert sum(sectors) == pytest.approx(int(gr["iLastTime"]), abs=4)
    assert gr["iBestTime"] == gr["iLastTime"]
    ms = int(gr["iLastTime"])
    assert decode_utf16(gr["lastTime"]) == f"{ms // 60000}:{(ms // 1000) % 60:02d}:{ms % 1000:03d}"
    assert gr["iCurrentTime"] < 1000  # the next lap just began


def test_lap_starts():
    length = make_sim(1, "spa").track_length
    standing = make_sim(1, "spa", lap_start="standing")
    assert standing.physics[0]["speedKmh"] == pytest.approx(0.0, abs=1e-3)
    assert standing.progress(0)["timing"]
    standing.step(333)
    assert standing.graphics[0]["iCurrentTime"] == pytest.approx(1000, abs=5)
    flying = make_sim(1, "spa", lap_start="flying")
    assert flying.physics[0]["speedKmh"] == pytest.approx(220.0, abs=0.5)
    assert flying.graphics[0]["normalizedCarPosition"] == pytest.approx(1 - 300.0 / length, abs=1e-3)
    assert not flying.progress(0)["timing"]
    pit = make_sim(1, "spa", lap_start="pit_out")
    assert pit.physics[0]["speedKmh"] == pytest.approx(80.0, abs=0.5)


def test_bad_options_are_rejected_with_the_valid_values():
    with pytest.raises(ValueError, match="clear"):
        make_sim(1, "spa", weather="snow")
    with pytest.raises(ValueError, match="pit_out"):
        make_sim(1, "spa", lap_start="rolling")
    options = _core.SimOptions()
    options.weather = "fog"
    with pytest.raises(ValueError, match="valid values"):  # the C++ check, for callers bypassing make_sim
        _core.SimBatch(1, native_track("spa"), _core.VehicleParams(), options)


def test_wet_weather_lowers_grip():
    wet = make_sim(1, "spa", weather="wet")
    assert wet.graphics[0]["surfaceGrip"] == pytest.approx(0.68)
    assert make_sim(1, "spa").graphics[0]["surfaceGrip"] == pytest.approx(1.0)


def test_barrier_hit_costs_speed_and_adds_damage(circle):
    sim = make_sim(1, circle, lap_start="standing")
    # aim 25 degrees to the right of the track direction at 50 m/s: into the right barrier
    sim.teleport(0, 50.0, -5.0, -0.45, 50.0)
    out_seen = False
    for _ in range(2 * 333):
        sim.step(1)
        out_seen |= sim.physics[0]["numberOfTyresOut"] > 0
        if sim.progress(0)["collisions"]:
            break
    assert out_seen
    assert sim.progress(0)["collisions"] >= 1
    ph = sim.physics[0]
    assert ph["carDamage"].sum() > 0
    assert ph["carDamage"][3] > 0  # right side
    assert ph["speedKmh"] < 180.0 - 1.0
    lateral = sim.progress(0)["lateral"]
    assert -(12.0 + 40.0) < lateral < 12.0


def test_off_track_grip_is_lower(circle):
    on = make_sim(1, circle, lap_start="standing")
    off = make_sim(1, circle, lap_start="standing")
    on.teleport(0, 0.0, 0.0, 0.0, 25.0)
    off.teleport(0, 0.0, 25.0, 0.0, 25.0)  # on the run-off (grass/gravel), left of the track
    for sim in (on, off):
        sim.controls[0] = (-0.5, 0.3, 0.0, 0.0, 0, 0)
        sim.step(200)
    assert off.physics[0]["numberOfTyresOut"] == 4
    assert abs(off.physics[0]["accG"][0]) < 0.8 * abs(on.physics[0]["accG"][0])


def test_pause_freezes_physics_and_packet_id():
    sim = make_sim(1, "spa")
    sim.step(10)
    pid = int(sim.physics[0]["packetId"])
    sim.paused = True
    sim.step(10)
    assert sim.physics[0]["packetId"] == pid
    assert sim.graphics[0]["status"] == AcStatus.PAUSE
    sim.paused = False
    sim.step(1)
    assert sim.physics[0]["packetId"] == pid + 1


def test_manual_gearbox_obeys_shift_requests():
    sim = make_sim(1, "spa", lap_start="standing", auto_shift=False)
    assert sim.physics[0]["gear"] == 1  # neutral
    sim.controls[0] = (0.0, 0.5, 0.0, 0.0, 1, 0)
    sim.step(1)
    sim.controls["shift"] = 0
    assert sim.physics[0]["gear"] == 2  # 1st
    sim.step(333)
    assert sim.physics[0]["speedKmh"] > 20
    assert sim.physics[0]["gear"] == 2  # no automatic upshift


def test_reference_lap_in_the_wet_is_slower():
    dry = reference_lap("spa")
    wet = reference_lap("spa", weather="wet")
    assert dry.completed and wet.completed
    assert wet.lap_time_s > dry.lap_time_s + 5.0


def test_wild_inputs_never_produce_non_finite_pages():
    from ac_core.pages import non_finite_fields

    rng = np.random.default_rng(3)
    sim = make_sim(8, "spa", lap_start="flying", auto_shift=False)
    # some cars backwards, some sideways, one at standstill
    sim.teleport(1, 500.0, 0.0, math.pi, 30.0)
    sim.teleport(2, 1000.0, 3.0, math.pi / 2, 60.0)
    sim.teleport(3, 1500.0, 0.0, 0.0, 0.0)
    for _ in range(1500):
        c = sim.controls
        c["steer"] = rng.uniform(-1.5, 1.5, 8)  # out of range on purpose: clamped
        c["throttle"] = rng.uniform(0, 1, 8)
        c["brake"] = rng.uniform(0, 1, 8) * (rng.uniform(0, 1, 8) > 0.7)
        c["clutch"] = rng.uniform(0, 1, 8) * (rng.uniform(0, 1, 8) > 0.9)
        c["shift"] = rng.integers(-1, 2, 8) * (rng.uniform(0, 1, 8) > 0.95)
        sim.step(4)
    for car in range(8):
        assert non_finite_fields(sim.physics[car]) == []
        assert non_finite_fields(sim.graphics[car]) == []
        assert abs(sim.progress(car)["lateral"]) < 60.0  # the barriers hold
        assert sim.physics[car]["speedKmh"] < 400.0


def test_non_finite_controls_are_treated_as_released():
    from ac_core.pages import non_finite_fields

    sim = make_sim(1, "spa")
    sim.controls[0] = (np.nan, np.inf, np.nan, -np.inf, 0, 0)
    sim.step(100)
    assert non_finite_fields(sim.physics[0]) == []
    assert sim.physics[0]["gas"] == 0.0 and sim.physics[0]["steerAngle"] == 0.0
