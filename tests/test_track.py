"""Track model from Python: the built-in Spa against the public facts it was authored from, the
TUMFTM centre line (comparison only), fast_lane.ai round trips, file errors, and batched geometry
against the scalar queries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ac_core.errors import InputError
from ac_core.track import (
    Surface,
    TrackFileError,
    UnknownTrackError,
    builtin_track_names,
    default_lookahead,
    default_ray_angles,
    load_track,
    track_from_vertices,
    write_fast_lane_ai,
)

TUM_CENTRE = Path("data/tracks/TUMFTM_racetrack-database/tracks/Spa.csv")


@pytest.fixture(scope="module")
def spa():
    return load_track("spa")


def smoothed_curvature(track, window: float = 20.0, step: float = 5.0) -> np.ndarray:
    """Heading change over ±window/2 divided by the window: removes point noise (TUM's OSM line)."""
    s = np.arange(0.0, track.length, step)
    ahead = np.array([track.heading(v + window / 2) for v in s])
    behind = np.array([track.heading(v - window / 2) for v in s])
    return np.angle(np.exp(1j * (ahead - behind))) / window


def corner_count(track, max_radius: float = 200.0) -> int:
    """Runs of |curvature| above 1/max_radius, counting a change of direction as a new corner."""
    k = smoothed_curvature(track)
    sign = np.where(np.abs(k) > 1.0 / max_radius, np.sign(k), 0.0)
    count = 0
    for prev, cur in zip(np.roll(sign, 1), sign, strict=True):
        if cur != 0 and cur != prev:
            count += 1
    return count


# ---- built-in Spa ----------------------------------------------------------------------------


def test_builtin_names():
    assert builtin_track_names() == ["spa"]


def test_spa_closed_length_turning(spa):
    assert spa.name == "spa"
    assert abs(spa.length - 7004.0) <= 0.005 * 7004.0
    pts = spa.samples()
    closing_gap = np.hypot(*(pts[0, :2] - pts[-1, :2]))
    assert closing_gap == pytest.approx(spa.sample_spacing, abs=0.05)  # one ordinary step, no jump
    steps = np.hypot(*np.diff(pts[:, :2], axis=0).T)
    assert steps.max() < 1.05 * spa.sample_spacing
    assert spa.total_turning() == pytest.approx(-2 * math.pi, abs=1e-9)  # clockwise, as Spa


def test_spa_elevation_profile(spa):
    s = np.arange(0.0, spa.length, 2.0)
    cols = spa.sample_many(s)
    y, grade = cols["y"], cols["grade"]
    assert 90.0 <= y.max() - y.min() <= 110.0  # "just over 102 m"
    assert y[0] == pytest.approx(47.0, abs=1.0)  # +47 m at the line above the lowest point
    # Highest point just before T7 (Malmedy, ≈2.54 km); lowest just before Paul Frère (≈5.0 km).
    assert 2300.0 <= s[np.argmax(y)] <= 2560.0
    assert 4800.0 <= s[np.argmin(y)] <= 5070.0
    # Eau Rouge / Raidillon: the steepest climb of the lap, 30–45 m from the dip to the top, ≤ ~17 %.
    steepest = s[np.argmax(grade)]
    assert 880.0 <= steepest <= 1200.0
    dip = (s > 700) & (s < 1000)
    top = (s > 1100) & (s < 1300)
    assert 30.0 <= y[top].max() - y[dip].min() <= 45.0
    assert 0.15 <= grade.max() <= 0.19
    # Eau Rouge's compression: the dip is a valley (positive vertical curvature).
    vc = np.array([spa.at(v).vertical_curvature for v in np.arange(880.0, 940.0, 2.0)])
    assert vc.max() > 1e-3


def test_spa_widths_runoff_meta(spa):
    cols = spa.sample_many(np.arange(0.0, spa.length, 5.0))
    width = cols["width_left"] + cols["width_right"]
    assert width.min() >= 10.0 and width.max() <= 16.0
    assert cols["runoff_left"].min() > 0 and cols["runoff_right"].max() <= 30.0
    starts = spa.sector_starts
    assert starts[0] == 0.0 and 0.2 < starts[1] < starts[2] < 0.85
    assert spa.sectors[2] == (starts[2], 1.0)
    assert [spa.sector_at(f * spa.length) for f in (0.1, 0.5, 0.9)] == [0, 1, 2]
    pit_s, pit_lat = spa.pit_exit
    assert 300.0 < pit_s < 450.0  # after La Source
    assert spa.surface_at(pit_s, pit_lat) == Surface.TRACK


def test_spa_never_overlaps_itself(spa):
    """The authored loop is a simple closed curve: parts of the lap far apart along s stay apart."""
    s = np.arange(0.0, spa.length, 5.0)
    c = spa.sample_many(s)
    w = np.maximum(c["width_left"], c["width_right"])
    d = np.hypot(c["x"][:, None] - c["x"][None, :], c["z"][:, None] - c["z"][None, :])
    ds = np.abs(s[:, None] - s[None, :])
    far_along = np.minimum(ds, spa.length - ds) > 150.0
    clearance = (d - w[:, None] - w[None, :])[far_along]
    assert clearance.min() > 10.0  # edges (plus kerbs) of different parts never touch


def test_spa_corners_where_the_table_puts_them(spa):
    # La Source is the tightest right-hander; the Bus Stop chicane is right then left.
    k = smoothed_curvature(spa, window=10.0, step=2.0)
    s = np.arange(0.0, spa.length, 2.0)
    la_source = s[np.argmin(k[s < 600])]
    assert 230.0 <= la_source <= 330.0
    assert k[(s > 6600) & (s < 6650)].min() < -1 / 60
    assert k[(s > 6670) & (s < 6720)].max() > 1 / 60


@pytest.fixture(scope="module")
def tum(shared_dir):
    return load_track(shared_dir / TUM_CENTRE)


def test_tumftm_spa_csv_loads(tum):
    assert tum.name == "Spa"
    assert tum.length == pytest.approx(7000.0, abs=15.0)  # research §1: 7000.05 m as a polygon
    assert tum.total_turning() == pytest.approx(-2 * math.pi, abs=1e-9)  # clockwise on the map, kept
    cols = tum.sample_many(np.arange(0.0, tum.length, 10.0))
    width = cols["width_left"] + cols["width_right"]
    assert width.min() > 7.5 and width.max() < 17.0
    assert np.all(cols["y"] == 0.0)


def test_builtin_spa_compares_with_tumftm(spa, tum):
    """The authored Spa is not derived from the TUM data; it should still look like the same circuit."""
    assert spa.length == pytest.approx(tum.length, rel=0.005)
    assert spa.total_turning() == pytest.approx(tum.total_turning(), abs=1e-9)
    n_spa, n_tum = corner_count(spa), corner_count(tum)
    assert 15 <= n_spa <= 25
    assert abs(n_spa - n_tum) <= 4, (n_spa, n_tum)


# ---- files -----------------------------------------------------------------------------------


def test_fast_lane_round_trip(spa, tmp_path):
    path = tmp_path / "spa" / "ai" / "fast_lane.ai"
    path.parent.mkdir(parents=True)
    write_fast_lane_ai(spa, path, spacing=2.0)
    n = round(spa.length / 2.0)
    assert path.stat().st_size == 16 + 20 * n + 4 + 72 * n + 4
    back = load_track(path)
    assert back.name == "spa"  # the AC track folder name
    assert back.length == pytest.approx(spa.length, abs=0.5)
    s = np.arange(0.0, spa.length, 7.0)
    a, b = spa.sample_many(s), back.sample_many(s)
    assert np.hypot(a["x"] - b["x"], a["z"] - b["z"]).max() < 0.3
    assert np.abs(a["y"] - b["y"]).max() < 0.05
    assert np.abs(a["width_left"] - b["width_left"]).max() < 0.05
    # Detected by its version-7 header even under another name.
    other = tmp_path / "spline.bin"
    other.write_bytes(path.read_bytes())
    assert load_track(other).length == pytest.approx(back.length)
    # A track folder works too.
    assert load_track(tmp_path / "spa").name == "spa"


def test_truncated_fast_lane_names_file_and_offset(spa, tmp_path):
    path = tmp_path / "fast_lane.ai"
    write_fast_lane_ai(spa, path, spacing=20.0)
    good = path.read_bytes()
    path.write_bytes(good[:1000])
    with pytest.raises(TrackFileError, match=r"fast_lane\.ai: byte offset 1000: file ends inside"):
        load_track(path)
    path.write_bytes(good[:-100])
    with pytest.raises(TrackFileError, match="extra-data block"):
        load_track(path)
    path.write_bytes(b"\x01\x00\x00\x00" + good[4:])
    with pytest.raises(TrackFileError, match="byte offset 0: version 1, expected 7"):
        load_track(path)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=str(path)):
        load_track(path)


