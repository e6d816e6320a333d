"""The simulator's physics page as a third-party telemetry tool sees it: read with an independent ctypes
structure written from the AC page spec (research/ac_shared_memory_spec.md, offsets checked below),
not with the project's own dtypes, and checked for physical consistency while the reference driver
laps Spa and while the car launches at full throttle: |localVelocity| against speedKmh, roll against
lateral acceleration, heading against yaw rate, temperatures rising under wheelspin, and no field
constant while the car moves unless docs/simulator.md says why."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np
import pytest

from ac_core import _core
from ac_core.sim import make_sim, native_track

F4 = ctypes.c_float * 4
F3 = ctypes.c_float * 3


class SPageFilePhysics(ctypes.Structure):
    """AC's physics page up to the late tail (712 bytes), field by field from the spec's table."""

    _fields_ = [
        ("packetId", ctypes.c_int32), ("gas", ctypes.c_float), ("brake", ctypes.c_float), ("fuel", ctypes.c_float),
        ("gear", ctypes.c_int32), ("rpms", ctypes.c_int32), ("steerAngle", ctypes.c_float),
        ("speedKmh", ctypes.c_float), ("velocity", F3), ("accG", F3), ("wheelSlip", F4), ("wheelLoad", F4),
        ("wheelsPressure", F4), ("wheelAngularSpeed", F4), ("tyreWear", F4), ("tyreDirtyLevel", F4),
        ("tyreCoreTemperature", F4), ("camberRAD", F4), ("suspensionTravel", F4), ("drs", ctypes.c_float),
        ("tc", ctypes.c_float), ("heading", ctypes.c_float), ("pitch", ctypes.c_float), ("roll", ctypes.c_float),
        ("cgHeight", ctypes.c_float), ("carDamage", ctypes.c_float * 5), ("numberOfTyresOut", ctypes.c_int32),
        ("pitLimiterOn", ctypes.c_int32), ("abs", ctypes.c_float), ("kersCharge", ctypes.c_float),
        ("kersInput", ctypes.c_float), ("autoShifterOn", ctypes.c_int32), ("rideHeight", ctypes.c_float * 2),
        ("turboBoost", ctypes.c_float), ("ballast", ctypes.c_float), ("airDensity", ctypes.c_float),
        ("airTemp", ctypes.c_float), ("roadTemp", ctypes.c_float), ("localAngularVel", F3),
        ("finalFF", ctypes.c_float), ("performanceMeter", ctypes.c_float), ("engineBrake", ctypes.c_int32),
        ("ersRecoveryLevel", ctypes.c_int32), ("ersPowerLevel", ctypes.c_int32), ("ersHeatCharging", ctypes.c_int32),
        ("ersIsCharging", ctypes.c_int32), ("kersCurrentKJ", ctypes.c_float), ("drsAvailable", ctypes.c_int32),
        ("drsEnabled", ctypes.c_int32), ("brakeTemp", F4), ("clutch", ctypes.c_float), ("tyreTempI", F4),
        ("tyreTempM", F4), ("tyreTempO", F4), ("isAIControlled", ctypes.c_int32), ("tyreContactPoint", F3 * 4),
        ("tyreContactNormal", F3 * 4), ("tyreContactHeading", F3 * 4), ("brakeBias", ctypes.c_float),
        ("localVelocity", F3), ("P2PActivations", ctypes.c_int32), ("P2PStatus", ctypes.c_int32),
        ("currentMaxRpm", ctypes.c_float), ("mz", F4), ("fx", F4), ("fy", F4), ("slipRatio", F4), ("slipAngle", F4),
        ("tcinAction", ctypes.c_int32), ("absInAction", ctypes.c_int32), ("suspensionDamage", F4), ("tyreTemp", F4),
    ]


# Offsets as the spec's table prints them (a sample across the page).
SPEC_OFFSETS = {"speedKmh": 28, "velocity": 32, "accG": 44, "wheelsPressure": 88, "tyreWear": 120,
                "tyreCoreTemperature": 152, "heading": 208, "pitch": 212, "roll": 216, "localAngularVel": 296,
                "brakeTemp": 348, "tyreTempM": 384, "tyreContactPoint": 420, "localVelocity": 568, "mz": 592,
                "slipAngle": 656, "tyreTemp": 696}

# Fields a telemetry tool shows that stay constant in these drives; each must be named in the
# "constant" list of docs/simulator.md's page section (with the reason).
CONSTANT = ["tyreDirtyLevel", "camberRAD", "cgHeight", "tc", "abs", "pitLimiterOn", "autoShifterOn", "airDensity",
            "airTemp", "roadTemp", "turboBoost", "ballast", "finalFF", "performanceMeter", "engineBrake",
            "ersRecoveryLevel", "ersPowerLevel", "ersHeatCharging", "ersIsCharging", "drsAvailable",
            "isAIControlled", "tyreContactNormal", "brakeBias", "P2PActivations", "P2PStatus", "currentMaxRpm",
            "tcinAction", "absInAction", "suspensionDamage", "carDamage", "numberOfTyresOut"]
# Input echoes: constant exactly when the driver holds that input (no DRS, no clutch here).
INPUT_ECHOES = ["drs", "drsEnabled", "clutch"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "simulator.md"


def read_physics(sim) -> SPageFilePhysics:
    """A copy of car 0's page bytes, interpreted with the spec structure only."""
    address = sim.physics.__array_interface__["data"][0]
    return SPageFilePhysics.from_buffer_copy(ctypes.string_at(address, ctypes.sizeof(SPageFilePhysics)))


