"""`ac-core launch`, `smoke-test` and crash/freeze recovery with `ac-core sim` as the game: the simulator
reads the race.ini that launch writes (car, track, weather, spawn), as the game does. Faults are real:
the game process is killed (a crash) or stopped with SIGSTOP (a hang: pages still there, LIVE, frozen
packetId)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from ac_core.cli import main
from ac_core.env import AssettoCorsaEnv
from ac_core.env.backends.supervisor import GameSessionLostError
from ac_core.shm import PageNotFoundError, PageSet
from tests.processes import CLI, cli_env, wait_for
from tests.test_game_files import SEED_CAR, make_install

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the simulator as the game: Linux")

# The simulator as the game, 4x real time so a few hundred steps take seconds. `sh -c` lets a test make
# the game refuse to start (the file "broken" in the AC folder), as a game that cannot load would.
# Placeholders are filled after the command line is split, so inside the shell's string they are quoted.
GAME = ("sh -c 'test ! -e \"{root}/broken\" && exec \"{python}\" -m ac_core.cli sim --race-ini \"{race_ini}\" "
        "--prefix {prefix} --time-scale 4'")


@pytest.fixture
def game(tmp_path: Path, prefix: str) -> dict[str, str]:
    root = make_install(tmp_path / "assettocorsa")
    docs = tmp_path / "Documents/Assetto Corsa"
    (docs / "cfg").mkdir(parents=True)
    (docs / "cfg/race.ini").write_text("[RACE]\nMODEL=users_car\n")
    return {"ac_root": str(root), "ac_documents": str(docs), "prefix": prefix, "ac_starter": "command",
            "ac_command": GAME}


def writer_pid(prefix: str) -> int | None:
    try:
        with PageSet(prefix) as pages:
            return pages.writer_pid()
    except PageNotFoundError:
        return None


def test_launch_then_smoke_test(game: dict[str, str]) -> None:
    env = cli_env()
    launch = subprocess.run([*CLI, "launch", "--ac-root", game["ac_root"], "--documents", game["ac_documents"],
                             "--car", "FormulaAlpha2022", "--track", "spa", "--lap-start", "standing",
                             "--starter", "command", "--command", GAME, "--prefix", game["prefix"], "--json"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert launch.returncode == 0, launch.stderr
    report = json.loads(launch.stdout)
    try:
        assert report["car"] == SEED_CAR and report["car_ui_name"] == "Formula Alpha 2022"
        assert report["spawn"] == "START" and report["skin"] == "00_red"
        # The user's race.ini is back once the game has read it.
        assert (Path(game["ac_documents"]) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"
        smoke = subprocess.run([*CLI, "smoke-test", "--prefix", game["prefix"], "--feeder", "pad", "--json",
                                "--controls", "steer,throttle,brake,clutch"],
                               env=env, capture_output=True, text=True, timeout=120)
        result = json.loads(smoke.stdout)
        assert smoke.returncode == 0, result
        names = [c["name"] for c in result["checks"]]
        assert names == ["pages present", "live", "packet rate", "echo steer", "echo throttle", "echo brake",
                         "echo clutch", "restart", "lap clock"]
        assert result["seconds"] < 60
    finally:
        os.kill(report["pid"], signal.SIGTERM)
    wait_for(lambda: writer_pid(game["prefix"]) is None, 20, what="the game to remove its pages")
    failed = subprocess.run([*CLI, "smoke-test", "--prefix", game["prefix"], "--feeder", "pad"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "FAIL" in failed.stdout and "pages present" in failed.stdout


def test_launch_errors_list_what_is_installed(game: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["launch", "--ac-root", game["ac_root"], "--documents", game["ac_documents"], "--starter", "command",
            "--command", GAME, "--prefix", game["prefix"]]
    assert main([*base, "--car", "dallara_f317", "--track", "spa"]) == 2
    err = capsys.readouterr().err.strip()
    assert "installed cars: ks_mazda_miata, vrc_formula_alpha_2022" in err and "\n" not in err
    assert main([*base, "--car", "FormulaAlpha2022", "--track", "ks_barcelona", "--layout", "layout_x"]) == 2
    assert "installed layouts: layout_gp, layout_national" in capsys.readouterr().err
    Path(game["ac_root"], "broken").touch()
    assert main([*base, "--car", "FormulaAlpha2022", "--track", "spa"]) == 1
    assert "the game exited with code 1 while loading" in capsys.readouterr().err
    assert (Path(game["ac_documents"]) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"


def inject(prefix: str, faults: list[str], every_s: float, log: list[tuple[str, int]]) -> threading.Thread:
    """Kill (crash) or SIGSTOP (hang) the game, waiting for a new game process before each fault."""

    def run() -> None:
        last = None
        for fault in faults:
            pid = wait_for(lambda old=last: (p := writer_pid(prefix)) not in (None, old) and p, 60,
                           what="a game process")
            time.sleep(every_s)
            os.kill(pid, signal.SIGKILL if fault == "crash" else signal.SIGSTOP)
            log.append((fault, pid))
            last = pid

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


TRAIN = """
env:
  backend: ac
  feeder: pad
  track: spa
  track_file: spa
  car: FormulaAlpha2022
  lap_start: pit_out
  control_hz: 20
  max_episode_seconds: 8
  reset_timeout_s: 2
  ac_launch: true
  ac_starter: command
  relaunch_tries: 2