def test_bad_csv_names_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("# x_m,y_m,w_tr_right_m,w_tr_left_m\n0,0,5,5\n10,0,5,five\n")
    with pytest.raises(TrackFileError, match=r"bad\.csv: line 3: expected 4 comma-separated numbers"):
        load_track(path)


def test_unknown_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built-in track") as e:
        load_track("monza")
    assert isinstance(e.value, UnknownTrackError) and isinstance(e.value, InputError)  # CLI: exit 2
    assert "valid names: spa" in str(e.value)
    odd = tmp_path / "track.txt"
    odd.write_text("hello")
    with pytest.raises(TrackFileError, match="unrecognised track file"):
        load_track(odd)
    with pytest.raises(TrackFileError, match=r"without ai/fast_lane\.ai"):
        load_track(tmp_path)


def _ring(radius: float, n: int = 64, turns: float = 1.0, drift: float = 0.0, width: float = 5.0) -> np.ndarray:
    a = np.arange(n) * 2 * np.pi * turns / n
    r = radius + drift * np.arange(n)
    return np.column_stack([r * np.sin(a), r * np.cos(a), np.zeros(n), np.full(n, width), np.full(n, width)])


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        (_ring(0.3), "shorter than the 50 m"),  # once a SIGFPE in the ray casts
        (np.column_stack([np.arange(4) * 200.0, np.zeros((4, 2)), np.full((4, 2), 5.0)]), "one straight line"),
        (_ring(100.0)[:3], "at least 4"),
        (np.insert(_ring(100.0), 5, _ring(100.0)[5] + [0.01, 0, 0, 0, 0], axis=0), "closer than the 0.05 m"),
        (_ring(100.0, 400, turns=2.0, drift=0.002), "runs over itself"),
    ],
)
def test_degenerate_vertices_are_rejected_with_the_reason(table, reason):
    with pytest.raises(ValueError, match=reason):
        track_from_vertices(table)


