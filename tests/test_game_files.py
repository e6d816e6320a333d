"""AC's config files and content as ac_core writes and reads them: race.ini, controls.ini, backups, car
names (folder id, ui name, the seed's spelling), and the errors that list what is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ac_core.cli import main
from ac_core.env.backends.live import check_car
from ac_core.env.settings import EnvConfigError, make_settings
from ac_core.game.config_files import (
    ABSENT_MARKER,
    Backup,
    IniFile,
    RaceSpec,
    bound_controls,
    controls_ini,
    race_ini,
    session_from_race_ini,
    sun_angle,
)
from ac_core.game.content import AcContentError, AcInstall, car_matches

SEED_CAR = "vrc_formula_alpha_2022"


def make_install(root: Path) -> Path:
    """A minimal AC folder: the seed's car (ui name with a BOM, two skins), a stock car with a broken ui
    file, a single-layout track, a multi-layout one, and the clear weather."""
    cars = root / "content/cars"
    (cars / SEED_CAR / "ui").mkdir(parents=True)
    (cars / SEED_CAR / "ui/ui_car.json").write_bytes(b'\xef\xbb\xbf{"name": "Formula Alpha 2022", "brand": "VRC"}')
    for skin in ("00_red", "01_blue"):
        (cars / SEED_CAR / "skins" / skin).mkdir(parents=True)
    (cars / "ks_mazda_miata/ui").mkdir(parents=True)
    (cars / "ks_mazda_miata/ui/ui_car.json").write_text('{"name": "Mazda MX-5 NA", "specs": {broken')
    (root / "content/tracks/spa/ui").mkdir(parents=True)
    (root / "content/tracks/spa/ui/ui_track.json").write_text('{"name": "Spa"}')
    for layout in ("layout_gp", "layout_national"):
        (root / f"content/tracks/ks_barcelona/ui/{layout}").mkdir(parents=True)
        (root / f"content/tracks/ks_barcelona/ui/{layout}/ui_track.json").write_text("{}")
    (root / "content/weather/3_clear").mkdir(parents=True)
    (root / "content/weather/7_heavy_clouds").mkdir(parents=True)
    return root


@pytest.fixture
def install(tmp_path: Path) -> AcInstall:
    return AcInstall.open(make_install(tmp_path / "assettocorsa"))


def test_the_seed_car_is_found_by_id_ui_name_and_seed_spelling(install: AcInstall) -> None:
    for name in (SEED_CAR, "Formula Alpha 2022", "FormulaAlpha2022", "formula_alpha_2022"):
        assert install.resolve_car(name) == SEED_CAR, name
    assert install.resolve_car("Mazda MX-5 NA") == "ks_mazda_miata"  # the name from a broken ui file
    assert install.car_ui_name(SEED_CAR) == "Formula Alpha 2022"
    assert car_matches("FormulaAlpha2022", SEED_CAR)  # without the install: the seed's spelling
    assert not car_matches("FormulaAlpha2022", "ks_mazda_miata", "Mazda MX-5 NA")


def test_the_seed_config_is_accepted_for_the_real_car_and_a_mismatch_names_both(tmp_path: Path) -> None:
    check_car(make_settings(backend="ac", car="FormulaAlpha2022"), SEED_CAR)  # no AC folder needed
    root = make_install(tmp_path / "ac")
    check_car(make_settings(backend="ac", car="Formula Alpha 2022", ac_root=str(root)), SEED_CAR)
    with pytest.raises(EnvConfigError) as e:
        check_car(make_settings(backend="ac", car="FormulaAlpha2022", ac_root=str(root)), "ks_mazda_miata")
    text = str(e.value)
    assert "'ks_mazda_miata' ('Mazda MX-5 NA' in its ui_car.json)" in text and "'FormulaAlpha2022'" in text
    assert "set env.car to 'ks_mazda_miata'" in text and "\n" not in text


def test_missing_content_errors_list_what_is_installed(install: AcInstall, tmp_path: Path) -> None:
    with pytest.raises(AcContentError, match=r"installed cars: ks_mazda_miata, vrc_formula_alpha_2022"):
        install.resolve_car("dallara_f317")
    with pytest.raises(AcContentError, match=r"installed skins: 00_red, 01_blue"):
        install.check_skin(SEED_CAR, "99_gold")
    with pytest.raises(AcContentError, match=r"installed tracks: ks_barcelona, spa"):
        install.check_track("monza", "")
    with pytest.raises(AcContentError, match=r"installed layouts: layout_gp, layout_national"):
        install.check_track("ks_barcelona", "")
    with pytest.raises(AcContentError, match=r"it has a single layout"):
        install.check_track("spa", "gp")
    with pytest.raises(AcContentError, match=r"installed weathers: 3_clear, 7_heavy_clouds"):
        install.check_weather("sol_rain")
    with pytest.raises(AcContentError, match=r"no Assetto Corsa install at .*env.ac_root"):
        AcInstall.open(tmp_path / "nowhere")
    assert install.check_skin(SEED_CAR, None) == "00_red"
    assert install.check_track("ks_barcelona", "layout_gp") == ("ks_barcelona", "layout_gp")


def test_race_ini_states_the_session_and_reads_back() -> None:
    user = IniFile.parse("[RACE]\nTRACK=monza\n[CAR_1]\nMODEL=x\n[SESSION_2]\nTYPE=3\n[AUTOSPAWN]\nACTIVE=1\n"
                         "[MY_SECTION]\nKeep_Case=1\n")
    spec = RaceSpec(car=SEED_CAR, skin="00_red", track="ks_barcelona", layout="layout_gp", weather="wet",
                    lap_start="flying", time_of_day=8.0)
    ini = race_ini(spec, user)
    assert ini.get("RACE", "MODEL") == SEED_CAR and ini.get("RACE", "CONFIG_TRACK") == "layout_gp"
    assert ini.get("SESSION_0", "TYPE") == "4" and ini.get("SESSION_0", "SPAWN_SET") == "HOTLAP_START"
    assert ini.get("WEATHER", "NAME") == "7_heavy_clouds" and ini.get("LIGHTING", "__CM_WEATHER_TYPE") == "7"
    assert ini.get("LIGHTING", "SUN_ANGLE") == "-80" and sun_angle(18.0) == 80.0
    assert ini.get("RACE", "CARS") == "1" and "CAR_1" not in ini.sections and "SESSION_2" not in ini.sections
    assert "AUTOSPAWN" not in ini.sections and ini.get("MY_SECTION", "Keep_Case") == "1"
    assert "MODEL=vrc_formula_alpha_2022\n" in ini.text()  # no spaces around '='
    back = session_from_race_ini(IniFile.parse(ini.text()))
    assert back == {"track": "ks_barcelona", "layout": "layout_gp", "car": SEED_CAR, "skin": "00_red",
                    "weather": "wet", "lap_start": "flying"}
    pits = race_ini(RaceSpec(car="c", skin="", track="t", layout="", lap_start="pit_out", ai_opponents=2))
    assert pits.get("SESSION_0", "TYPE") == "1" and pits.get("SESSION_0", "SPAWN_SET") == "PIT"
    assert pits.get("RACE", "CARS") == "3" and pits.get("CAR_2", "MODEL") == "c"


def test_controls_ini_binds_the_feeder_axes_and_buttons() -> None:
    user = IniFile.parse("[KEYBOARD]\nGAS=0x57\n[STEER]\nJOY=1\nAXLE=5\n[__EXT_LIGHTS]\nKEY=0x4C\n")
    ini = controls_ini("vjoy", restart_button=3, pause_button=4, base=user)
    assert ini.get("HEADER", "INPUT_METHOD") == "WHEEL" and ini.get("CONTROLLERS", "CON0") == "vJoy Device"
    assert ini.get("CONTROLLERS", "PGUID0") == "BEAD1234-0000-0000-0000-504944564944"
    assert list(bound_controls(ini)) == [("steer", "axis", 0), ("throttle", "axis", 1), ("brake", "axis", 2),
                                         ("clutch", "axis", 3), ("gear_up", "button", 0), ("gear_down", "button", 1),
                                         ("restart", "button", 2), ("pause", "button", 3)]
    assert ini.get("__CM_RESET_SESSION", "BUTTON") == "2"
    assert ini.get("__EXTRA_CM", "DELAY_SPECIFIC_SYSTEM_COMMANDS") == "0"
    assert ini.get("KEYBOARD", "GAS") == "0x57" and ini.get("__EXT_LIGHTS", "KEY") == "0x4C"  # the user's, kept
    assert controls_ini("uinput").get("CONTROLLERS", "CON0") == "ac_core virtual wheel"


def test_backup_keeps_the_users_file_across_a_crashed_run(tmp_path: Path) -> None:
    path = tmp_path / "cfg/race.ini"
    path.parent.mkdir()
    path.write_text("users own\n")
    first = Backup(path)
    assert first.save()
    path.write_text("ac_core wrote this\n")
    # A run that died before restoring: the next run must not back up ac_core's file over the user's.
    assert not Backup(path).save()
    Backup(path).restore()
    assert path.read_text() == "users own\n" and not first.backup.exists()
    fresh = tmp_path / "cfg/controls.ini"
    backup = Backup(fresh)
    assert backup.save() and backup.backup.read_bytes() == ABSENT_MARKER
    fresh.write_text("x")
    backup.restore()
    assert not fresh.exists()  # it did not exist before


def test_setup_controls_writes_backs_up_and_restores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "Assetto Corsa"
    (docs / "cfg").mkdir(parents=True)
    (docs / "cfg/controls.ini").write_text("[HEADER]\nINPUT_METHOD=KEYBOARD\n[KEYBOARD]\nGAS=0x57\n")
    assert main(["setup-controls", "--documents", str(docs), "--device", "vjoy"]) == 0
    assert "restart button 3" in capsys.readouterr().out
    ini = IniFile.read(docs / "cfg/controls.ini")
    assert ini.get("HEADER", "INPUT_METHOD") == "WHEEL" and ini.get("KEYBOARD", "GAS") == "0x57"
    assert (docs / "cfg/controllers/savedsetups/ac_core.ini").is_file()
    assert main(["setup-controls", "--documents", str(docs), "--restart-button", "2"]) == 2  # gear down's
    assert main(["setup-controls", "--documents", str(docs), "--restore"]) == 0
    assert "INPUT_METHOD=KEYBOARD" in (docs / "cfg/controls.ini").read_text()
    assert main(["setup-controls", "--documents", str(docs), "--restore"]) == 2  # nothing to restore


def test_env_ac_launch_needs_a_live_backend_and_the_ac_folder() -> None:
    with pytest.raises(EnvConfigError, match=r"env.ac_launch.*needs backend ac or csp"):
        make_settings(backend="sim", ac_launch=True, ac_root="/x")
    with pytest.raises(EnvConfigError, match=r"env.ac_root.*is needed by env.ac_launch"):
        make_settings(backend="ac", ac_launch=True)


def test_the_simulator_reads_its_session_from_race_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `ac-core sim --race-ini` in the AC folder, as `ac-core launch` starts the game: the car of race.ini
    # without unpacked data drives as the built-in car under that name (static.carModel).
    from ac_core.commands.sim import _race_ini_car

    monkeypatch.chdir(make_install(tmp_path / "ac"))
    assert _race_ini_car(SEED_CAR).car_model == SEED_CAR
