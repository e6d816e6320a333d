"""AC's own configuration files: ``cfg/race.ini`` (the session) and ``cfg/controls.ini`` (the bindings).

Both live in ``Documents/Assetto Corsa/cfg`` [research ac_session_launch.md §1, §3]. They are plain
``KEY=VALUE`` files with no spaces around ``=`` and upper-case keys, which :class:`IniFile` keeps
(Python's configparser would lower-case them). Every file ac_core writes is backed up first
(:class:`Backup`): the user's copy goes to ``<name>.ac_core_backup`` once, a backup left by a run that
died is never overwritten, and :meth:`Backup.restore` puts the user's file back.

Facts marked UNCERTAIN in the research are marked ``[UNVERIFIED]`` here; they were not checked
against the real game (docs/windows.md lists them).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ac_core.errors import InputError

BACKUP_SUFFIX = ".ac_core_backup"
# A file that did not exist before ac_core wrote it: restoring removes it again.
ABSENT_MARKER = b"ac_core: this file did not exist before\n"


class IniFile:
    """An ordered ``[SECTION] KEY=VALUE`` file that keeps key case and section order."""

    def __init__(self, sections: Mapping[str, Mapping[str, object]] | None = None) -> None:
        self.sections: dict[str, dict[str, str]] = {}
        for name, values in (sections or {}).items():
            self.set_section(name, values)

    @classmethod
    def parse(cls, text: str) -> IniFile:
        ini = cls()
        current: dict[str, str] | None = None
        for raw in text.lstrip("\ufeff").splitlines():
            line = raw.strip()
            if not line or line.startswith((";", "#")):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = ini.sections.setdefault(line[1:-1].strip(), {})
            elif "=" in line and current is not None:
                key, _, value = line.partition("=")
                current[key.strip()] = value.split(";", 1)[0].strip() if ";" in value else value.strip()
        return ini

    @classmethod
    def read(cls, path: Path) -> IniFile:
        return cls.parse(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else cls()

    def set_section(self, name: str, values: Mapping[str, object]) -> None:
        self.sections[name] = {k: ini_value(v) for k, v in values.items()}

    def get(self, section: str, key: str, default: str = "") -> str:
        return self.sections.get(section, {}).get(key, default)

    def text(self) -> str:
        out = []
        for name, values in self.sections.items():
            out.append(f"[{name}]")
            out.extend(f"{k}={v}" for k, v in values.items())
            out.append("")
        return "\n".join(out)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".ac_core_tmp")
        tmp.write_text(self.text(), encoding="utf-8", newline="\r\n")  # AC's own files use CRLF
        os.replace(tmp, path)


def ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # CM writes booleans as 1/0
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Backup:
    """Back up a file before ac_core writes it; restore the user's version afterwards."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + BACKUP_SUFFIX)

    def save(self) -> bool:
        """Copy the user's file aside (once). False when a backup already exists: an earlier run died
        before restoring, and that backup, not the file ac_core wrote since, is the user's."""
        if self.backup.exists():
            return False
        self.backup.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            shutil.copy2(self.path, self.backup)
        else:
            self.backup.write_bytes(ABSENT_MARKER)
        return True

    def restore(self) -> None:
        if not self.backup.exists():
            return
        if self.backup.read_bytes() == ABSENT_MARKER:
            self.path.unlink(missing_ok=True)
        else:
            os.replace(self.backup, self.path)
        self.backup.unlink(missing_ok=True)


# ---- where the files are ---------------------------------------------------------------------------


def default_documents() -> Path:
    """``Documents/Assetto Corsa`` for this machine: the user's Documents on Windows (a Documents folder
    moved to OneDrive is not followed [UNVERIFIED]: set env.ac_documents), the Proton prefix's on Linux."""
    if sys.platform == "win32":
        return Path(os.environ.get("USERPROFILE", str(Path.home()))) / "Documents" / "Assetto Corsa"
    return (Path.home() / ".local/share/Steam/steamapps/compatdata/244210/pfx/drive_c/users/steamuser"
            / "Documents/Assetto Corsa")


def documents_dir(configured: str | None) -> Path:
    return Path(configured) if configured else default_documents()


def cfg_dir(documents: Path) -> Path:
    return documents / "cfg"


# ---- race.ini -----------------------------------------------------------------------------------