def as_array(page: SPageFilePhysics, name: str) -> np.ndarray:
    return np.array(np.ctypeslib.as_array(getattr(page, name)) if not isinstance(getattr(page, name), (int, float))
                    else getattr(page, name), dtype=np.float64)


def drive(lap_start: str, ticks: int, every: int, throttle: float | None = None) -> list[SPageFilePhysics]:
    """Pages every `every` ticks: the reference driver (throttle None) or a fixed full-throttle launch."""
    sim = make_sim(1, "spa", lap_start=lap_start)
    driver = _core.ReferenceDriver(native_track("spa"), sim) if throttle is None else None
    pages = [read_physics(sim)]
    for t in range(ticks):
        if driver is not None:
            driver.drive(sim, 0)
        else:
            sim.controls[0]["throttle"] = throttle
        sim.step(1)
        if (t + 1) % every == 0:
            pages.append(read_physics(sim))
    return pages


@pytest.fixture(scope="module")
def lap_pages() -> list[SPageFilePhysics]:
    return drive("flying", 60 * 333, 5)  # the first minute of a flying lap: straights, braking, corners


def series(pages: list[SPageFilePhysics], name: str) -> np.ndarray:
    return np.stack([as_array(p, name) for p in pages])


def test_the_reader_follows_the_spec_not_the_project() -> None:
    for name, offset in SPEC_OFFSETS.items():
        assert getattr(SPageFilePhysics, name).offset == offset, name
    assert ctypes.sizeof(SPageFilePhysics) == 712


def test_local_velocity_is_the_velocity_in_the_body_frame(lap_pages) -> None:
    speed = series(lap_pages, "speedKmh") / 3.6
    assert speed.max() > 80.0 and speed.min() < 40.0
    world = np.linalg.norm(series(lap_pages, "velocity"), axis=1)
    local = series(lap_pages, "localVelocity")
    np.testing.assert_allclose(world, speed, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(local, axis=1), speed, rtol=1e-4, atol=1e-3)
    assert local[:, 2].min() > 0.9 * speed.min()  # forward is [2]
    # The vertical component moves (pitch against the path) and stays a small share of the speed.
    assert np.ptp(local[:, 1]) > 0.1 and np.abs(local[:, 1]).max() < 0.1 * speed.max()


