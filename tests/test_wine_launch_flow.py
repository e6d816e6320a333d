"""The Windows launch path under wine: `ac-core setup-controls` → `ac-core launch` starts the stand-in
acs.exe (cpp/windows/acs_stand_in.cpp) → `ac-core smoke-test` passes → training runs a few hundred steps
through an injected crash, a hang and a second crash, relaunching the stand-in each time, and keeps its
step count.

The controls take the Windows path from the vJoy API on: ac_core (Linux Python) writes the pad page,
vjoy_pad_relay.exe feeds it to vJoy through the project's VJoyFeeder and the fake vJoyInterface.dll, and
the stand-in reads the device state through the controls.ini that setup-controls wrote. The stand-in
backs its pages by files in /dev/shm (as simshmbridge does under Proton) so this process reads them.

Run by cpp/windows/run_wine_tests.sh, which builds the programs and sets AC_CORE_WINE_BUILD (the mingw
build folder) and WINEPREFIX; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch

from ac_core.cli import main
from ac_core.shm import PageNotFoundError, PageSet
from tests.processes import CLI, cli_env, wait_for
from tests.test_game_files import SEED_CAR, make_install
from tests.test_game_launch import TRAIN

BUILD = os.environ.get("AC_CORE_WINE_BUILD")
WINE = shutil.which("wine64") or shutil.which("wine")
pytestmark = pytest.mark.skipif(not (BUILD and WINE and os.environ.get("WINEPREFIX")),
                                reason="run by cpp/windows/run_wine_tests.sh (needs the mingw build and wine)")
VJOY_RECORD = "Local\\ac_core_wine_launch_vjoy"


def winepath(windows_path: str) -> Path:
    out = subprocess.run(["winepath", "-u", windows_path], capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


@pytest.fixture
def wine_game(tmp_path: Path, prefix: str, monkeypatch: pytest.MonkeyPatch):
    build = Path(BUILD)
    root = make_install(tmp_path / "assettocorsa")
    shutil.copy2(build / "acs.exe", root / "acs.exe")
    relay_dir = tmp_path / "relay"
    relay_dir.mkdir()
    for name in ("vjoy_pad_relay.exe", "vJoyInterface.dll"):
        shutil.copy2(build / name, relay_dir / name)
    # The environment the stand-in and the relay read (the launcher passes ours on to the game).
    monkeypatch.setenv("ACS_STANDIN_SHM_DIR", "Z:\\dev\\shm")
    monkeypatch.setenv("ACS_STANDIN_PREFIX", prefix)
    monkeypatch.setenv("FAKE_VJOY_RECORD", VJOY_RECORD)
    printed = subprocess.run([WINE, str(root / "acs.exe"), "--print-documents"], capture_output=True, text=True,
                             check=True, timeout=120)
    docs = winepath(printed.stdout.strip())
    shutil.rmtree(docs / "cfg", ignore_errors=True)
    (docs / "cfg").mkdir(parents=True)
    (docs / "cfg/race.ini").write_text("[RACE]\nMODEL=users_car\n")
    relay = subprocess.Popen([WINE, str(relay_dir / "vjoy_pad_relay.exe"), f"Z:\\dev\\shm\\{prefix}pad"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    game = {"ac_root": str(root), "ac_documents": str(docs), "prefix": prefix, "ac_starter": "acs",
            "ac_command": WINE + " {exe}"}
    try:
        yield game
    finally:
        relay.kill()
        relay.wait()
        for kind in ("physics", "graphics", "static"):  # the stand-in's file-backed pages outlive it
            Path(f"/dev/shm/{prefix}{kind}").unlink(missing_ok=True)


def packet_id(prefix: str) -> int | None:
    try:
        with PageSet(prefix) as pages:
            return pages.read_physics()
    except PageNotFoundError:
        return None


def test_launch_smoke_test_and_training_through_crashes_and_a_hang(wine_game: dict[str, str], tmp_path: Path) -> None:
    env = cli_env()
    docs, root, prefix = wine_game["ac_documents"], Path(wine_game["ac_root"]), wine_game["prefix"]
    assert main(["setup-controls", "--documents", docs, "--device", "vjoy"]) == 0
    launch = subprocess.run([*CLI, "launch", "--ac-root", str(root), "--documents", docs, "--car", "FormulaAlpha2022",
                             "--track", "spa", "--command", wine_game["ac_command"], "--prefix", prefix, "--json",
                             "--timeout", "120"], env=env, capture_output=True, text=True, timeout=180)
    assert launch.returncode == 0, launch.stderr
    report = json.loads(launch.stdout)
    try:
        assert report["car"] == SEED_CAR and report["pid"]
        # Once AC has read them, the user's race.ini is back and steam_appid.txt (written for the start) gone.
        assert (Path(docs) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"
        assert not (root / "steam_appid.txt").exists()
        smoke = subprocess.run([*CLI, "smoke-test", "--prefix", prefix, "--feeder", "pad", "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        result = json.loads(smoke.stdout)
        assert smoke.returncode == 0, result
        assert [c["name"] for c in result["checks"]][-2:] == ["restart", "lap clock"]
    finally:
        (root / "acs_stand_in_fault.txt").write_text("crash")  # the launched game goes: training launches its own
        wait_for(lambda: not (root / "acs_stand_in_fault.txt").exists(), 30, what="the stand-in to crash")

    cfg = tmp_path / "wine.yaml"
    lines = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in wine_game.items())
    cfg.write_text(TRAIN.replace("  ac_launch: true\n", f"  ac_launch: true\n{lines}\n")
                   .replace("  reset_timeout_s: 2\n", "  reset_timeout_s: 3\n  restart_hold_s: 0.15\n")
                   .replace("  relaunch_tries: 2\n", "  relaunch_tries: 3\n  ac_launch_timeout_s: 120\n"))
    faults: list[str] = []

    def inject() -> None:
        for fault in ("crash", "freeze", "crash"):
            wait_for(lambda: (packet_id(prefix) or 0) > 600, 120, what="a game running for 2 s")
            (root / "acs_stand_in_fault.txt").write_text(fault)
            wait_for(lambda: not (root / "acs_stand_in_fault.txt").exists(), 30, what=f"the stand-in to {fault}")
            faults.append(fault)
            # A new game counts its packets from 1 again.
            wait_for(lambda: (p := packet_id(prefix)) is not None and p < 300, 120, what="the relaunched game")

    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    ck = tmp_path / "ck"
    t0 = time.monotonic()
    assert main(["train", "--config", str(cfg), "--out", str(ck), "--log-dir", str(tmp_path / "tb")]) == 0
    print(f"training through {faults} took {time.monotonic() - t0:.1f} s")
    thread.join(timeout=10)
    assert faults == ["crash", "freeze", "crash"]
    assert torch.load(ck / "last.pt", map_location="cpu", weights_only=False)["step"] == 600
    assert (Path(docs) / "cfg/race.ini").read_text() == "[RACE]\nMODEL=users_car\n"
    assert not (root / "steam_appid.txt").exists()  # ac_core wrote it, ac_core removed it