def test_degenerate_file_names_the_file(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("0,0,5,5\n1,0,5,5\n1,1,5,5\n0,1,5,5\n")
    with pytest.raises(TrackFileError, match=r"tiny\.csv: geometry: the centre line is 4\.0 m around"):
        load_track(path)


def test_csv_encodings(tmp_path):
    text = "# x_m,y_m,w_tr_right_m,w_tr_left_m\n" + "".join(
        f"{x:.3f},{z:.3f},5,5\n" for x, z, *_ in _ring(100.0)
    )
    for name, data in (("bom8.csv", b"\xef\xbb\xbf" + text.encode()), ("bom16.csv", text.encode("utf-16")),
                       ("bom16be.csv", text.encode("utf-16-be").join([b"\xfe\xff", b""]))):
        (tmp_path / name).write_bytes(data)
        assert load_track(tmp_path / name).length == pytest.approx(2 * np.pi * 100, rel=1e-3)
    (tmp_path / "nobom16.csv").write_bytes(text.encode("utf-16-le"))
    with pytest.raises(TrackFileError, match=r"nobom16\.csv: byte offset 1: NUL byte.*UTF-16"):
        load_track(tmp_path / "nobom16.csv")
    (tmp_path / "latin1.csv").write_bytes(("# café\n" + text).encode("latin-1"))  # comments may hold any bytes
    load_track(tmp_path / "latin1.csv")
    (tmp_path / "latin1row.csv").write_bytes(text.encode() + b"1\xe9,2,5,5\n")
    with pytest.raises(TrackFileError, match=r"latin1row\.csv: line 66: byte 0xE9 at column 2 is not UTF-8"):
        load_track(tmp_path / "latin1row.csv")


# ---- queries ---------------------------------------------------------------------------------


def random_cars(track, n: int, seed: int = 0, lateral: float = 5.0):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.0, track.length, n)
    lat = rng.uniform(-lateral, lateral, n)
    xz = np.array([track.position(a, b)[:2] for a, b in zip(s, lat, strict=True)])
    heading = np.array([track.heading(a) for a in s]) + rng.uniform(-0.4, 0.4, n)
    return s, lat, np.ascontiguousarray(xz[:, 0]), np.ascontiguousarray(xz[:, 1]), heading


