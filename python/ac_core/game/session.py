"""Start an Assetto Corsa session from Python, wait until it drives, stop it, start it again.

:class:`GameSession` writes the session into AC's ``race.ini`` (backing up the user's file), starts
the game, waits until its pages are live with the configured car and track, and on ``close()`` stops
what it started and restores the user's files. Three ways to start the game (``env.ac_starter``):

* ``acs``: ``acs.exe`` directly, working directory = the AC folder, with ``steam_appid.txt`` (244210)
  so Steamworks does not restart it through Steam, and PYTHONHOME/PYTHONPATH blanked as Content
  Manager does [research §2, CM AppIdStarter]. ``env.ac_command`` can wrap it (``wine {exe}``).
* ``content_manager``: ``Content Manager.exe acmanager://race/config?configFile=<race.ini>`` [CM-ARG];
  CM starts acs.exe itself, so a hang is found by the frozen packetId only and the game is stopped
  with ``taskkill /IM acs.exe`` [UNVERIFIED with the real CM].
* ``command``: any program that reads race.ini and publishes the pages, from ``env.ac_command`` with
  ``{python}``, ``{exe}``, ``{root}``, ``{race_ini}``, ``{documents}`` and ``{prefix}`` filled in —
  ``ac-core sim --race-ini {race_ini}`` (the tests, Linux), or the Windows stand-in under wine.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ac_core import pages as P
from ac_core.errors import AcCoreError, InputError
from ac_core.game.config_files import Backup, IniFile, RaceSpec, cfg_dir, documents_dir, race_ini
from ac_core.game.content import AcInstall, car_matches, car_mismatch_message, normalise
from ac_core.shm import PageNotFoundError, PageSet, SessionState, watch_session

STARTERS = ("acs", "content_manager", "command")
STEAM_APP_ID = "244210"
# How often the launcher looks at the pages while the game loads.
POLL_S = 0.25


class GameLaunchError(AcCoreError):
    """The game did not start, or did not reach a live session with the configured car and track."""


@dataclass
class LaunchOptions:
    """What :class:`GameSession` needs (from env settings or ``ac-core launch``'s options)."""

    ac_root: str
    documents: str | None
    prefix: str
    car: str
    track: str
    layout: str = ""
    skin: str | None = None
    weather: str = "clear"
    lap_start: str = "pit_out"
    time_of_day: float = 13.0
    ai_opponents: int = 0
    starter: str = "acs"
    command: str | None = None
    timeout_s: float = 180.0

    @classmethod
    def from_settings(cls, settings: Any) -> LaunchOptions:
        if not settings.ac_root:
            raise InputError("env.ac_launch needs env.ac_root: the Assetto Corsa folder (the one with acs.exe)")
        return cls(ac_root=settings.ac_root, documents=settings.ac_documents, prefix=settings.prefix,
                   car=settings.car, track=settings.track, layout=settings.ac_layout, skin=settings.ac_skin,
                   weather=settings.weather, lap_start=settings.lap_start, time_of_day=settings.ac_time_of_day,
                   ai_opponents=settings.ac_ai_opponents, starter=settings.ac_starter, command=settings.ac_command,
                   timeout_s=settings.ac_launch_timeout_s)


def clean_environment() -> dict[str, str]:
    """The child's environment without this venv's Python variables (AC embeds its own Python)."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONOPTIMIZE"):
        env.pop(key, None)
    return env


class GameSession:
    """One AC session that ac_core launched: config files, the game process, readiness, relaunch."""

    def __init__(self, options: LaunchOptions) -> None:
        if options.starter not in STARTERS:
            raise InputError(f"env.ac_starter {options.starter!r} is not valid; valid: {', '.join(STARTERS)}")
        if options.starter == "command" and not options.command:
            raise InputError("env.ac_starter 'command' needs env.ac_command, e.g. 'wine {exe}' or "
                             "'{python} -m ac_core.cli sim --race-ini {race_ini} --prefix {prefix}'")
        self.options = options
        self.install = AcInstall.open(options.ac_root)
        self.car_id = self.install.resolve_car(options.car)
        self.car_ui_name = self.install.car_ui_name(self.car_id)
        self.skin = self.install.check_skin(self.car_id, options.skin)
        self.track_id, self.layout = self.install.check_track(options.track, options.layout)
        self.spec = RaceSpec(car=self.car_id, skin=self.skin, track=self.track_id, layout=self.layout,
                             weather=options.weather, lap_start=options.lap_start,
                             time_of_day=options.time_of_day, ai_opponents=options.ai_opponents)
        from ac_core.game.config_files import WEATHER_PRESETS

        if options.weather in WEATHER_PRESETS:
            self.install.check_weather(WEATHER_PRESETS[options.weather][0])
        self.documents = documents_dir(options.documents)
        self.race_ini_path = cfg_dir(self.documents) / "race.ini"
        self._race_backup = Backup(self.race_ini_path)
        self._appid_created = False
        self._stderr: Any = None
        self.process: subprocess.Popen | None = None
        self.launches = 0

    # -- config ----------------------------------------------------------------------------------
    def write_config(self) -> Path:
        """Back up the user's race.ini (once) and write this session's."""
        self._race_backup.save()
        base = IniFile.read(self._race_backup.backup) if self._race_backup.backup.is_file() else None
        race_ini(self.spec, base).write(self.race_ini_path)
        return self.race_ini_path

    def restore_config(self) -> None:
        self._race_backup.restore()
        if self._appid_created:
            (self.install.root / "steam_appid.txt").unlink(missing_ok=True)
            self._appid_created = False

    # -- the process -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        o = self.options
        exe = self.install.root / "acs.exe"
        fields = {"python": sys.executable, "exe": str(exe), "root": str(self.install.root),
                  "race_ini": str(self.race_ini_path), "documents": str(self.documents), "prefix": o.prefix}
        if o.starter == "content_manager":
            cm = self.install.root / "Content Manager.exe"
            if not cm.is_file():
                raise GameLaunchError(f"no Content Manager at {cm}: put 'Content Manager.exe' in the AC folder, or "
                                      "set env.ac_starter to acs")
            return [str(cm), f"acmanager://race/config?configFile={self.race_ini_path}"]
        if o.starter == "acs" and not o.command:
            if not exe.is_file():
                raise GameLaunchError(f"no acs.exe in {self.install.root}: set env.ac_root to the AC folder")
            if sys.platform != "win32":
                raise GameLaunchError("acs.exe needs Windows: on Linux set env.ac_command (e.g. 'wine {exe}', or a "
                                      "Proton command) or env.ac_starter 'command'")
            return [str(exe)]
        return [part.format(**fields) for part in shlex.split(o.command or "", posix=sys.platform != "win32")]

    def start(self) -> None:
        """Write the config and start the game (not waiting for it)."""
        self.write_config()
        if self.options.starter == "acs":
            appid = self.install.root / "steam_appid.txt"
            if not appid.exists():
                try:
                    appid.write_text(STEAM_APP_ID)
                    self._appid_created = True
                except OSError:
                    pass  # a read-only install: Steam relaunches the game through itself, which also works
        cmd = self.command()
        try:
            # AC embeds its own Python: this venv's variables would break it; a command keeps them ({python}).
            env = None if self.options.starter == "command" else clean_environment()
            # stderr into a file, not a pipe: a game left running must not hold the caller's pipes, and a
            # chatty one (wine) must never block on a full pipe; its tail explains a failed start.
            if self._stderr is not None:
                self._stderr.close()
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the game runs
            self.process = subprocess.Popen(cmd, cwd=str(self.install.root), env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=self._stderr)
        except OSError as e:
            raise GameLaunchError(f"could not start {cmd[0]}: {e.strerror or e}; check env.ac_root / env.ac_command") \
                from None
        self.launches += 1

    def exit_code(self) -> int | None:
        """The game's exit code once it exited, None while it runs (or when CM started it: unknown)."""
        if self.process is None or self.options.starter == "content_manager":
            return None
        return self.process.poll()

    def process_alive(self) -> bool:
        return self.process is not None and self.exit_code() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the game we started: hung or not, it goes (SIGKILL works on a frozen process too)."""
        if self.options.starter == "content_manager" and sys.platform == "win32":
            subprocess.run(["taskkill", "/IM", "acs.exe", "/F"], capture_output=True, check=False)
        proc, self.process = self.process, None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if proc is None or proc.poll() is not None:
            return
        if sys.platform != "win32":
            try:
                os.kill(proc.pid, signal.SIGCONT)  # a stopped (frozen) process cannot act on SIGTERM
            except ProcessLookupError:
                return
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stderr_tail(self) -> str:
        """The last of what the game wrote to stderr, on one line."""
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""
        return " ".join(text.split())[-500:]

    # -- readiness -------------------------------------------------------------------------------
    def wait_live(self, timeout_s: float | None = None) -> SessionState:
        """Wait until the pages are live with the configured car and track (GameLaunchError otherwise)."""
        timeout = self.options.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        seen = "no pages yet"
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                tail = self.stderr_tail()
                raise GameLaunchError(f"the game exited with code {code} while loading{': ' + tail if tail else ''}; "
                                      f"check {self.race_ini_path} and the game's log (Documents/Assetto Corsa/logs)")
            try:
                with PageSet(self.options.prefix) as pages:
                    state = watch_session(pages, POLL_S)
                    summary = P.static_summary(pages.static)
            except PageNotFoundError:
                time.sleep(POLL_S)
                continue
            seen = f"{state.state}, car {summary['carModel']!r}, track {summary['track']!r}"
            if state.state == "live" and summary["carModel"]:
                self.check_running(summary["carModel"], summary["track"], summary["trackConfiguration"])
                return state
            if state.state == "gone":
                time.sleep(POLL_S)  # leftover pages of an earlier game: the new one replaces them
        self.stop()
        raise GameLaunchError(f"the game did not reach a live session within {timeout:g} s (last seen: {seen}); "
                              "drive away from the pits if AC waits at the setup screen, or raise "
                              "env.ac_launch_timeout_s")

    def check_running(self, car_model: str, track: str, layout: str) -> None:
        """The session runs the car and track this launch wrote, else GameLaunchError naming both."""
        if not car_matches(self.car_id, car_model, self.car_ui_name):
            raise GameLaunchError(car_mismatch_message(self.options.car, car_model, self.car_ui_name) +
                                  f" (race.ini {self.race_ini_path} asks for {self.car_id!r})")
        wrong_layout = bool(self.layout) and normalise(layout) != normalise(self.layout)
        if normalise(track) != normalise(self.track_id) or wrong_layout:
            raise GameLaunchError(f"AC runs track {track!r} layout {layout!r}, but race.ini asks for {self.track_id!r} "
                                  f"layout {self.layout!r}: AC did not read {self.race_ini_path} (is env.ac_documents "
                                  "the Documents folder AC uses?)")

    def launch(self) -> SessionState:
        """Start and wait until live."""
        self.start()
        try:
            return self.wait_live()
        except BaseException:
            self.stop()
            raise

    def relaunch(self) -> SessionState:
        self.stop()
        return self.launch()

    def close(self) -> None:
        self.stop()
        self.restore_config()
