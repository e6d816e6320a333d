"""``ac-core sim``: run the built-in simulator as a real-time process, or drive its reference lap."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sim",
        help="run the built-in simulator (real-time pages + pad page) or its reference lap",
        description=(
            "Without --reference-lap: publish <prefix>physics/graphics/static in real time at 333 Hz, "
            "driven by the pad page <prefix>pad and/or CSP's Custom AI pages (--protocol), "
            "until Ctrl-C/SIGTERM. With --reference-lap: drive one "
            "flying lap with the model-based reference driver and print its figures."
        ),
    )
    p.add_argument("--track", default="spa", help="built-in name (spa) or a fast_lane.ai / TUMFTM .csv path")
    p.add_argument(
        "--car",
        default=None,
        metavar="PATH",
        help="an Assetto Corsa car folder (content/cars/<id>) or its unpacked data/ folder "
        "(default: the built-in FormulaAlpha2022; docs/simulator.md, Loaded cars)",
    )
    p.add_argument("--prefix", default="acpmf_", help="page name prefix (default acpmf_, as AC)")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--weather", default="clear", help="clear, damp or wet")
    p.add_argument("--lap-start", default="pit_out", help="pit_out, flying or standing")
    p.add_argument("--manual", action="store_true", help="manual gearbox (pad gear buttons)")
    p.add_argument(
        "--protocol",
        default="both",
        choices=("pad", "csp", "both"),
        help="controls from the pad page, CSP's Custom AI pages (CarControls/Car/CarPublic/SimState, "
        "named as the game's when --prefix is acpmf_, else under the prefix), or both (default; Custom AI "
        "takes the car from the pad once a CarControls page appears)",
    )
    p.add_argument(
        "--race-ini",
        default=None,
        metavar="PATH",
        help="read the session from AC's race.ini as the game does (TRACK, WEATHER, SESSION_0 SPAWN_SET, and MODEL: "
        "content/cars/<MODEL> under the working folder when unpacked, else the built-in car under that name), "
        "overriding --track/--weather/--lap-start: the simulator as `ac-core launch`'s game",
    )
    p.add_argument("--csp-car", type=int, default=0, help="the car index CSP's pages use (default 0)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many wall seconds")
    p.add_argument(
        "--spin-us",
        type=float,
        default=200.0,
        help="busy-wait this long before each tick's deadline (more = steadier ticks on a loaded machine, more CPU)",
    )
    p.add_argument("--reference-lap", action="store_true", help="drive the reference lap and report it")
    p.add_argument("--json", action="store_true", help="with --reference-lap: one JSON object")
    p.add_argument("--plot", default=None, metavar="PNG", help="with --reference-lap: save a speed map/trace")
    p.set_defaults(func=run)


def _car_params(args: argparse.Namespace) -> Any:
    """The car --car names (its notes on stderr), or None for FormulaAlpha2022."""
    if args.car is None:
        return None
    from ac_core.sim.ac_car import read_ac_car

    car = read_ac_car(args.car)
    for note in car.notes:
        print(f"ac-core sim: {car.car_id}: {note}", file=sys.stderr)
    return car.params


def _race_ini_car(car_id: str) -> Any:
    """The car race.ini names, as the game would find it: content/cars/<id> under the working folder (the
    AC folder, where `ac-core launch` starts the game). With unpacked data it is loaded; without, the
    built-in FormulaAlpha2022 drives under that id (static.carModel), and a note says so."""
    from pathlib import Path

    from ac_core.sim import VehicleParams
    from ac_core.sim.ac_car import read_ac_car

    folder = Path("content/cars") / car_id
    if not ((folder / "data").is_dir() or (folder / "car.ini").is_file()):
        print(f"ac-core sim: race.ini's car {car_id} has no unpacked data/ under {Path.cwd()}; driving the built-in "
              "FormulaAlpha2022 under its name", file=sys.stderr)
        params = VehicleParams()
        params.car_model = car_id
        return params
    car = read_ac_car(folder)  # unpacked but unusable: its one-line error, as for --car
    for note in car.notes:
        print(f"ac-core sim: {car.car_id}: {note}", file=sys.stderr)
    return car.params


def _reference(args: argparse.Namespace) -> int:
    from ac_core.sim.reference import plot_reference_lap, reference_lap

    params = _car_params(args)
    lap = reference_lap(args.track, weather=args.weather, params=params)
    if args.plot:
        plot_reference_lap(lap, args.plot)
    if args.json:
        print(json.dumps(lap.summary()))
    else:
        s = lap.summary()
        car = params.car_model if params is not None else "FormulaAlpha2022"
        print(f"car {car}, track {lap.track} ({s['track_length_m']} m), weather {lap.weather}")
        print(f"lap {'completed' if lap.completed else 'NOT completed'}: {s['lap_time']} ({s['lap_time_s']} s)")
        print(f"the driver's plan: {s['planned_lap_time_s']} s (the quasi-steady-state lap it aims at; "
              f"driven, it loses {s['lap_time_s'] - s['planned_lap_time_s']:.2f} s to it)")
        print(f"top speed {s['top_speed_kmh']} km/h, minimum {s['min_speed_kmh']} km/h")
        print(
            f"peak lateral {s['peak_lateral_g']} g, peak braking {s['peak_braking_g']} g, "
            f"full throttle {100 * s['full_throttle_share']:.0f} % of distance"
        )
        corners = ", ".join(f"{c['s_m']:.0f}: {c['speed_kmh']:.0f}" for c in s["slow_corners"])
        print(f"slow corners (s m: km/h): {corners}")
        if args.plot:
            print(f"plot: {args.plot}")
    return 0 if lap.completed else 1


def run(args: argparse.Namespace) -> int:
    if args.reference_lap:
        try:
            return _reference(args)
        except (ValueError, RuntimeError, OSError) as e:
            print(f"ac-core sim: {e}", file=sys.stderr)
            return 2
    if args.json or args.plot:
        print("ac-core sim: --json and --plot go with --reference-lap", file=sys.stderr)
        return 2
    from ac_core.sim.process import main_loop_banner, run_process

    race_car = None
    if args.race_ini:
        from pathlib import Path

        from ac_core.errors import InputError
        from ac_core.game.config_files import IniFile, session_from_race_ini

        if not Path(args.race_ini).is_file():
            print(f"ac-core sim: no race.ini at {args.race_ini}; write it with `ac-core launch`", file=sys.stderr)
            return 2
        try:
            session = session_from_race_ini(IniFile.read(Path(args.race_ini)))
        except InputError as e:
            print(f"ac-core sim: {e}", file=sys.stderr)
            return 2
        args.track, args.weather, args.lap_start = session["track"], session["weather"], session["lap_start"]
        race_car = session["car"]
    try:
        params = _car_params(args) if race_car is None or args.car else _race_ini_car(race_car)
        stats = run_process(
            track=args.track,
            prefix=args.prefix,
            time_scale=args.time_scale,
            weather=args.weather,
            lap_start=args.lap_start,
            auto_shift=not args.manual,
            duration_s=args.duration,
            spin_s=args.spin_us * 1e-6,
            protocol=args.protocol,
            csp_car_index=args.csp_car,
            params=params,
            on_start=main_loop_banner,
        )
    except FileExistsError as e:  # the message names the page, the process where known, and the fix
        print(f"ac-core sim: {e}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, OSError) as e:
        print(f"ac-core sim: {e}", file=sys.stderr)
        return 2
    print(
        f"ac-core sim: stopped after {stats['ticks']} ticks; loop lateness p50 {stats['lateness_p50_us']:.0f} us, "
        f"p99 {stats['lateness_p99_us']:.0f} us; pages removed",
        file=sys.stderr,
    )
    return 0