def test_projection_round_trip_and_wrap(spa):
    s, lat, x, z, _ = random_cars(spa, 500, seed=1)
    s_out, lat_out, head = spa.project_many(x, z, s_hint=np.mod(s + 2.0, spa.length))
    assert max(abs(spa.delta_s(a, b)) for a, b in zip(s, s_out, strict=True)) < 1e-6
    assert np.allclose(head, [spa.heading(v) for v in s_out], atol=1e-12)
    assert np.abs(lat_out - lat).max() < 1e-6
    s_glob, lat_glob, _ = spa.project_many(x, z)
    assert np.allclose(s_glob, s_out, atol=1e-9) and np.allclose(lat_glob, lat_out, atol=1e-9)
    # Across the line: a car 0.5 m before s = 0 with a hint 1 m after it.
    x0, z0, _ = spa.position(spa.length - 0.5, 2.0)
    p = spa.project(x0, z0, s_hint=1.0)
    assert p.s == pytest.approx(spa.length - 0.5, abs=1e-6) and not p.used_global
    assert spa.delta_s(spa.length - 0.5, 1.0) == pytest.approx(1.5)


def test_surfaces_and_grip(spa):
    w = spa.at(3000.0)
    s = np.full(4, 3000.0)
    lat = np.array([0.0, w.width_left + 0.5, -(w.width_right + 5.0), w.width_left + w.runoff_left + 1.0])
    cls, grip = spa.surface_many(s, lat)
    assert cls.tolist() == [int(Surface.TRACK), int(Surface.KERB), int(Surface.RUNOFF), int(Surface.BARRIER)]
    assert grip[0] == 1.0 and grip[0] > grip[1] > grip[2] > grip[3]
    assert spa.grip(Surface.RUNOFF) == grip[2]


def test_batch_geometry_equals_scalar_queries(spa):
    n = 24
    _, _, x, z, heading = random_cars(spa, n, seed=2)
    geo = spa.geometry(lines=("centre", "left", "right"))
    out = geo.allocate(n)
    hints = np.full(n, np.nan)
    geo.compute(x, z, heading, out, s_hint=hints)
    assert out.lookahead_points.shape == (n, 3, 40, 2) and out.ray_distance.shape == (n, 15)
    for i in range(n):
        p = spa.project(x[i], z[i])
        assert out.s[i] == pytest.approx(p.s, abs=1e-9)
        assert out.lateral[i] == pytest.approx(p.lateral, abs=1e-9)
        herr = math.remainder(heading[i] - p.heading, 2 * math.pi)
        assert out.heading_error[i] == pytest.approx(herr, abs=1e-9)
        assert out.curvature[i] == pytest.approx(spa.curvature(p.s), abs=1e-12)
        sp, cp = math.sin(heading[i]), math.cos(heading[i])
        for k, d in enumerate(geo.lookahead):
            a = spa.at(p.s + d)
            assert out.lookahead_curvature[i, k] == pytest.approx(spa.curvature(p.s + d), abs=1e-12)
            for line, off in enumerate((0.0, a.width_left, -a.width_right)):
                px, pz, _ = spa.position(p.s + d, off)
                dx, dz = px - x[i], pz - z[i]
                np.testing.assert_allclose(
                    out.lookahead_points[i, line, k], [dx * sp + dz * cp, dx * cp - dz * sp], atol=1e-6
                )
        for r, angle in enumerate(geo.ray_angles):
            want = spa.ray_to_edge(x[i], z[i], heading[i] + angle, geo.ray_range, s_hint=p.s)
            assert out.ray_distance[i, r] == pytest.approx(want, abs=1e-9)
    # In-place warm start reproduces the same answers.
    before = out.s.copy()
    geo.compute(x, z, heading, out, s_hint=out.s)
    assert np.allclose(out.s, before, atol=1e-9)


