"""Every field's offset and size against the spec (research/ac_shared_memory_spec.md), transcribed
here by hand — not generated from the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from ac_core import pages as P

# (name, offset, size in bytes) — spec §3 physics rows 0-71.
PHYSICS_SPEC = [
    ("packetId", 0, 4), ("gas", 4, 4), ("brake", 8, 4), ("fuel", 12, 4), ("gear", 16, 4), ("rpms", 20, 4),
    ("steerAngle", 24, 4), ("speedKmh", 28, 4), ("velocity", 32, 12), ("accG", 44, 12), ("wheelSlip", 56, 16),
    ("wheelLoad", 72, 16), ("wheelsPressure", 88, 16), ("wheelAngularSpeed", 104, 16), ("tyreWear", 120, 16),
    ("tyreDirtyLevel", 136, 16), ("tyreCoreTemperature", 152, 16), ("camberRAD", 168, 16),
    ("suspensionTravel", 184, 16), ("drs", 200, 4), ("tc", 204, 4), ("heading", 208, 4), ("pitch", 212, 4),
    ("roll", 216, 4), ("cgHeight", 220, 4), ("carDamage", 224, 20), ("numberOfTyresOut", 244, 4),
    ("pitLimiterOn", 248, 4), ("abs", 252, 4), ("kersCharge", 256, 4), ("kersInput", 260, 4),
    ("autoShifterOn", 264, 4), ("rideHeight", 268, 8), ("turboBoost", 276, 4), ("ballast", 280, 4),
    ("airDensity", 284, 4), ("airTemp", 288, 4), ("roadTemp", 292, 4), ("localAngularVel", 296, 12),
    ("finalFF", 308, 4), ("performanceMeter", 312, 4), ("engineBrake", 316, 4), ("ersRecoveryLevel", 320, 4),
    ("ersPowerLevel", 324, 4), ("ersHeatCharging", 328, 4), ("ersIsCharging", 332, 4), ("kersCurrentKJ", 336, 4),
    ("drsAvailable", 340, 4), ("drsEnabled", 344, 4), ("brakeTemp", 348, 16), ("clutch", 364, 4),
    ("tyreTempI", 368, 16), ("tyreTempM", 384, 16), ("tyreTempO", 400, 16), ("isAIControlled", 416, 4),
    ("tyreContactPoint", 420, 48), ("tyreContactNormal", 468, 48), ("tyreContactHeading", 516, 48),
    ("brakeBias", 564, 4), ("localVelocity", 568, 12), ("P2PActivations", 580, 4), ("P2PStatus", 584, 4),
    ("currentMaxRpm", 588, 4), ("mz", 592, 16), ("fx", 608, 16), ("fy", 624, 16), ("slipRatio", 640, 16),
    ("slipAngle", 656, 16), ("tcinAction", 672, 4), ("absInAction", 676, 4), ("suspensionDamage", 680, 16),
    ("tyreTemp", 696, 16),
]  # fmt: skip
GRAPHICS_SPEC = [
    ("packetId", 0, 4), ("status", 4, 4), ("session", 8, 4), ("currentTime", 12, 30), ("lastTime", 42, 30),
    ("bestTime", 72, 30), ("split", 102, 30), ("completedLaps", 132, 4), ("position", 136, 4),
    ("iCurrentTime", 140, 4), ("iLastTime", 144, 4), ("iBestTime", 148, 4), ("sessionTimeLeft", 152, 4),
    ("distanceTraveled", 156, 4), ("isInPit", 160, 4), ("currentSectorIndex", 164, 4), ("lastSectorTime", 168, 4),
    ("numberOfLaps", 172, 4), ("tyreCompound", 176, 66), ("replayTimeMultiplier", 244, 4),
    ("normalizedCarPosition", 248, 4), ("carCoordinates", 252, 12), ("penaltyTime", 264, 4), ("flag", 268, 4),
    ("idealLineOn", 272, 4), ("isInPitLane", 276, 4), ("surfaceGrip", 280, 4), ("mandatoryPitDone", 284, 4),
    ("windSpeed", 288, 4), ("windDirection", 292, 4),
]  # fmt: skip
STATIC_SPEC = [
    ("smVersion", 0, 30), ("acVersion", 30, 30), ("numberOfSessions", 60, 4), ("numCars", 64, 4),
    ("carModel", 68, 66), ("track", 134, 66), ("playerName", 200, 66), ("playerSurname", 266, 66),
    ("playerNick", 332, 66), ("sectorCount", 400, 4), ("maxTorque", 404, 4), ("maxPower", 408, 4),
    ("maxRpm", 412, 4), ("maxFuel", 416, 4), ("suspensionMaxTravel", 420, 16), ("tyreRadius", 436, 16),
    ("maxTurboBoost", 452, 4), ("deprecated_1", 456, 4), ("deprecated_2", 460, 4), ("penaltiesEnabled", 464, 4),
    ("aidFuelRate", 468, 4), ("aidTireRate", 472, 4), ("aidMechanicalDamage", 476, 4),
    ("aidAllowTyreBlankets", 480, 4), ("aidStability", 484, 4), ("aidAutoClutch", 488, 4), ("aidAutoBlip", 492, 4),
    ("hasDRS", 496, 4), ("hasERS", 500, 4), ("hasKERS", 504, 4), ("kersMaxJ", 508, 4),
    ("engineBrakeSettingsCount", 512, 4), ("ersPowerControllerCount", 516, 4), ("trackSPlineLength", 520, 4),
    ("trackConfiguration", 524, 66), ("ersMaxJ", 592, 4), ("isTimedRace", 596, 4), ("hasExtraLap", 600, 4),
    ("carSkin", 604, 66), ("reversedGridPositions", 672, 4), ("PitWindowStart", 676, 4), ("PitWindowEnd", 680, 4),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "spec", "size"),
    [("physics", PHYSICS_SPEC, 712), ("graphics", GRAPHICS_SPEC, 296), ("static", STATIC_SPEC, 684)],
)
def test_dtype_matches_spec(kind: str, spec: list[tuple[str, int, int]], size: int) -> None:
    dt = P.dtype_of(kind)
    assert dt.itemsize == size
    assert list(dt.names) == [name for name, _, _ in spec]
    for name, offset, nbytes in spec:
        field_dtype, field_offset = dt.fields[name][:2]
        assert field_offset == offset, f"{kind}.{name}"
        assert field_dtype.itemsize == nbytes, f"{kind}.{name}"


def test_types_and_shapes() -> None:
    ph = P.PHYSICS_DTYPE
    assert ph["packetId"] == np.dtype("<i4")
    assert ph["speedKmh"] == np.dtype("<f4")
    assert ph["tyreContactPoint"].shape == (4, 3)
    assert ph["carDamage"].shape == (5,)
    assert P.STATIC_DTYPE["trackConfiguration"].shape == (33,)
    assert P.STATIC_DTYPE["trackConfiguration"].base == np.dtype("<u2")
    assert P.text_fields("graphics") == {"currentTime", "lastTime", "bestTime", "split", "tyreCompound"}


def test_short_pages_report_absent_fields() -> None:
    assert P.fields_absent("physics", 712) == []
    absent = P.fields_absent("physics", 580)  # AC 1.12
    assert absent[0] == "P2PActivations" and "localVelocity" not in absent
    assert "localVelocity" in P.fields_absent("physics", 568)
    assert P.fields_absent("graphics", 288) == ["windSpeed", "windDirection"]
    assert "carSkin" in P.fields_absent("static", 600)


def test_enums_match_spec() -> None:
    assert P.AcStatus.LIVE == 2 and P.AcStatus.PAUSE == 3 and P.AcStatus.OFF == 0 and P.AcStatus.REPLAY == 1
    assert P.AcSessionType.UNKNOWN == -1 and P.AcSessionType.DRAG == 6
    assert P.AcFlagType.PENALTY_FLAG == 6 and P.AcFlagType.CHECKERED_FLAG == 5


def test_utf16_round_trip_and_bad_strings() -> None:
    page = P.empty_page("static")
    P.set_text(page, "carModel", "FormulaAlpha2022 – ü")
    assert P.decode_utf16(page["carModel"]) == "FormulaAlpha2022 – ü"
    P.set_text(page, "smVersion", "x" * 40)  # truncated to 14 units + NUL
    assert P.decode_utf16(page["smVersion"]) == "x" * 14
    unterminated = np.full(15, ord("a"), dtype="<u2")
    assert P.decode_utf16(unterminated) == "a" * 15
    with pytest.raises(P.TextDecodeError, match="no NUL terminator"):
        P.decode_utf16(unterminated, strict=True)
    lone_surrogate = np.array([0xD800, ord("b"), 0], dtype="<u2")
    assert P.decode_utf16(lone_surrogate) == "\ufffdb"
    with pytest.raises(P.TextDecodeError, match="invalid UTF-16"):
        P.decode_utf16(lone_surrogate, strict=True)


def test_non_finite_fields_are_flagged() -> None:
    page = P.empty_page("physics")
    page["speedKmh"] = np.nan
    page["accG"][1] = np.inf
    assert P.non_finite_fields(page) == ["speedKmh", "accG"]
    # Absent fields of a short page are not checked (they were never read).
    page["tyreTemp"][0] = np.nan
    assert P.non_finite_fields(page, page_size=580) == ["speedKmh", "accG"]


def test_lap_time_text() -> None:
    assert P.format_lap_time(103_712) == "1:43:712"
    assert P.format_lap_time(0) == "-:--:---"
    assert P.format_lap_time(2**31 - 1) == "-:--:---"