# env.weather (the simulator's names) → an AC weather folder, and CSP WeatherFX's type for rain
# (CM Data/WeatherType.cs: LightRain=6, Rain=7). Kunos' own weathers have no rain; without CSP a
# damp or wet session is a cloudy dry one [UNVERIFIED: not driven in the game].
WEATHER_PRESETS: dict[str, tuple[str, int | None]] = {
    "clear": ("3_clear", None),
    "damp": ("7_heavy_clouds", 6),
    "wet": ("7_heavy_clouds", 7),
}
# CM's Game.SessionType (race.ini SESSION_0 TYPE); graphics.session is offset by one from this.
SESSION_TYPES = {"practice": 1, "hotlap": 4}
# env.lap_start → (session, SPAWN_SET). Hotlap always spawns at HOTLAP_START (a flying lap); practice at
# the pits or on the grid [CM-GP StartType; START for practice is UNVERIFIED].
LAP_START_SESSIONS = {"pit_out": ("practice", "PIT"), "standing": ("practice", "START"),
                      "flying": ("hotlap", "HOTLAP_START")}


def sun_angle(hours: float) -> float:
    """race.ini [LIGHTING] SUN_ANGLE for a time of day: 16·(seconds − 46800)/3600 (08:00 = −80, 18:00 = +80)."""
    return 16.0 * (hours * 3600.0 - 46800.0) / 3600.0


@dataclass
class RaceSpec:
    """One solo session, as race.ini states it."""

    car: str  # folder id
    skin: str
    track: str  # folder id
    layout: str  # layout folder, '' for a single-layout track
    weather: str = "clear"  # env.weather
    lap_start: str = "pit_out"  # env.lap_start
    time_of_day: float = 13.0  # hours
    ai_opponents: int = 0
    driver_name: str = "ac_core"

    @property
    def session(self) -> str:
        return LAP_START_SESSIONS[self.lap_start][0]

    @property
    def spawn_set(self) -> str:
        return LAP_START_SESSIONS[self.lap_start][1]


def race_ini(spec: RaceSpec, base: IniFile | None = None) -> IniFile:
    """race.ini for ``spec``, on top of the user's file (``base``) with the keys CM resets before each
    launch cleared (other cars, sessions, replay/benchmark/online modes) [CM-G ClearUpIniFile]."""
    if spec.lap_start not in LAP_START_SESSIONS:
        raise InputError(f"env.lap_start {spec.lap_start!r} cannot start an AC session; valid: "
                         f"{', '.join(LAP_START_SESSIONS)}")
    if spec.weather not in WEATHER_PRESETS:
        raise InputError(f"env.weather {spec.weather!r} has no AC weather; valid: {', '.join(WEATHER_PRESETS)}")
    ini = IniFile()
    for name, values in (base.sections if base else {}).items():
        if name.startswith(("CAR_", "SESSION_", "CONDITION_")) or name in ("EVENT", "SPECIAL_EVENT", "AUTOSPAWN"):
            continue
        ini.set_section(name, values)
    weather_id, weather_type = WEATHER_PRESETS[spec.weather]
    session_type = SESSION_TYPES[spec.session]
    hotlap = spec.session == "hotlap"
    sections: dict[str, dict[str, object]] = {
        "HEADER": {"VERSION": 2},
        "RACE": {"TRACK": spec.track, "CONFIG_TRACK": spec.layout, "MODEL": spec.car, "MODEL_CONFIG": "",
                 "SKIN": spec.skin, "CARS": 1 + spec.ai_opponents, "AI_LEVEL": 100, "FIXED_SETUP": 0,
                 "PENALTIES": 1, "DRIFT_MODE": 0, "JUMP_START_PENALTY": 0},
        "CAR_0": {"SETUP": "", "SKIN": spec.skin, "MODEL": "-", "MODEL_CONFIG": "", "BALLAST": 0, "RESTRICTOR": 0,
                  "DRIVER_NAME": spec.driver_name, "NATIONALITY": "ITA", "NATION_CODE": "ITA"},
        "SESSION_0": {"NAME": "Hotlap" if hotlap else "Practice", "TYPE": session_type, "DURATION_MINUTES": 0,
                      "SPAWN_SET": spec.spawn_set},
        "GHOST_CAR": {"RECORDING": 0, "PLAYING": 0, "SECONDS_ADVANTAGE": 0, "LOAD": 0, "FILE": "", "ENABLED": 0},
        "GROOVE": {"VIRTUAL_LAPS": 10, "MAX_LAPS": 1 if hotlap else 30, "STARTING_LAPS": 1 if hotlap else 0},
        "DYNAMIC_TRACK": {"PRESET": 5, "SESSION_START": 100, "RANDOMNESS": 0, "LAP_GAIN": 1,
                          "SESSION_TRANSFER": 100},
        "LIGHTING": {"SUN_ANGLE": sun_angle(spec.time_of_day), "TIME_MULT": 1, "CLOUD_SPEED": 0.2},
        "WEATHER": {"NAME": weather_id},
        "TEMPERATURE": {"AMBIENT": 26, "ROAD": 32},
        "WIND": {"SPEED_KMH_MIN": 0, "SPEED_KMH_MAX": 0, "DIRECTION_DEG": 0},
        "LAP_INVALIDATOR": {"ALLOWED_TYRES_OUT": -1},
        "OPTIONS": {"USE_MPH": 0},
        "REMOTE": {"ACTIVE": 0},
        "REPLAY": {"ACTIVE": 0, "FILENAME": ""},
        "BENCHMARK": {"ACTIVE": 0},
        "RESTART": {"ACTIVE": 0},
        "__PREVIEW_GENERATION": {"ACTIVE": 0},
    }
    if weather_type is not None:
        sections["LIGHTING"]["__CM_WEATHER_TYPE"] = weather_type  # CSP WeatherFX [UNVERIFIED without CSP]
    for i in range(1, spec.ai_opponents + 1):
        # AI cars: the same car and skin [UNVERIFIED: which keys AC needs for an offline AI entry]
        sections[f"CAR_{i}"] = {"MODEL": spec.car, "SKIN": spec.skin, "SETUP": "", "MODEL_CONFIG": "",
                                "AI_LEVEL": 100, "DRIVER_NAME": f"AI {i}", "NATIONALITY": "ITA"}
    for name, values in sections.items():
        ini.set_section(name, values)
    return ini


