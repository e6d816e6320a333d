"""Readers for Assetto Corsa's car data files: ``.ini`` (``[SECTION]`` + ``KEY=VALUE``) and ``.lut``
(``x|y`` lines, or the inline ``(|x=y|x=y|)`` form).

Every error names the file, the line and the key (``car.ini line 12: [BASIC] TOTALMASS='abc' is not a
number; …``) and is an :class:`AcCarError` (bad input, exit 2). The format follows AC's own readers
as Content Manager reproduces them: comments start with ``;`` or ``//``, numbers may be ``a,b,c``
vectors, LUT lookup is linear and clamped at the ends.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ac_core.errors import InputError

REQUIRED = object()  # default of a key that must be present


class AcCarError(InputError, ValueError):
    """An AC car folder that cannot be loaded: the message names the file, line and key, and the fix."""


def _strip_comment(line: str) -> str:
    for mark in (";", "//"):
        cut = line.find(mark)
        if cut >= 0:
            line = line[:cut]
    return line.strip()


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise AcCarError(f"{path}: cannot be read ({e.strerror or e}); check the file's permissions") from None
    # Mod files carry Windows-1252 comments now and then: keep going on bytes that are not UTF-8.
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


@dataclass
class IniFile:
    """One parsed .ini file: section -> key -> (raw value, line number)."""

    path: Path
    sections: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> IniFile:
        ini = cls(path)
        current: dict[str, tuple[str, int]] | None = None
        for number, line in enumerate(_read_text(path).splitlines(), start=1):
            text = _strip_comment(line)
            if not text:
                continue
            if text.startswith("["):
                if not text.endswith("]") or len(text) < 3:
                    raise AcCarError(f"{path.name} line {number}: {text!r} is not a [SECTION] header; "
                                     "fix the brackets in that line")
                current = ini.sections.setdefault(text[1:-1].strip().upper(), {})
                continue
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise AcCarError(f"{path.name} line {number}: {text!r} is not KEY=VALUE; fix or remove that line")
            if current is None:
                raise AcCarError(f"{path.name} line {number}: {key.strip()} comes before any [SECTION]; "
                                 "put it under its section")
            current[key.strip().upper()] = (value.strip(), number)
        return ini

    def has(self, section: str) -> bool:
        return section in self.sections

    def section_names(self, prefix: str) -> list[str]:
        """Sections named ``<prefix><n>`` (e.g. WING_0, WING_1 …) in numeric order."""
        found = []
        for name in self.sections:
            tail = name[len(prefix):]
            if name.startswith(prefix) and tail.isdigit():
                found.append((int(tail), name))
        return [name for _, name in sorted(found)]

    def raw(self, section: str, key: str) -> tuple[str, int] | None:
        return self.sections.get(section, {}).get(key)

    def text(self, section: str, key: str, default: object = REQUIRED) -> str:
        hit = self.raw(section, key)
        if hit is None:
            if default is REQUIRED:
                raise AcCarError(f"{self.path.name}: [{section}] {key} is missing; add it (see the car's other "
                                 "files or a Kunos car for the usual value)")
            return str(default)
        return hit[0]

    def num(self, section: str, key: str, default: object = REQUIRED) -> float:
        hit = self.raw(section, key)
        if hit is None or hit[0] == "":
            if default is REQUIRED:
                raise AcCarError(f"{self.path.name}: [{section}] {key} is missing; add it (see the car's other "
                                 "files or a Kunos car for the usual value)")
            return float(default)  # type: ignore[arg-type]
        value, line = hit
        try:
            return float(value)
        except ValueError:
            raise AcCarError(f"{self.path.name} line {line}: [{section}] {key}={value!r} is not a number; "
                             "fix the value") from None

    def vec(self, section: str, key: str, size: int, default: object = REQUIRED) -> list[float]:
        hit = self.raw(section, key)
        if hit is None or hit[0] == "":
            if default is REQUIRED:
                raise AcCarError(f"{self.path.name}: [{section}] {key} is missing; add it as {size} numbers "
                                 "separated by commas")
            return list(default)  # type: ignore[call-overload]
        value, line = hit
        parts = [p.strip() for p in value.split(",")]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != size:
            raise AcCarError(f"{self.path.name} line {line}: [{section}] {key}={value!r} is not {size} numbers "
                             "separated by commas; fix the value")
        return numbers

    def line_of(self, section: str, key: str) -> str:
        hit = self.raw(section, key)
        return f"{self.path.name} line {hit[1]}" if hit else self.path.name


@dataclass
class Lut:
    """A lookup table: linear between points, clamped at the ends (AC's Curve::getValue)."""

    name: str
    xs: list[float]
    ys: list[float]

    def __call__(self, x: float) -> float:
        xs, ys = self.xs, self.ys
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, x)
        t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
        return ys[i - 1] + t * (ys[i] - ys[i - 1])

    def cubic(self, x: float) -> float:
        """Catmull-Rom through the points (AC's DY_CURVE/DX_CURVE are cubic), clamped at the ends."""
        xs, ys = self.xs, self.ys
        if len(xs) < 3 or x <= xs[0] or x >= xs[-1]:
            return self(x)
        i = bisect.bisect_right(xs, x) - 1
        h = xs[i + 1] - xs[i]
        t = (x - xs[i]) / h

        def slope(k: int) -> float:
            lo, hi = max(k - 1, 0), min(k + 1, len(xs) - 1)
            return (ys[hi] - ys[lo]) / (xs[hi] - xs[lo]) * h

        m0, m1 = slope(i), slope(i + 1)
        t2, t3 = t * t, t * t * t
        return ((2 * t3 - 3 * t2 + 1) * ys[i] + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * ys[i + 1]
                + (t3 - t2) * m1)


def parse_lut_text(text: str, name: str) -> Lut:
    """Points of a .lut file's text, or of an inline ``(|x=y|x=y|)`` value; sorted by x (AC files are
    not always in order), duplicates keep the last y."""
    points: dict[float, float] = {}
    stripped = text.strip()
    if stripped.startswith("(") and stripped.endswith(")"):
        for k, part in enumerate(p for p in stripped[1:-1].split("|") if p.strip()):
            x, sep, y = part.partition("=")
            try:
                points[float(x)] = float(y)
            except ValueError:
                raise AcCarError(f"{name}: point {k + 1} {part!r} is not x=y numbers; fix the table") from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            body = _strip_comment(line)
            if not body:
                continue
            x, sep, y = body.partition("|")
            try:
                if not sep:
                    raise ValueError
                points[float(x)] = float(y)
            except ValueError:
                raise AcCarError(f"{name} line {number}: {body!r} is not 'x|y' numbers; fix that line") from None
    if not points:
        raise AcCarError(f"{name}: the table has no points; fill it with 'x|y' lines")
    xs = sorted(points)
    return Lut(name, xs, [points[x] for x in xs])


def read_lut(path: Path) -> Lut:
    return parse_lut_text(_read_text(path), path.name)


def read_ui_json(path: Path) -> dict:
    """A ui_*.json as a dict; {} when missing or unreadable. Tolerates a UTF-8 BOM (files saved by
    Windows editors have one) and broken JSON, from which only ``"name"`` is recovered."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Broken ui files exist (CM restores them); the name is all we need.
        m = re.search(r'"name"\s*:\s*"([^"]*)"', text)
        return {"name": m.group(1)} if m else {}
    return data if isinstance(data, dict) else {}
