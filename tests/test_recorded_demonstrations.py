"""Recordings become demonstrations: what `ac-core record` writes, replayed through the env's own logic,
gives the transitions the env would have given in the same states (`ac-core demo --from-recording`)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from ac_core.cli import main
from ac_core.commands.record import RECORD_FIELDS, page_values, row_layout
from ac_core.commands.telemetry import resolve_fields
from ac_core.config import load_config
from ac_core.env.backends.recording import NEEDED_FIELDS, RecordedFrames, RecordingFormatError
from ac_core.telemetry_files import TelemetryWriter, read_recording
from ac_core.train.demonstrations import DemonstrationError, drive_laps
from ac_core.train.recordings import demonstrations_from_recordings

CONFIG = "iqn_spa_cpu"  # 10 Hz, the 63-row table, 3-step returns


@pytest.fixture(scope="module")
def reference_lap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, list[str]]:
    """One flying lap of the reference driver in the config's env (ac-core demo's own laps), with every
    env step's pages written as `ac-core record` writes its rows (its default fields), in three formats."""
    from ac_core.env import AssettoCorsaEnv
    from ac_core.train.demonstrations import reference_driver
    from ac_core.train.racing import env_settings_from_config

    cfg = load_config(CONFIG)
    stem = tmp_path_factory.mktemp("recorded") / "reference"
    settings = env_settings_from_config(cfg.env.to_kwargs(), backend="sim", lap_start="flying", max_laps=1,
                                        max_episode_seconds=240)
    env = AssettoCorsaEnv(settings)
    backend = env.core.backend

    def pages() -> dict:
        return {"physics": backend.physics[0], "graphics": backend.graphics[0], "static": backend.static}

    layout, columns = row_layout(resolve_fields(RECORD_FIELDS), pages())
    act = reference_driver(env)
    with TelemetryWriter(stem, ["t", *columns], ("csv", "json", "parquet")) as writer:
        obs, _ = env.reset(seed=0)
        writer.write(page_values(layout, pages(), {"t": 0.0}))
        done, steps = False, 0
        while not done:
            obs, _, terminated, truncated, _ = env.step(act(env, obs))
            steps += 1
            writer.write(page_values(layout, pages(), {"t": steps / settings.control_hz}))
            done = terminated or truncated
    env.close()  # and the same lap driven by ac-core demo, with the lap time it printed
    lines: list[str] = []
    return stem, drive_laps(cfg, 1, "reference", seed=0, echo=lines.append), lines


def test_the_record_commands_default_fields_hold_everything_a_demonstration_needs() -> None:
    recorded = set(resolve_fields(RECORD_FIELDS))
    assert {(kind, name) for kind, names in NEEDED_FIELDS.items() for name in names} <= recorded


def test_a_recorded_lap_replays_to_the_envs_own_transitions(reference_lap) -> None:
    """The reference driver's lap as the env made it (drive_laps) and as recorded then replayed: the same
    observations, ends and lap; the actions agree except where a steering target lay beyond the steering
    rate (the recording shows only the steering the car reached, and its nearest row is a smaller one)."""
    stem, driven, driven_lines = reference_lap
    lines: list[str] = []
    replayed = demonstrations_from_recordings(load_config(CONFIG), [stem.with_suffix(".csv")], echo=lines.append)
    assert len(replayed) == len(driven) and replayed.meta["laps"] == 1 and replayed.meta["episodes"] == 1
    assert lines == [f"{stem.with_suffix('.csv')}: {driven_lines[0]}"], (lines, driven_lines)
    # prev_action (the last 3 entries) is the applied row: it follows the recovered actions
    np.testing.assert_array_equal(replayed.obs[:, :-3], driven.obs[:, :-3])
    np.testing.assert_array_equal(replayed.terminated, driven.terminated)
    np.testing.assert_array_equal(replayed.discounts, driven.discounts)
    agree = float((replayed.actions == driven.actions).mean())
    assert agree >= 0.97, agree
    from ac_core.env import actions as A

    table = A.action_table("discrete_fine")
    differ = replayed.actions != driven.actions
    # where they differ, the pedals agree and the recovered steering is a step towards the driven one
    np.testing.assert_array_equal(table[replayed.actions[differ], 1:], table[driven.actions[differ], 1:])
    # rewards differ only by the smoothness term's share of a different applied steering
    assert np.abs(replayed.rewards - driven.rewards).max() < 0.05
    assert np.abs(replayed.rewards[~differ] - driven.rewards[~differ]).mean() < 1e-3


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_every_recording_format_replays_the_same(reference_lap, suffix: str) -> None:
    pytest.importorskip("pyarrow")
    stem, _, _ = reference_lap
    cfg = load_config(CONFIG)
    from_csv = demonstrations_from_recordings(cfg, [stem.with_suffix(".csv")], echo=lambda _line: None)
    other = demonstrations_from_recordings(cfg, [stem.with_suffix(suffix)], echo=lambda _line: None)
    np.testing.assert_array_equal(other.obs, from_csv.obs)
    np.testing.assert_array_equal(other.actions, from_csv.actions)


def _write(columns: dict[str, np.ndarray], path: Path) -> Path:
    with TelemetryWriter(path.with_suffix(""), list(columns), ("csv",)) as writer:
        for i in range(len(next(iter(columns.values())))):
            writer.write({k: v[i].item() for k, v in columns.items()})
    return path