def test_roll_follows_lateral_acceleration_and_pitch_the_longitudinal(lap_pages) -> None:
    acc = series(lap_pages, "accG")
    roll, pitch = series(lap_pages, "roll"), series(lap_pages, "pitch")
    cornering = np.abs(acc[:, 0]) > 1.0
    assert cornering.sum() > 50
    # Left turn (accG[0] > 0): the body leans right, roll > 0 (docs/simulator.md, frames and signs).
    assert np.all(np.sign(roll[cornering]) == np.sign(acc[cornering, 0]))
    assert 0.005 < np.abs(roll).max() < 0.06  # a stiff Formula car: ~1-2 degrees at 4-5 g
    assert np.corrcoef(roll, acc[:, 0])[0, 1] > 0.95
    # Pitch holds the road's slope too (Spa climbs and falls): against the path of the velocity, the
    # nose dives under braking.
    vel = series(lap_pages, "velocity")
    body_pitch = pitch - np.arctan2(vel[:, 1], np.hypot(vel[:, 0], vel[:, 2]))
    braking, accelerating = acc[:, 2] < -3.0, acc[:, 2] > 0.5
    assert braking.sum() > 10 and accelerating.sum() > 10
    assert np.median(body_pitch[braking]) < np.median(body_pitch[accelerating])


def test_heading_follows_the_yaw_rate(lap_pages) -> None:
    heading = np.unwrap(series(lap_pages, "heading"))
    yaw_rate = series(lap_pages, "localAngularVel")[:, 1]
    dt = 5 / 333.0
    rate = np.diff(heading) / dt
    mean_rate = 0.5 * (yaw_rate[1:] + yaw_rate[:-1])
    assert np.abs(rate).max() > 0.3
    np.testing.assert_allclose(rate, mean_rate, atol=0.05)
    # The world velocity points along the heading plus the sideslip (localVelocity[0] > 0: to the left).
    vel, local = series(lap_pages, "velocity"), series(lap_pages, "localVelocity")
    course = np.arctan2(vel[:, 0], vel[:, 2])
    slip = np.arctan2(local[:, 0], local[:, 2])
    err = np.angle(np.exp(1j * (course - (series(lap_pages, "heading") + slip))))
    assert np.abs(err).max() < 0.02


def test_temperatures_rise_under_wheelspin_and_braking() -> None:
    launch = drive("standing", 333, 33, throttle=1.0)
    first, last = launch[0], launch[-1]
    slip = max(abs(p.slipRatio[2]) for p in launch)
    assert slip > 0.3  # the rear axle spins
    rear_gain = last.tyreTempM[2] - first.tyreTempM[2]
    front_gain = last.tyreTempM[0] - first.tyreTempM[0]
    assert rear_gain > 5.0 and rear_gain > front_gain + 3.0
    assert last.tyreCoreTemperature[2] > first.tyreCoreTemperature[2]
    assert last.wheelsPressure[2] > first.wheelsPressure[2]  # the gas follows the core
    assert last.tyreWear[2] < first.tyreWear[2] <= 100.0
    assert last.tyreTempI[2] > last.tyreTempM[2] > last.tyreTempO[2]


def test_lap_values_are_plausible(lap_pages) -> None:
    brakes = series(lap_pages, "brakeTemp")
    tyres = series(lap_pages, "tyreTempM")
    pressure = series(lap_pages, "wheelsPressure")
    assert 400.0 < brakes.max() < 1200.0 and brakes.min() > 50.0
    assert tyres.min() > 50.0 and tyres.max() < 130.0
    assert pressure.min() > 17.0 and pressure.max() < 25.0
    assert 99.0 < series(lap_pages, "tyreWear").min() < 100.0


def test_no_field_stands_still_while_the_car_moves_unless_documented(lap_pages) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    constant_section = re.search(r"\*\*Constant[^*]*\*\*(.*?)\n\* \*\*graphics", docs, re.S)
    assert constant_section, "docs/simulator.md lost its list of constant page fields"
    for name in CONSTANT + INPUT_ECHOES:
        assert name in constant_section.group(1), f"{name} is constant but docs/simulator.md does not say why"
    moving = []
    for name, _ in SPageFilePhysics._fields_:
        if name in CONSTANT or name in INPUT_ECHOES:
            continue
        values = series(lap_pages, name)
        if np.ptp(values.reshape(len(lap_pages), -1), axis=0).max() == 0.0:
            moving.append(name)
    assert moving == [], f"constant while the car moves and not documented: {moving}"
