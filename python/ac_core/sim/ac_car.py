"""Any Assetto Corsa car in the built-in simulator: an unpacked ``data/`` folder → :class:`VehicleParams`.

:func:`load_ac_car` reads the car folder (or its ``data/`` folder) and fills the parameters the C++
model uses; :func:`read_ac_car` also returns the car id, the notes about missing optional tables and
approximations, and the published figures of ``ui/ui_car.json``. The formulas follow Content
Manager's source (github.com/gro-ove/actools); what is modelled, approximated and ignored is listed in
``docs/simulator.md`` ("Loaded cars").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ac_core import _core
from ac_core.sim.ac_files import AcCarError, IniFile, Lut, parse_lut_text, read_lut, read_ui_json

GRAVITY = 9.80665
DRIVER_KG = 75.0           # ui weights leave the driver out (Content Manager: TOTALMASS - 75)
FUEL_KG_PER_L = 0.75       # AC's default density is not known (research §1); 0.75 assumed
MU_TABLE_POINTS = 160      # samples of the grip-vs-load table per axle
REQUIRED_FILES = ("car.ini", "engine.ini", "drivetrain.ini", "tyres.ini", "suspensions.ini", "brakes.ini")
DRIVES = {"RWD": _core.Drive.REAR, "FWD": _core.Drive.FRONT, "AWD": _core.Drive.ALL, "AWD2": _core.Drive.ALL}
BUILTIN_CARS = (str(_core.CAR_MODEL),)


@dataclass(frozen=True)
class Spec:
    """One published figure of ui_car.json: the first number, in the unit the checks use."""

    value: float | None         # None: missing or unreadable ("___ kg", "--")
    text: str
    lower_bound: bool = False   # "250+ km/h"
    approximate: bool = False   # "~4.0s"


@dataclass
class UiSpecs:
    name: str = ""
    bhp: Spec = Spec(None, "")
    torque_nm: Spec = Spec(None, "")
    weight_kg: Spec = Spec(None, "")
    top_speed_kmh: Spec = Spec(None, "")
    zero_to_100_s: Spec = Spec(None, "")  # 0-97 km/h (0-60 mph) figures are kept, flagged approximate


@dataclass
class AcCar:
    car_id: str                       # the car's folder name (AC's car id, the static page's carModel)
    data_dir: Path
    params: Any                       # ac_core._core.VehicleParams
    ui: UiSpecs
    notes: list[str] = field(default_factory=list)  # missing optional tables, approximations taken
    static_lateral_g: float = 1.0     # the tyres' grip at the static loads, without aero (safe starts)

    @property
    def max_speed_kmh(self) -> float:
        """Speed at the rev limiter in the top gear (the gearing's limit)."""
        p = self.params
        return p.rev_limit_rpm * math.pi / 30 * p.gear_ratio[p.gear_count - 1] * p.tyre_radius_m * 3.6


def is_builtin_car(car: str) -> bool:
    return car in BUILTIN_CARS


def resolve_car(car: str, ac_root: str | None = None) -> Path | None:
    """The folder of ``car``: None for the built-in FormulaAlpha2022; a path to a car folder (or its
    data/ folder); or an AC car id found as ``<ac_root>/content/cars/<id>``. Raises AcCarError naming
    what was tried."""
    if is_builtin_car(car):
        return None
    path = Path(car).expanduser()
    if path.is_dir():
        return path
    if ac_root:
        candidate = Path(ac_root).expanduser() / "content" / "cars" / car
        if candidate.is_dir():
            return candidate
        where = f"nor a car id under {candidate.parent}"
    else:
        where = "and env.ac_root is not set to look it up as a car id"
    raise AcCarError(f"car {car!r} is not the built-in {BUILTIN_CARS[0]}, not a folder, {where}; give "
                     "FormulaAlpha2022, a car folder (content/cars/<id>) or set env.ac_root to your AC install")


def load_ac_car(path: str | Path) -> Any:
    """The :class:`ac_core.sim.VehicleParams` of an AC car folder or its ``data/`` folder."""
    return read_ac_car(path).params


def read_ac_car(path: str | Path) -> AcCar:
    """The car with its id, notes and ui figures (see :class:`AcCar`). Raises AcCarError (one line:
    file, line, key and fix) for a folder without unpacked data or a malformed file."""
    data_dir, car_dir, notes = _find_data(Path(path).expanduser())
    missing = [name for name in REQUIRED_FILES if not (data_dir / name).is_file()]
    if missing:
        raise AcCarError(f"{data_dir}: {', '.join(missing)} missing; an AC car's data/ folder holds them all "
                         "(unpack data.acd again with Content Manager if some are lost)")
    loader = _Loader(data_dir, notes)
    params = loader.build(car_dir.name)
    try:
        _core.vehicle_model_figures(params)  # the model's own checks (gear ratios, tables)
    except ValueError as e:
        raise AcCarError(f"{data_dir}: the car's data gives an unusable parameter set ({e}); check the files") from None
    ui = read_ui_specs(car_dir / "ui" / "ui_car.json")
    return AcCar(car_id=car_dir.name, data_dir=data_dir, params=params, ui=ui, notes=notes,
                 static_lateral_g=loader.static_lateral_g)


def _find_data(path: Path) -> tuple[Path, Path, list[str]]:
    notes: list[str] = []
    if not path.exists():
        raise AcCarError(f"{path}: no such folder; give an AC car folder (content/cars/<id>) or its data/ folder")
    if path.is_file():
        raise AcCarError(f"{path}: is a file; give the car's folder (content/cars/<id>) or its data/ folder")
    if (path / "car.ini").is_file():
        # the data/ folder (or Content Manager's data-1/ beside an existing one): the car is its parent
        data_dir, car_dir = path, path.parent if re.fullmatch(r"data(-\d+)?", path.name.lower()) else path
    elif (path / "data").is_dir():
        data_dir, car_dir = path / "data", path
    elif (path / "data.acd").is_file():
        raise AcCarError(f"{path}: the car's data is only in the encrypted data.acd; unpack it with Content "
                         "Manager (select the car, then 'Unpack data', Alt+J) to get a data/ folder, and load again")
    else:
        raise AcCarError(f"{path}: not an AC car folder (no data/ folder, no car.ini); give content/cars/<id> "
                         "or its data/ folder")
    if (car_dir / "data.acd").is_file() and data_dir != car_dir:
        notes.append("data.acd is present too: the game reads data.acd, so this data/ folder may be stale "
                     "(unpack it again with Content Manager if the car was updated)")
    return data_dir, car_dir, notes


# ----- ui_car.json --------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_spec(text: Any, kind: str) -> Spec:
    """The first number of a free-text ui figure, converted: kind 'speed' (km/h; mph converted),
    'power' (hp; kW converted), 'time' (s, 0-100; a 0-97/0-60 mph figure is flagged approximate),
    'plain' (as written)."""
    raw = str(text or "").strip()
    low = raw.lower()
    if kind == "time":
        # skip the "0-100" / "0-97" / "0-60" part; the figure is the number that follows it
        low_body = re.sub(r"0\s*[-–]\s*(100|97|96|60)\s*(km/?h|kmh|kph|mph)?", " ", low)
        match = _NUMBER.search(low_body)
    else:
        low_body = low
        match = _NUMBER.search(low)
    if match is None:
        return Spec(None, raw)
    value = float(match.group().replace(",", "."))
    approximate = "~" in low or "≈" in low
    lower_bound = "+" in low_body[match.end():match.end() + 3]
    if kind == "speed" and "mph" in low:
        value *= 1.609344
    elif kind == "power" and re.search(r"\bkw\b", low):
        value /= 0.7457
    elif kind == "time" and re.search(r"0\s*[-–]\s*(97|96|60)", low):
        approximate = True
    return Spec(value, raw, lower_bound=lower_bound, approximate=approximate)


def read_ui_specs(path: Path) -> UiSpecs:
    """ui_car.json's name and specs (missing file, broken file or fields: no value; the car's physics
    never depend on this file)."""
    data = read_ui_json(path)
    specs = data.get("specs") or {}
    if not isinstance(specs, dict):
        specs = {}
    return UiSpecs(
        name=str(data.get("name", "")),
        bhp=parse_spec(specs.get("bhp"), "power"),
        torque_nm=parse_spec(specs.get("torque"), "plain"),
        weight_kg=parse_spec(specs.get("weight"), "plain"),
        top_speed_kmh=parse_spec(specs.get("topspeed"), "speed"),
        zero_to_100_s=parse_spec(specs.get("acceleration"), "time"),
    )


# ----- data/ → VehicleParams ----------------------------------------------------------------------

def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


class _Loader:
    def __init__(self, data_dir: Path, notes: list[str]) -> None:
        self.dir = data_dir
        self.notes = notes
        self.static_lateral_g = 1.0
        self._ini: dict[str, IniFile] = {}

    def ini(self, name: str) -> IniFile:
        if name not in self._ini:
            self._ini[name] = IniFile.read(self.dir / name)
        return self._ini[name]

    def lut(self, ini: IniFile, section: str, key: str, *, optional: bool, what: str) -> Lut | None:
        """A LUT a key names: a file in data/, or an inline table. Missing optional ones: None + a note."""
        value = ini.text(section, key, default="")
        if not value:
            if optional:
                return None
            raise AcCarError(f"{ini.line_of(section, key)}: [{section}] {key} names no table; give the .lut file")
        if value.startswith("("):
            return parse_lut_text(value, f"{ini.line_of(section, key)} [{section}] {key}")
        path = self.dir / value
        if not path.is_file():
            if optional:
                self.notes.append(f"{ini.path.name} [{section}] {key}: {value} is missing; {what}")
                return None
            raise AcCarError(f"{ini.line_of(section, key)}: [{section}] {key}={value} names a file that is not in "
                             f"{self.dir}; add the file or fix the name")
        return read_lut(path)

    def build(self, car_id: str) -> Any:
        p = _core.VehicleParams()
        p.car_model = car_id
        car, susp, tyres = self.ini("car.ini"), self.ini("suspensions.ini"), self.ini("tyres.ini")

        # ---- mass, geometry ----
        total = car.num("BASIC", "TOTALMASS")
        fuel_l = car.num("FUEL", "FUEL", 30.0) or 30.0
        density = car.num("FUEL_EXT", "KG_PER_LITER", FUEL_KG_PER_L) if car.has("FUEL_EXT") else FUEL_KG_PER_L
        p.mass_kg = total + fuel_l * density
        p.fuel_l = fuel_l
        p.max_fuel_l = car.num("FUEL", "MAX_FUEL", 30.0) or 30.0
        wb = susp.num("BASIC", "WHEELBASE")
        cg = susp.num("BASIC", "CG_LOCATION")
        if not (wb > 0 and 0 < cg < 1):
            raise AcCarError(f"{susp.line_of('BASIC', 'CG_LOCATION')}: WHEELBASE must be > 0 and CG_LOCATION "
                             "(front weight share) between 0 and 1; fix the values")
        p.cog_to_front_m = (1.0 - cg) * wb
        p.cog_to_rear_m = cg * wb
        p.track_front_m = susp.num("FRONT", "TRACK")
        p.track_rear_m = susp.num("REAR", "TRACK")

        compound = int(tyres.num("COMPOUND_DEFAULT", "INDEX", 0))
        suffix = "" if compound == 0 else f"_{compound}"
        front_t, rear_t = f"FRONT{suffix}", f"REAR{suffix}"
        for name in (front_t, rear_t):
            if not tyres.has(name):
                raise AcCarError(f"tyres.ini: [COMPOUND_DEFAULT] INDEX={compound} but there is no [{name}]; fix "
                                 "the index or add the compound")
        r_front, r_rear = tyres.num(front_t, "RADIUS"), tyres.num(rear_t, "RADIUS")
        p.tyre_radius_m = 0.5 * (r_front + r_rear)
        if abs(r_front - r_rear) > 0.02 * p.tyre_radius_m:
            self.notes.append(f"front and rear tyre radii differ ({r_front} / {r_rear} m): the model uses their mean")
        h_front = r_front - susp.num("FRONT", "BASEY")
        h_rear = r_rear - susp.num("REAR", "BASEY")
        p.cog_height_m = 0.5 * (h_front + h_rear)

        # Yaw inertia: the sprung body as AC's box (setMassBox) or [EXPLICIT_INERTIA], plus the hubs.
        hub_f, hub_r = susp.num("FRONT", "HUB_MASS", 0.0), susp.num("REAR", "HUB_MASS", 0.0)
        sprung = max(total - 2 * hub_f - 2 * hub_r, 0.5 * total)
        if car.has("EXPLICIT_INERTIA"):
            body_yaw = car.vec("EXPLICIT_INERTIA", "INERTIA", 3)[1]
        else:
            w, _, length = car.vec("BASIC", "INERTIA", 3)
            body_yaw = sprung / 12.0 * (w * w + length * length)
        p.yaw_inertia_kgm2 = body_yaw + 2 * hub_f * (p.cog_to_front_m ** 2 + (p.track_front_m / 2) ** 2) + \
            2 * hub_r * (p.cog_to_rear_m ** 2 + (p.track_rear_m / 2) ** 2)

        # Roll stiffness per axle from the wheel rates and anti-roll bars (rigid model: its front share).
        arb = (susp.num("ARB", "FRONT", 0.0), susp.num("ARB", "REAR", 0.0))
        k_f = (susp.num("FRONT", "SPRING_RATE") + arb[0]) * p.track_front_m ** 2
        k_r = (susp.num("REAR", "SPRING_RATE") + arb[1]) * p.track_rear_m ** 2
        p.roll_stiffness_front_share = _clamp(k_f / (k_f + k_r), 0.3, 0.75) if k_f + k_r > 0 else 0.5
        p.wheel_rate_front_n_m = max(susp.num("FRONT", "SPRING_RATE"), 1000.0)
        p.wheel_rate_rear_n_m = max(susp.num("REAR", "SPRING_RATE"), 1000.0)
        p.suspension_max_travel_m = max(susp.num("FRONT", "PACKER_RANGE", 0.1), 0.02)

        self._aero(p)
        self._tyres(p, tyres, front_t, rear_t)
        self._engine(p)
        self._drivetrain(p)
        brakes = self.ini("brakes.ini")
        p.max_brake_torque_nm = 2.0 * brakes.num("DATA", "MAX_TORQUE")  # per wheel MAX x share (research §6)
        p.brake_bias_front = _clamp(brakes.num("DATA", "FRONT_SHARE"), 0.0, 1.0)
        lock_deg = car.num("CONTROLS", "STEER_LOCK")
        ratio = abs(car.num("CONTROLS", "STEER_RATIO"))
        if ratio <= 0:
            raise AcCarError(f"{car.line_of('CONTROLS', 'STEER_RATIO')}: [CONTROLS] STEER_RATIO must not be 0; "
                             "fix the value")
        p.max_steer_rad = _clamp(math.radians(lock_deg / ratio), 0.1, 0.7)
        p.steer_rate_rad_s = 2.5 * max(1.0, p.max_steer_rad / 0.35)  # lock to lock in ~0.3 s, as the default
        # the cars have neither DRS nor an MGU-K
        p.has_drs = False
        p.drs_drag_factor = 1.0
        p.drs_rear_downforce_factor = 1.0
        p.mguk_kw = 0.0
        p.ers_energy_per_lap_j = 0.0
        return p

    # ---- aero ----
    def _aero(self, p: Any) -> None:
        p.air_density = 1.2922 - 0.0041 * p.ambient_c  # AC's density at the ambient temperature
        if not (self.dir / "aero.ini").is_file():
            self.notes.append("aero.ini is missing: no drag and no downforce")
            p.cda_m2 = p.cla_m2 = 0.0
            return
        aero = self.ini("aero.ini")
        cda = cla_front = cla_rear = 0.0
        wb = p.wheelbase
        wings = aero.section_names("WING_")
        for name in wings:
            area = aero.num(name, "CHORD") * aero.num(name, "SPAN")
            angle = aero.num(name, "ANGLE", 0.0)
            pos = aero.vec(name, "POSITION", 3, default=(0.0, 0.0, 0.0))
            # Ground-height factors at the wing's static height (CG height + its y): approximated, the
            # rigid model has no ride-height change.
            height = p.cog_height_m + pos[1]
            cl_lut = self.lut(aero, name, "LUT_AOA_CL", optional=True, what="that wing gives no lift")
            cd_lut = self.lut(aero, name, "LUT_AOA_CD", optional=True, what="that wing gives no drag")
            gh_cl = self.lut(aero, name, "LUT_GH_CL", optional=True, what="its ground-height factor is taken as 1")
            gh_cd = self.lut(aero, name, "LUT_GH_CD", optional=True, what="its ground-height factor is taken as 1")
            cl = (cl_lut(angle) if cl_lut else 0.0) * aero.num(name, "CL_GAIN", 1.0) * (gh_cl(height) if gh_cl else 1.0)
            cd = (cd_lut(angle) if cd_lut else 0.0) * aero.num(name, "CD_GAIN", 1.0) * (gh_cd(height) if gh_cd else 1.0)
            cda += cd * area
            # split the lift onto the axles by the wing's position along the car (z from the CG)
            front_share = (pos[2] + p.cog_to_rear_m) / wb
            cla_front += cl * area * front_share
            cla_rear += cl * area * (1.0 - front_share)
        if not wings and aero.has("DATA"):  # the obsolete single-body form
            area = aero.num("DATA", "REFERENCE_AREA", 1.0)
            cda = aero.num("DATA", "CD", 0.0) * area
            cl_total = aero.num("DATA", "CL", 0.0) * area
            share = aero.num("DATA", "FRONT_SHARE", 0.5)
            cla_front, cla_rear = cl_total * share, cl_total * (1 - share)
            self.notes.append("aero.ini uses the obsolete [DATA] section: taken as one body")
        if aero.section_names("DYNAMIC_CONTROLLER_"):
            self.notes.append("aero.ini has dynamic wing controllers: the wings stay at their default angles")
        total = cla_front + cla_rear
        p.cda_m2 = cda
        p.cla_m2 = total if abs(total) > 1e-6 else 0.0
        p.aero_front_share = cla_front / total if abs(total) > 1e-6 else 0.5

    # ---- tyres ----
    def _tyres(self, p: Any, tyres: IniFile, front: str, rear: str) -> None:
        version = int(tyres.num("HEADER", "VERSION", 10))
        static = {front: p.mass_kg * GRAVITY * p.cog_to_rear_m / p.wheelbase / 2,
                  rear: p.mass_kg * GRAVITY * p.cog_to_front_m / p.wheelbase / 2}
        max_load = max(4.0 * max(static.values()), 2.0 * p.mass_kg * GRAVITY / 2)
        step = max_load / (MU_TABLE_POINTS - 1)
        tables, scales, lateral_g = {}, {}, []
        for section in (front, rear):
            mu_y = self._mu_function(tyres, section, "Y", version)
            mu_x = self._mu_function(tyres, section, "X", version)
            floor = 0.02 * static[section]  # the power law runs to infinity at no load (force -> 0)
            tables[section] = [mu_y(max(i * step, floor)) for i in range(MU_TABLE_POINTS)]
            scales[section] = mu_x(static[section]) / mu_y(static[section])
            lateral_g.append(mu_y(static[section]))
        p.tyre_mu_table_step_n = step
        p.tyre_mu_front_table = tables[front]
        p.tyre_mu_rear_table = tables[rear]
        p.tyre_mu_x_scale_front = _clamp(scales[front], 0.5, 2.0)
        p.tyre_mu_x_scale_rear = _clamp(scales[rear], 0.5, 2.0)
        self.static_lateral_g = min(lateral_g)

        fla = (tyres.num(front, "FRICTION_LIMIT_ANGLE", 7.5), tyres.num(rear, "FRICTION_LIMIT_ANGLE", 7.5))
        p.tyre_peak_slip_angle_front_rad = math.radians(_clamp(fla[0], 2.0, 25.0))
        p.tyre_peak_slip_angle_rear_rad = math.radians(_clamp(fla[1], 2.0, 25.0))
        # Longitudinal peak: the slip at the lateral peak over the stiffness multiplier (approximated).
        cx = tyres.num(rear, "CX_MULT", 1.0) or 1.0
        p.tyre_peak_slip_ratio = _clamp(math.tan(math.radians(fla[1])) / cx, 0.06, 0.25)
        # Sliding force / peak = FALLOFF_LEVEL; the MF shape factor with sin(Q pi/2) = that level.
        falloff = tyres.num(rear, "FALLOFF_LEVEL", 0.85) if version >= 7 else 0.85
        p.tyre_shape_q = _clamp(2.0 - 2.0 * math.asin(_clamp(falloff, 0.3, 0.99)) / math.pi, 1.1, 1.9)
        p.tyre_relaxation_length_m = max(0.5 * (tyres.num(front, "RELAXATION_LENGTH", 0.1)
                                                + tyres.num(rear, "RELAXATION_LENGTH", 0.1)), 0.05)
        inertia = 0.5 * (tyres.num(front, "ANGULAR_INERTIA") + tyres.num(rear, "ANGULAR_INERTIA"))
        p.wheel_inertia_kgm2 = max(inertia, 0.05)
        p.rolling_resistance = tyres.num(rear, "ROLLING_RESISTANCE_0", 10.0) / 1000.0   # N per kN of load
        p.rolling_resistance_v2 = tyres.num(rear, "ROLLING_RESISTANCE_1", 0.0) / 1000.0
        ideal = tyres.num(rear, "PRESSURE_IDEAL", 0.0)
        if ideal > 0:
            p.tyre_hot_pressure_psi = ideal

    def _mu_function(self, tyres: IniFile, section: str, axis: str, version: int) -> Any:
        """mu(Fz) of one compound section for the lateral (Y) or longitudinal (X) direction."""
        curve_key = f"D{axis}_CURVE"
        if tyres.text(section, curve_key, default=""):
            curve = self.lut(tyres, section, curve_key, optional=True,
                             what=f"the {'lateral' if axis == 'Y' else 'longitudinal'} grip uses the load power law")
            if curve is not None:
                return curve.cubic
        if version >= 5:
            ref = tyres.num(section, f"D{axis}_REF")
            fz0 = tyres.num(section, "FZ0")
            exp = tyres.num(section, f"LS_EXP{axis}")
            if fz0 <= 0:
                raise AcCarError(f"{tyres.line_of(section, 'FZ0')}: [{section}] FZ0 must be > 0; fix the value")
            return lambda fz: ref * (fz / fz0) ** (exp - 1.0)
        d0 = tyres.num(section, f"D{axis}0")
        d1 = tyres.num(section, f"D{axis}1")
        return lambda fz: max(d0 + d1 * fz * 0.0005, 0.1)  # legacy (v < 5): D = D0 + D1 Fz / 2000

    # ---- engine ----
    def _engine(self, p: Any) -> None:
        eng = self.ini("engine.ini")
        curve = self.lut(eng, "HEADER", "POWER_CURVE", optional=False, what="")
        assert curve is not None
        p.torque_curve_rpm = list(curve.xs) if len(curve.xs) > 1 else [0.0, 1.0]
        p.torque_curve_nm = list(curve.ys) if len(curve.xs) > 1 else [curve.ys[0]] * 2
        limiter = eng.num("ENGINE_DATA", "LIMITER", 0.0)
        p.rev_limit_rpm = limiter if limiter > 0 else curve.xs[-1]
        p.idle_rpm = max(eng.num("ENGINE_DATA", "MINIMUM", 1000.0), 300.0)
        if p.idle_rpm >= p.rev_limit_rpm:
            raise AcCarError(f"{eng.line_of('ENGINE_DATA', 'MINIMUM')}: [ENGINE_DATA] MINIMUM ({p.idle_rpm:.0f}) "
                             f"is not below the limiter ({p.rev_limit_rpm:.0f} rpm); fix the values")
        p.engine_inertia_kgm2 = eng.num("ENGINE_DATA", "INERTIA", 0.1)
        p.driveline_efficiency = 1.0  # power.lut is the torque the wheels get (research §2)

        # Engine braking: COAST_REF's torque at its rpm, linear from idle (non-linearity ignored).
        mode = eng.text("HEADER", "COAST_CURVE", default="FROM_COAST_REF").upper()
        if mode == "FROM_COAST_REF" and eng.has("COAST_REF"):
            rpm, torque = eng.num("COAST_REF", "RPM"), eng.num("COAST_REF", "TORQUE")
            slope = torque / max(rpm - p.idle_rpm, 100.0)  # N m per rpm
        else:
            slope = 0.0
            self.notes.append(f"engine.ini COAST_CURVE={mode}: only FROM_COAST_REF is read; no engine braking")
        p.engine_friction_nm_per_krpm = slope * 1000.0
        p.engine_friction_nm = -slope * p.idle_rpm

        turbos = []
        for k, name in enumerate(eng.section_names("TURBO_")):
            t = _core.TurboParams()
            t.max_boost = eng.num(name, "MAX_BOOST", 0.0)
            t.wastegate = eng.num(name, "WASTEGATE", 0.0)
            t.reference_rpm = max(eng.num(name, "REFERENCE_RPM", 1.0), 1.0)
            t.gamma = eng.num(name, "GAMMA", 1.0)
            t.lag_up = eng.num(name, "LAG_UP", 0.99)
            t.lag_dn = eng.num(name, "LAG_DN", 0.99)
            self._turbo_controller(t, k, p.rev_limit_rpm)
            turbos.append(t)
        if len(turbos) > 4:
            raise AcCarError(f"engine.ini: {len(turbos)} [TURBO_n] sections; the model takes at most 4")
        p.turbos = turbos
        fuel = self.ini("car.ini").num("FUEL", "CONSUMPTION", 0.0)
        p.fuel_l_per_s_full = fuel * 0.8 * p.rev_limit_rpm / 1000.0  # l/s = rpm x gas x CONSUMPTION / 1000

    def _turbo_controller(self, turbo: Any, index: int, limiter: float) -> None:
        """ctrl_turbo<n>.ini: controllers on rpm (and throttle, taken at full) replace MAX_BOOST by a table."""
        path = self.dir / f"ctrl_turbo{index}.ini"
        if not path.is_file():
            return
        ctrl = IniFile.read(path)
        rpms = [limiter * i / 64 for i in range(65)]
        values: list[float] | None = None
        for name in ctrl.section_names("CONTROLLER_"):
            source = ctrl.text(name, "INPUT").upper()
            lut = self.lut(ctrl, name, "LUT", optional=False, what="")
            assert lut is not None
            if source in ("RPMS", "RPM"):
                outs = [lut(r) for r in rpms]
            elif source == "GAS":
                outs = [lut(1.0)] * len(rpms)
            else:
                self.notes.append(f"{path.name} [{name}] INPUT={source}: only RPMS and GAS inputs are modelled; "
                                  "this controller is left out")
                continue
            up, down = ctrl.num(name, "UP_LIMIT", 1e9), ctrl.num(name, "DOWN_LIMIT", -1e9)
            outs = [_clamp(v, down, up) for v in outs]
            combinator = ctrl.text(name, "COMBINATOR", default="ADD").upper()
            if values is None:
                values = outs
            elif combinator == "MULT":
                values = [a * b for a, b in zip(values, outs, strict=True)]
            else:
                values = [a + b for a, b in zip(values, outs, strict=True)]
        if values is not None:
            turbo.boost_rpm = rpms
            turbo.boost_max = values

    # ---- drivetrain ----
    def _drivetrain(self, p: Any) -> None:
        dt = self.ini("drivetrain.ini")
        kind = dt.text("TRACTION", "TYPE").upper()
        if kind not in DRIVES:
            raise AcCarError(f"{dt.line_of('TRACTION', 'TYPE')}: [TRACTION] TYPE={kind} is not valid; choose one of: "
                             + ", ".join(DRIVES))
        p.drive = DRIVES[kind]
        diff_section = "DIFFERENTIAL"
        if p.drive == _core.Drive.ALL:
            p.awd_front_share = _clamp(dt.num("AWD", "FRONT_SHARE", 0.5), 0.0, 1.0)
            if kind == "AWD2":
                self.notes.append("drivetrain.ini AWD2: modelled as AWD with a fixed FRONT_SHARE split")
        count = int(dt.num("GEARS", "COUNT"))
        if not 1 <= count <= 10:
            raise AcCarError(f"{dt.line_of('GEARS', 'COUNT')}: [GEARS] COUNT={count}; the model takes 1 to 10 gears")
        final = dt.num("GEARS", "FINAL")
        ratios = []
        for g in range(1, count + 1):
            gear = dt.num("GEARS", f"GEAR_{g}")
            if gear <= 0 or final <= 0:
                raise AcCarError(f"{dt.line_of('GEARS', f'GEAR_{g}')}: [GEARS] GEAR_{g} and FINAL must be > 0; fix "
                                 "the ratio")
            ratios.append(1.0 / (gear * final))
        p.gear_ratio = ratios + [0.0] * (10 - count)
        p.gear_count = count
        p.reverse_ratio = 1.0 / (abs(dt.num("GEARS", "GEAR_R", -3.0)) * final)
        if p.drive == _core.Drive.ALL and dt.has("AWD") and dt.raw("AWD", "REAR_DIFF_POWER") is not None:
            p.diff_ramp = _clamp(dt.num("AWD", "REAR_DIFF_POWER"), 0.0, 1.0)
            p.diff_ramp_coast = _clamp(dt.num("AWD", "REAR_DIFF_COAST", 0.0), 0.0, 1.0)
            p.diff_preload_nm = dt.num("AWD", "REAR_DIFF_PRELOAD", 0.0)
            self.notes.append("AWD: the front axle's differential takes the rear's settings")
        else:
            p.diff_ramp = _clamp(dt.num(diff_section, "POWER", 0.7), 0.0, 1.0)
            p.diff_ramp_coast = _clamp(dt.num(diff_section, "COAST", 0.2), 0.0, 1.0)
            p.diff_preload_nm = max(dt.num(diff_section, "PRELOAD", 0.0), 0.0)
        p.shift_cut_s = _clamp(dt.num("GEARBOX", "CHANGE_UP_TIME", 100.0) / 1000.0, 0.0, 1.0)
        p.min_shift_interval_s = max(0.15, p.shift_cut_s + 0.1)
        self._shift_points(p)

    def _shift_points(self, p: Any) -> None:
        """Shift up where the next gear pulls harder (optimal shifts for acceleration); launch at the
        torque peak; shift down where the lower gear lands well below the shift point."""
        model = _FullThrottle(p)
        limit = p.rev_limit_rpm
        ups = []
        for g in range(p.gear_count - 1):
            step = p.gear_ratio[g + 1] / p.gear_ratio[g]  # > 1: the next gear runs slower
            best = limit * 0.99
            rpm = p.idle_rpm + 0.4 * (limit - p.idle_rpm)
            while rpm < limit * 0.99:
                # wheel force ~ torque / ratio; the next gear turns the engine at rpm / step
                if model.torque(rpm) / p.gear_ratio[g] < model.torque(rpm / step) / p.gear_ratio[g + 1]:
                    best = rpm
                    break
                rpm += 25.0
            ups.append(best)
        p.upshift_rpm = min(sum(ups) / len(ups), 0.99 * limit) if ups else 0.99 * limit
        p.downshift_rpm = p.idle_rpm + 0.64 * (p.upshift_rpm - p.idle_rpm)  # FormulaAlpha2022's proportion
        rpms = [p.idle_rpm + (0.9 * limit - p.idle_rpm) * i / 200 for i in range(201)]
        p.launch_rpm = max(rpms, key=model.torque)


class _FullThrottle:
    """The engine's steady-state full-throttle torque (power.lut x (1 + turbo boost)), as the C++ model."""

    def __init__(self, p: Any) -> None:
        self.lut = Lut("power", list(p.torque_curve_rpm), list(p.torque_curve_nm))
        self.turbos = list(p.turbos)

    def torque(self, rpm: float) -> float:
        boost = 0.0
        for t in self.turbos:
            top = Lut("boost", list(t.boost_rpm), list(t.boost_max))(rpm) if len(t.boost_rpm) else t.max_boost
            b = top * min(1.0, max(0.0, rpm / t.reference_rpm)) ** t.gamma
            boost += min(b, t.wastegate) if t.wastegate > 0 else b
        return self.lut(rpm) * (1.0 + boost)


__all__ = ["AcCar", "AcCarError", "Spec", "UiSpecs", "is_builtin_car", "load_ac_car", "parse_spec", "read_ac_car",
           "read_ui_specs", "resolve_car"]