def test_rays_geometry_on_a_straight(spa):
    # On the start straight, facing down the track: side rays hit the edges at the widths.
    s0 = 50.0
    a = spa.at(s0)
    x, z, _ = spa.position(s0, 0.0)
    left = spa.ray_to_edge(x, z, a.heading + math.pi / 2, 100.0, s_hint=s0)
    right = spa.ray_to_edge(x, z, a.heading - math.pi / 2, 100.0, s_hint=s0)
    assert left == pytest.approx(a.width_left, abs=0.02)
    assert right == pytest.approx(a.width_right, abs=0.02)
    assert spa.ray_to_edge(x, z, a.heading, 30.0, s_hint=s0) == 30.0  # clipped
    off_x, off_z, _ = spa.position(s0, a.width_left + 3.0)
    assert spa.ray_to_edge(off_x, off_z, a.heading, 100.0) == 0.0


def test_batch_geometry_checks_buffers(spa):
    geo = spa.geometry(lookahead=default_lookahead(10, 200.0), ray_angles=default_ray_angles(5))
    out = geo.allocate(4)
    x = np.zeros(4)
    with pytest.raises(TypeError, match="float64"):
        geo._core.compute(x, x, x, None, out.s.astype(np.float32), out.lateral, out.heading_error, out.curvature)
    with pytest.raises(ValueError, match="s has 4 elements, expected 3"):
        geo.compute(np.zeros(3), np.zeros(3), np.zeros(3), out)
    bad = np.zeros(4)
    bad[2] = np.nan
    with pytest.raises(ValueError, match="car 2 has a non-finite position"):
        geo.compute(bad, np.zeros(4), np.zeros(4), out)
    with pytest.raises(ValueError, match="look-ahead lines"):
        spa.geometry(lines=("middle",))


def test_custom_track_from_vertices():
    angles = np.linspace(0.0, 2 * np.pi, 200, endpoint=False)
    table = np.column_stack(
        [100 * np.sin(angles), 100 * np.cos(angles), np.zeros(200), np.full(200, 6.0), np.full(200, 4.0)]
    )
    ring = track_from_vertices(table, name="ring", pit_exit=(10.0, -2.0))
    assert ring.length == pytest.approx(2 * np.pi * 100, abs=0.05)
    # (x, z) = (sin a, cos a) with a growing turns left in this y-up right-handed frame: κ = +1/100.
    assert ring.curvature(100.0) == pytest.approx(0.01, abs=1e-4)
    assert ring.total_turning() == pytest.approx(2 * np.pi)
    assert ring.pit_exit == (10.0, -2.0)
    sandy = track_from_vertices(table, kerb_width=2.0, default_runoff=5.0, grip=(1.0, 0.8, 0.4, 0.1))
    assert sandy.surface_at(0.0, 7.5) == Surface.KERB  # 6 m wide on the left, 2 m of kerb
    assert sandy.surface_at(0.0, 11.5) == Surface.BARRIER  # 5 m of run-off
    assert sandy.grip(Surface.RUNOFF) == 0.4
    with pytest.raises(ValueError, match="widths"):
        track_from_vertices(np.column_stack([table[:, :3], np.zeros(200), np.ones(200)]))