agent:
  batch_size: 16
  n_quantiles: 4
  n_quantiles_policy: 4
  hidden_units: 32
  learning_starts: 100
  epsilon_decay_steps: 300
  replay_size: 2000
train:
  total_timesteps: 600
  eval_interval: 100000
  save_interval: 100000
  log_interval: 100
  torch_threads: 1
  progress: false
"""


def train_config(tmp_path: Path, game: dict[str, str]) -> Path:
    cfg = tmp_path / "live.yaml"
    lines = [f"  {k}: {json.dumps(v)}" for k, v in game.items()]
    cfg.write_text(TRAIN.replace("  ac_launch: true\n", "  ac_launch: true\n" + "\n".join(lines) + "\n"))
    return cfg


def test_training_survives_two_crashes_and_a_hang(tmp_path: Path, game: dict[str, str]) -> None:
    cfg = train_config(tmp_path, game)
    log: list[tuple[str, int]] = []
    thread = inject(game["prefix"], ["crash", "hang", "crash"], 2.0, log)
    ck = tmp_path / "ck"
    assert main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(tmp_path / "tb")]) == 0
    thread.join(timeout=5)
    assert [f for f, _ in log] == ["crash", "hang", "crash"]
    state = torch.load(ck / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 600  # the step count carried on across the relaunches
    for _, pid in log:  # every faulty game is gone (the hung one killed), none left behind
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert writer_pid(game["prefix"]) is None
    assert (Path(game["ac_documents"]) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"
    from ac_core.commands.curve import read_scalars

    scalars = read_scalars(tmp_path / "tb", ("env/session_relaunches", "env/dropped_episodes"))
    assert scalars["env/session_relaunches"][1].max() == 3  # TensorBoard counts the relaunches
    assert scalars["env/dropped_episodes"][1].max() >= 1


def test_env_counts_relaunches_and_drops_the_interrupted_episode(game: dict[str, str]) -> None:
    env = AssettoCorsaEnv(backend="ac", feeder="pad", track_file="spa", car="FormulaAlpha2022", ac_launch=True,
                          reset_timeout_s=2.0, relaunch_tries=1, **game)
    try:
        env.reset(seed=0)
        env.step(0)
        first = writer_pid(game["prefix"])
        os.kill(first, signal.SIGSTOP)  # a hang
        _, reward, terminated, truncated, info = env.step(0)
        assert info["episode_dropped"] and truncated and not terminated and reward == 0.0
        assert info["timing"]["relaunches"] == 1 and info["timing"]["dropped_episodes"] == 1
        assert "no new physics packet for 2 s" in info["timing"]["fault"]
        assert writer_pid(game["prefix"]) not in (None, first)
        env.reset()
        _, _, _, _, info = env.step(0)
        assert "episode_dropped" not in info and info["timing"]["relaunches"] == 1
        # Give up: the game cannot start again (relaunch_tries 1), one line naming what happened.
        Path(game["ac_root"], "broken").touch()
        os.kill(writer_pid(game["prefix"]), signal.SIGKILL)
        with pytest.raises(GameSessionLostError) as e:
            for _ in range(50):
                env.step(0)
        text = str(e.value)
        assert "the game process exited with code -9" in text and "1 relaunch in a row failed" in text
        assert "exited with code 1 while loading" in text and "--resume" in text and "\n" not in text
    finally:
        env.close()
    assert (Path(game["ac_documents"]) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"


def test_csp_backend_relaunches_a_crashed_game(game: dict[str, str]) -> None:
    # CSP's waits time out (no process check inside them): a crash is found after reset_timeout_s.
    env = AssettoCorsaEnv(backend="csp", track_file="spa", car="FormulaAlpha2022", ac_launch=True,
                          reset_timeout_s=2.0, csp_watchdog=False, **game)
    try:
        env.reset(seed=0)
        env.step(0)
        first = writer_pid(game["prefix"])
        os.kill(first, signal.SIGKILL)
        _, _, _, truncated, info = env.step(0)
        assert info["episode_dropped"] and truncated and info["timing"]["relaunches"] == 1
        assert writer_pid(game["prefix"]) not in (None, first)
        env.reset()
        _, _, _, _, info = env.step(0)
        assert "episode_dropped" not in info and info["timing"]["ticks"] > 0
    finally:
        env.close()


def test_training_gives_up_with_a_checkpoint_and_one_line(tmp_path: Path, game: dict[str, str],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = train_config(tmp_path, game)
    root = Path(game["ac_root"])

    def break_the_game() -> None:  # the game crashes and cannot start again
        pid = wait_for(lambda: writer_pid(game["prefix"]), 60, what="the game")
        time.sleep(3.0)
        (root / "broken").touch()
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=break_the_game, daemon=True)
    thread.start()
    ck = tmp_path / "ck"
    code = main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(tmp_path / "tb")])
    thread.join(timeout=5)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert any("the game process exited with code -9" in line and "2 relaunches in a row failed" in line
               for line in err), err
    state = torch.load(ck / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] < 600  # saved where it stopped
    assert (Path(game["ac_documents"]) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"