# ---- controls.ini -------------------------------------------------------------------------------

# vJoy's DirectInput product GUID (VID 1234, PID BEAD) [ACAI, CM-written]; the instance GUID is the
# device's own and AC's device matching is UNVERIFIED (index or name fallback suspected).
VJOY_PRODUCT_GUID = "BEAD1234-0000-0000-0000-504944564944"
VJOY_NAME = "vJoy Device"
# The uinput wheel ac_core creates (cpp/src/controls/uinput_feeder.cpp); the name Wine/Proton reports
# for it is UNVERIFIED.
UINPUT_NAME = "ac_core virtual wheel"
# Axes as the feeders write them (feeders.py): X steer, Y throttle, Z brake, Rx clutch; AXLE indices
# 0=X 1=Y 2=Z 3=Rx [CM DirectInputDevice.GetAxisValue].
AXLE = {"steer": 0, "throttle": 1, "brake": 2, "clutch": 3}
# Buttons (0-based in controls.ini) in feeders.BUTTONS order: gear_up 0, gear_down 1, restart 2, pause 3.
BUTTON = {"gear_up": 0, "gear_down": 1, "restart": 2, "pause": 3}


def controls_ini(device: str = "vjoy", restart_button: int = 3, pause_button: int = 4,
                 base: IniFile | None = None) -> IniFile:
    """A WHEEL profile for the vJoy device (or ac_core's uinput wheel under Proton): steer, throttle, brake,
    clutch axes, gear up/down, restart session and pause. Sections of ``base`` ac_core does not bind
    (keyboard, camera, CSP ``__EXT_*``) are kept. ``restart_button``/``pause_button`` are 1-based, as
    env.restart_button.

    The restart binding goes into AC's own ``[RESET_RACE]`` (honoured without CM) and CM's
    ``[__CM_RESET_SESSION]``; ``[__EXTRA_CM] DELAY_SPECIFIC_SYSTEM_COMMANDS=0`` switches off CM's
    450 ms hold requirement for such commands, the trap that makes a short press do nothing [CM-HK]."""
    if device not in ("vjoy", "uinput"):
        raise InputError(f"controls device {device!r} is not known; use vjoy (Windows) or uinput (Linux/Proton)")
    name, guid = (VJOY_NAME, VJOY_PRODUCT_GUID) if device == "vjoy" else (UINPUT_NAME, "")
    ini = IniFile()
    ours = {"HEADER", "CONTROLLERS", "STEER", "THROTTLE", "BRAKES", "CLUTCH", "GEARUP", "GEARDN", "SHIFTER",
            "HANDBRAKE", "RESET_RACE", "__CM_RESET_SESSION", "__CM_PAUSE", "PAUSE", "ADVANCED", "__EXTRA_CM"}
    for section, values in (base.sections if base else {}).items():
        if section not in ours:
            ini.set_section(section, values)
    restart, pause = restart_button - 1, pause_button - 1

    def button(index: int) -> dict[str, object]:
        return {"JOY": 0, "BUTTON": index, "KEY": -1, "XBOXBUTTON": -1, "BUTTON_MODIFICATOR": -1}

    def pedal(axle: int) -> dict[str, object]:
        return {"JOY": 0, "AXLE": axle, "MIN": -1, "MAX": 1, "GAMMA": 1}

    controllers: dict[str, object] = {"CON0": name}
    if guid:
        controllers["PGUID0"] = guid
    sections: dict[str, dict[str, object]] = {
        "HEADER": {"INPUT_METHOD": "WHEEL"},
        "CONTROLLERS": controllers,
        "STEER": {"JOY": 0, "AXLE": AXLE["steer"], "SCALE": 1, "LOCK": 900, "STEER_GAMMA": 1, "STEER_FILTER": 0,
                  "SPEED_SENSITIVITY": 0, "DEBOUNCING_MS": 0, "FF_GAIN": 0, "FILTER_FF": 0, "FF_DAMPER": 0},
        "THROTTLE": pedal(AXLE["throttle"]),
        "BRAKES": pedal(AXLE["brake"]),
        "CLUTCH": pedal(AXLE["clutch"]),
        "HANDBRAKE": {"JOY": -1, "BUTTON": -1, "AXLE": -1, "KEY": -1, "XBOXBUTTON": -1},
        "GEARUP": button(BUTTON["gear_up"]),
        "GEARDN": button(BUTTON["gear_down"]),
        "SHIFTER": {"ACTIVE": 0, "JOY": -1},
        "RESET_RACE": button(restart),
        "__CM_RESET_SESSION": button(restart),
        # AC has no "pause" system key of its own that a joystick can trigger without CM [UNVERIFIED]; CM's
        # command is __CM_PAUSE.
        "__CM_PAUSE": button(pause),
        "ADVANCED": {"COMBINE_WITH_KEYBOARD_CONTROL": 0},
        "__EXTRA_CM": {"DELAY_SPECIFIC_SYSTEM_COMMANDS": 0},
    }
    for section, values in sections.items():
        ini.set_section(section, values)
    return ini