def test_an_excursion_ends_an_episode_and_the_next_starts_back_on_the_track(reference_lap, tmp_path: Path) -> None:
    """Tyres out for 3 s mid-lap: that episode ended off the track before any lap, so it is dropped; the
    next starts once the car is back and runs to the line. A restart (the car moved back to an earlier
    point) splits the recording, and its replayed copy adds a second lap."""
    stem, _, _ = reference_lap
    columns = read_recording(stem.with_suffix(".csv"))
    off = columns["numberOfTyresOut"].copy()
    off[600:630] = 4
    excursion = _write({**columns, "numberOfTyresOut": off}, tmp_path / "excursion.csv")
    lines: list[str] = []
    cfg = load_config(CONFIG)
    demos = demonstrations_from_recordings(cfg, [excursion], echo=lines.append)
    assert demos.meta["episodes"] == 2 and demos.meta["laps"] == 1, demos.meta
    assert any("ended off the track" in line for line in lines), lines
    assert 500 < len(demos) < 650, len(demos)  # the second episode only: the rest of the lap after row 630

    n = len(columns["packetId"])
    twice = {k: np.concatenate([v, v]) for k, v in columns.items()}
    # the clock runs on by one step; the car is put back to the start
    twice["packetId"][n:] += columns["packetId"][-1] - columns["packetId"][0] + 33
    restarted = demonstrations_from_recordings(cfg, [_write(twice, tmp_path / "restart.csv")], echo=lambda _l: None)
    assert restarted.meta["episodes"] == 2 and restarted.meta["laps"] == 2
    assert len(restarted) == 2 * len(demonstrations_from_recordings(cfg, [stem.with_suffix(".csv")],
                                                                    echo=lambda _l: None))


def test_recordings_that_cannot_be_demonstrations_are_refused_in_one_line(reference_lap, tmp_path: Path,
                                                                            capsys) -> None:
    stem, _, _ = reference_lap
    columns = read_recording(stem.with_suffix(".csv"))
    cfg = load_config(CONFIG)
    lacking = _write({k: v for k, v in columns.items() if not k.startswith("wheelSlip")}, tmp_path / "few.csv")
    with pytest.raises(DemonstrationError, match=r"lacks physics\.wheelSlip.*default --fields"):
        demonstrations_from_recordings(cfg, [lacking])
    moved = {**columns, "carCoordinates_0": columns["carCoordinates_0"] + 5000.0}
    with pytest.raises(DemonstrationError, match=r"another track: set env\.track"):
        demonstrations_from_recordings(cfg, [_write(moved, tmp_path / "elsewhere.csv")])
    with pytest.raises(DemonstrationError, match="recording not found"):
        demonstrations_from_recordings(cfg, [tmp_path / "missing.csv"])
    (tmp_path / "junk.json").write_text("{\"not\": \"rows\"}")
    with pytest.raises(DemonstrationError, match="not a recording"):
        demonstrations_from_recordings(cfg, [tmp_path / "junk.json"])
    empty = _write({k: v[:0] for k, v in columns.items()}, tmp_path / "empty.csv")
    with pytest.raises(RecordingFormatError, match="no frames"):
        RecordedFrames.load(empty)
    out = tmp_path / "demo.npz"
    assert main(["demo", "--config", CONFIG, "--from-recording", str(lacking), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "wheelSlip" in err and not out.exists(), err


def test_a_physics_rate_recording_of_the_simulator_process_becomes_demonstrations(tmp_path: Path, capsys) -> None:
    """The real path: `ac-core sim` runs as its own process, a pad feeder holds the controls, `ac-core record`
    drains every 333 Hz physics packet to CSV, and `ac-core demo --from-recording` turns ~33 packets into
    each 10 Hz step with the held controls as its row."""
    from ac_core import _core
    from ac_core.env import actions as A
    from ac_core.feeders import make_feeder
    from ac_core.shm import PageSet
    from tests.processes import CLI, cli_env, wait_for

    prefix = f"recdemo{uuid.uuid4().hex[:8]}_"
    proc = subprocess.Popen([*CLI, "sim", "--prefix", prefix, "--lap-start", "pit_out", "--time-scale", "4"],
                            env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out = tmp_path / "held"
    try:
        wait_for(lambda: _core.SharedPage.exists(prefix + "static"), timeout=60, what="the simulator's pages",
                 proc=proc)
        feeder = make_feeder("pad", prefix=prefix)
        feeder.write(0.0, 0.66, 0.0)  # part throttle, straight on, out of the pit exit
        with PageSet(prefix) as pages:
            wait_for(lambda: pages.read_physics() and abs(float(pages.physics["gas"]) - 0.66) < 1e-3, timeout=30,
                     what="the simulator applying the pad's throttle", proc=proc)
        assert main(["record", "--prefix", prefix, "--out", str(out), "--duration", "0.5"]) == 0
        feeder.close()
    finally:
        proc.terminate()
        proc.wait(10)
    capsys.readouterr()
    demos_path = tmp_path / "held.npz"
    assert main(["demo", "--config", CONFIG, "--from-recording", str(out.with_suffix(".csv")),
                 "--out", str(demos_path)]) == 0
    assert f"-> {demos_path}" in capsys.readouterr().out
    from ac_core.train.demonstrations import Demonstrations

    demos = Demonstrations.load(demos_path)
    packets = read_recording(out.with_suffix(".csv"))["packetId"]
    steps = int((packets[-1] - packets[0]) // 33)  # 333 Hz packets, 10 Hz steps: 2 s of simulated time at ×4
    assert steps - 1 <= len(demos) <= steps and steps >= 15, (len(demos), steps)
    rows = A.action_table("discrete_fine")[demos.actions]
    held = np.all(np.isclose(rows, [0.0, 2 / 3, 0.0], atol=1e-6), axis=1)
    assert held.all(), rows
    assert demos.meta["driver"] == "recording" and demos.meta["control_hz"] == 10.0
