"""What an Assetto Corsa install holds, and how a configured name finds its car or track there.

AC names everything by folder id (``content/cars/<id>``, ``content/tracks/<id>[/<layout>]``,
``content/weather/<id>``); the static page's ``carModel`` and ``track`` carry those ids, not the ui
names [research ac_session_launch.md §4]. A config may name a car three ways, all accepted:

* the folder id: ``vrc_formula_alpha_2022``;
* the ui name from ``content/cars/<id>/ui/ui_car.json`` (``"name"``): ``Formula Alpha 2022``;
* the seed's spelling, ``FormulaAlpha2022`` (:data:`SEED_CAR_IDS`), and in general the id without its
  author prefix (``vrc_``, ``ks_``, ``rss_``…), compared without case, spaces or punctuation.

Ui files are read leniently (a UTF-8 BOM, broken JSON: CM keeps a restoration scheme for those).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ac_core.errors import InputError
from ac_core.sim.ac_files import read_ui_json

# The seed's car, as the seed spells it, and its AC folder id (the VRC mod's folder).
SEED_CAR_IDS: dict[str, str] = {"FormulaAlpha2022": "vrc_formula_alpha_2022"}
# Shown at most in a "what is installed" list: a stock install has ~180 cars.
LIST_LIMIT = 25


class AcContentError(InputError, FileNotFoundError):
    """A missing AC folder, car, skin, track, layout or weather; the message lists what is installed."""


def normalise(name: str) -> str:
    """Lower case, letters and digits only: ``Formula Alpha 2022`` → ``formulaalpha2022``."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def without_author_prefix(car_id: str) -> str:
    """``vrc_formula_alpha_2022`` → ``formula_alpha_2022``: AC ids start with the author's tag."""
    head, sep, rest = car_id.partition("_")
    return rest if sep and rest and len(head) <= 5 else car_id


def listing(names: Iterable[str], what: str) -> str:
    items = sorted(names)
    if not items:
        return f"no {what} installed"
    shown = ", ".join(items[:LIST_LIMIT])
    more = f" … and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else ""
    return f"installed {what}: {shown}{more}"


@dataclass(frozen=True)
class AcInstall:
    """An AC install folder (the one holding acs.exe and content/)."""

    root: Path

    @classmethod
    def open(cls, root: str | Path) -> AcInstall:
        path = Path(root)
        if not (path / "content").is_dir():
            raise AcContentError(
                f"no Assetto Corsa install at {path} (no content/ folder there): set env.ac_root (or --ac-root) to "
                "the folder that holds acs.exe, e.g. C:\\Program Files (x86)\\Steam\\steamapps\\common\\assettocorsa"
            )
        return cls(path)

    # -- listings --------------------------------------------------------------------------------
    def _dirs(self, sub: str) -> list[str]:
        folder = self.root / sub
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def cars(self) -> list[str]:
        return self._dirs("content/cars")

    def tracks(self) -> list[str]:
        return self._dirs("content/tracks")

    def weathers(self) -> list[str]:
        return self._dirs("content/weather")

    def skins(self, car_id: str) -> list[str]:
        return self._dirs(f"content/cars/{car_id}/skins")

    def layouts(self, track_id: str) -> list[str]:
        """A multi-layout track's layouts: the folders under ui/ that hold a ui_track.json (as CM finds them)."""
        ui = self.root / "content/tracks" / track_id / "ui"
        if not ui.is_dir():
            return []
        return sorted(p.name for p in ui.iterdir() if p.is_dir() and (p / "ui_track.json").is_file())

    def car_ui_name(self, car_id: str) -> str | None:
        name = read_ui_json(self.root / "content/cars" / car_id / "ui/ui_car.json").get("name")
        return name if isinstance(name, str) and name.strip() else None

    # -- resolution ------------------------------------------------------------------------------
    def resolve_car(self, name: str) -> str:
        """The folder id of the installed car that ``name`` means (id, ui name or seed spelling)."""
        cars = self.cars()
        if name in cars:
            return name
        for car_id in cars:
            if car_matches(name, car_id, self.car_ui_name(car_id)):
                return car_id
        raise AcContentError(
            f"car {name!r} is not installed in {self.root / 'content/cars'} (looked for the folder id, the ui name "
            f"in ui/ui_car.json and the seed's spelling); {listing(cars, 'cars')}; set env.car to one of them"
        )

    def check_skin(self, car_id: str, skin: str | None) -> str:
        """``skin`` if the car has it; None → the first skin (AC's default order), '' when it has none."""
        skins = self.skins(car_id)
        if skin is None:
            return skins[0] if skins else ""
        if skin not in skins:
            raise AcContentError(f"car {car_id!r} has no skin {skin!r}; {listing(skins, 'skins')}; "
                                 "set env.ac_skin to one of them (or leave it unset for the first)")
        return skin

    def check_track(self, track: str, layout: str) -> tuple[str, str]:
        """(track id, layout) after checking both exist; a track with layouts needs one."""
        tracks = self.tracks()
        if track not in tracks:
            by_norm = {normalise(t): t for t in tracks}
            if normalise(track) in by_norm:
                track = by_norm[normalise(track)]
            else:
                raise AcContentError(f"track {track!r} is not installed in {self.root / 'content/tracks'}; "
                                     f"{listing(tracks, 'tracks')}; set env.track to one of them")
        layouts = self.layouts(track)
        if layout and layout not in layouts:
            if not layouts:
                raise AcContentError(f"track {track!r} has no layout {layout!r}: it has a single layout; set "
                                     "env.ac_layout (--layout) to ''")
            raise AcContentError(f"track {track!r} has no layout {layout!r}; {listing(layouts, 'layouts')}; "
                                 "set env.ac_layout (--layout) to one of them")
        if not layout and layouts:
            raise AcContentError(f"track {track!r} has several layouts and env.ac_layout is empty; "
                                 f"{listing(layouts, 'layouts')}; set env.ac_layout (--layout) to one of them")
        return track, layout

    def check_weather(self, weather_id: str) -> str:
        weathers = self.weathers()
        if weathers and weather_id not in weathers:  # no weather folder at all: a stripped install, AC's default
            raise AcContentError(f"weather {weather_id!r} is not installed in {self.root / 'content/weather'}; "
                                 f"{listing(weathers, 'weathers')}; choose another env.weather")
        return weather_id


def car_matches(config_car: str, car_model: str, ui_name: str | None = None) -> bool:
    """Whether the configured car name means the car whose folder id is ``car_model``.

    Accepted: the id itself, its ui name, the seed's spelling (:data:`SEED_CAR_IDS`), or the id without
    its author prefix, all compared by :func:`normalise`."""
    wanted = normalise(config_car)
    if not wanted:
        return False
    if SEED_CAR_IDS.get(config_car, "").lower() == car_model.lower():
        return True
    candidates = {normalise(car_model), normalise(without_author_prefix(car_model))}
    if ui_name:
        candidates.add(normalise(ui_name))
    return wanted in candidates


def car_mismatch_message(config_car: str, car_model: str, ui_name: str | None) -> str:
    shown = f"{car_model!r}" + (f" ({ui_name!r} in its ui_car.json)" if ui_name else "")
    return (f"AC runs the car {shown}, but the config asks for env.car = {config_car!r}: load {config_car!r} in AC "
            f"(or let `ac-core launch` / env.ac_launch load it), or set env.car to {car_model!r}")