def bound_controls(ini: IniFile) -> Iterator[tuple[str, str, int]]:
    """(control, kind 'axis'|'button', index) for every joystick binding in a controls.ini."""
    for control, section in (("steer", "STEER"), ("throttle", "THROTTLE"), ("brake", "BRAKES"),
                             ("clutch", "CLUTCH")):
        axle = ini.get(section, "AXLE", "-1")
        if ini.get(section, "JOY", "-1") != "-1" and axle.lstrip("-").isdigit() and int(axle) >= 0:
            yield control, "axis", int(axle)
    for control, section in (("gear_up", "GEARUP"), ("gear_down", "GEARDN"), ("restart", "RESET_RACE"),
                             ("pause", "__CM_PAUSE")):
        btn = ini.get(section, "BUTTON", "-1")
        if ini.get(section, "JOY", "-1") != "-1" and btn.lstrip("-").isdigit() and int(btn) >= 0:
            yield control, "button", int(btn)


def session_from_race_ini(ini: IniFile) -> dict[str, str]:
    """What a game reads from race.ini, in env terms: track, layout, car (folder id), skin, weather and
    lap_start (the inverse of :func:`race_ini`; the simulator's ``--race-ini`` uses it)."""
    spawn_to_start = {spawn: start for start, (_, spawn) in LAP_START_SESSIONS.items()}
    weather_id = ini.get("WEATHER", "NAME", "3_clear")
    weather_type = ini.get("LIGHTING", "__CM_WEATHER_TYPE")
    weather = "clear"
    for name, (wid, wtype) in WEATHER_PRESETS.items():
        if wid == weather_id and str(wtype if wtype is not None else "") == weather_type:
            weather = name
    car = ini.get("RACE", "MODEL")
    if not car or not ini.get("RACE", "TRACK"):
        raise InputError("race.ini has no [RACE] MODEL or TRACK: write it with `ac-core launch` (or start a session "
                         "in AC once)")
    return {"track": ini.get("RACE", "TRACK"), "layout": ini.get("RACE", "CONFIG_TRACK"), "car": car,
            "skin": ini.get("CAR_0", "SKIN", ini.get("RACE", "SKIN")), "weather": weather,
            "lap_start": spawn_to_start.get(ini.get("SESSION_0", "SPAWN_SET", "PIT"), "pit_out")}
