"""Declarative settings: each field of a settings dataclass carries its valid range or choices, and one
validator checks every section with one message format.

Every config section (``agent``, ``train``: :mod:`ac_core.config`; ``env``, ``env.reward``:
:mod:`ac_core.env.settings`) and the cluster settings (:mod:`ac_core.distributed.settings`) declare
their fields with :func:`setting`; :func:`parse_section` (a mapping from YAML, ``--set`` or keyword
arguments) and :func:`check_instance` (a dataclass built in code) check type, finiteness and range.
A bad value raises the caller's error class with one line::

    configs/x.yaml: env.reward.progress = nan is not a finite number; use a number in [0, 1000]

(source, key, the value as written, the problem; the fix). Numeric fields must declare both bounds
(:func:`fields_of` refuses a class that does not), so no value can reach an allocator or a loop count
unchecked.

Why the coercion: PyYAML follows YAML 1.1, which reads ``3e-4`` (no dot) as the *string* "3e-4"
while ``5_000_000`` is an int. Numeric fields therefore accept numeric strings and integral floats
(``1e6`` for an int field), but never booleans, NaN/inf, fractions for integers, or text.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any, NoReturn

_SPEC = "ac_core.setting"

# Step counts (schedules, intervals, totals): a trillion environment steps is years of driving at any
# rate this project reaches, and keeps every count far inside int64 (step counters, TensorBoard).
MAX_STEPS = 10**12


@dataclass(frozen=True)
class Spec:
    """What a field accepts: a closed or open range ``low``/``high`` for numbers, or ``choices``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    empty_ok: bool = False  # strings: "" is a valid value
    label: str | None = None  # the name shown in messages instead of section.key (e.g. a CLI option)
    doc: str = ""


def setting(default: Any = MISSING, *, default_factory: Any = MISSING, low: float | None = None,
            high: float | None = None, low_open: bool = False, high_open: bool = False,
            choices: tuple[Any, ...] | None = None, empty_ok: bool = False, label: str | None = None,
            doc: str = "") -> Any:
    """A dataclass field with its valid range (``low``/``high``, open or closed) or ``choices``."""
    spec = Spec(low, high, low_open, high_open, choices, empty_ok, label, doc)
    return field(default=default, default_factory=default_factory, metadata={_SPEC: spec})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    kind: type  # bool, int, float, str, or a settings dataclass (a nested section such as env.reward)
    optional: bool  # None is a valid value
    spec: Spec


@functools.cache
def fields_of(cls: type) -> dict[str, FieldInfo]:
    """The fields of a settings dataclass with their resolved types and specs (checked once per class)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, FieldInfo] = {}
    for f in dataclasses.fields(cls):
        hint, optional = hints[f.name], False
        args = typing.get_args(hint)
        if type(None) in args:
            rest = [a for a in args if a is not type(None)]
            hint, optional = rest[0], True
        if hint not in (bool, int, float, str) and not dataclasses.is_dataclass(hint):
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported settings type {hint!r}")
        spec = f.metadata.get(_SPEC, Spec())
        if hint in (int, float) and spec.choices is None and (spec.low is None or spec.high is None):
            raise TypeError(f"{cls.__name__}.{f.name}: a numeric setting needs both bounds (low and high)")
        out[f.name] = FieldInfo(f.name, hint, optional, spec)
    return out


# ----- messages ----------------------------------------------------------------------------------

def show(value: Any) -> str:
    """A value as the user wrote it, on one line (numbers YAML kept as text, e.g. 3e-4, unquoted)."""
    if isinstance(value, str):
        try:
            float(value.replace("_", ""))
            return value.strip()
        except ValueError:
            pass
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number_text(x: float) -> str:
    """A bound as YAML reads it back: whole numbers without a fraction (1_000_000), others compact."""
    if float(x).is_integer() and abs(x) < 1e18:
        whole = int(x)
        return f"{whole:_}" if abs(whole) >= 100_000 else str(whole)
    return f"{x:g}"


def choices_text(choices: tuple[Any, ...]) -> str:
    return "choose one of: " + ", ".join(str(c) for c in choices)


def describe(kind: type, spec: Spec) -> str:
    """What a field accepts, e.g. 'an integer in [1, 4096]' or 'a number in (0, 1]'."""
    if spec.choices is not None:
        return "one of: " + ", ".join(str(c) for c in spec.choices)
    if kind is bool:
        return "true or false"
    if kind is str:
        return "a string" if spec.empty_ok else "a non-empty string"
    name = "an integer" if kind is int else "a number"
    lo = "(-inf" if spec.low is None else ("(" if spec.low_open else "[") + number_text(spec.low)
    hi = "inf)" if spec.high is None else number_text(spec.high) + (")" if spec.high_open else "]")
    return f"{name} in {lo}, {hi}"


def message(source: str, key: str, value: Any, problem: str, fix: str) -> str:
    """The one format: '<source>: <key> = <value> <problem>; <fix>' (source omitted when empty)."""
    prefix = f"{source}: " if source else ""
    return f"{prefix}{key} = {show(value)} {problem}; {fix}"


def fail(error: type[Exception], source: str, key: str, value: Any, problem: str, fix: str) -> NoReturn:
    raise error(message(source, key, value, problem, fix))


# ----- checking ----------------------------------------------------------------------------------

def _key(section: str, info: FieldInfo) -> str:
    if info.spec.label:
        return info.spec.label
    return f"{section}.{info.name}" if section else info.name


def _number(value: Any, info: FieldInfo, key: str, source: str, error: type[Exception]) -> int | float:
    kind, spec = info.kind, info.spec
    fix = choices_text(spec.choices) if spec.choices is not None else f"use {describe(kind, spec)}"
    what = "an integer" if kind is int else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        fail(error, source, key, value, f"is not {what}", fix)
    number: int | float = value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            number = int(text) if kind is int and text.lstrip("+-").isdigit() else float(text)
        except ValueError:  # text, or an integer too long to convert
            fail(error, source, key, value, f"is not {what}", fix)
    if isinstance(number, int) and kind is float:
        try:
            number = float(number)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
    if isinstance(number, float) and not math.isfinite(number):
        fail(error, source, key, value, "is not a finite number", fix)
    if kind is int and isinstance(number, float):
        if not number.is_integer():
            fail(error, source, key, value, "is not a whole number", fix)
        number = int(number)
    if spec.choices is not None:
        if number not in spec.choices:
            fail(error, source, key, value, "is not valid", fix)
        return number
    too_low = spec.low is not None and (number <= spec.low if spec.low_open else number < spec.low)
    too_high = spec.high is not None and (number >= spec.high if spec.high_open else number > spec.high)
    if too_low or too_high:
        fail(error, source, key, value, "is out of range", fix)
    return number


def check_value(value: Any, info: FieldInfo, key: str, source: str, error: type[Exception]) -> Any:
    """One field's value, coerced (numeric text to numbers, 1e6 to an int field) or rejected."""
    if value is None and info.optional:
        return None
    kind, spec = info.kind, info.spec
    if kind is bool:
        if not isinstance(value, bool):
            fail(error, source, key, value, "is not a boolean", "use true or false")
        return value
    if kind in (int, float):
        return _number(value, info, key, source, error)
    if kind is str:
        fix = choices_text(spec.choices) if spec.choices is not None else f"use {describe(str, spec)}"
        if not isinstance(value, str):
            fail(error, source, key, value, "is not a string", fix)
        if not value.strip() and not spec.empty_ok:
            fail(error, source, key, value, "is empty", fix)
        if spec.choices is not None and value not in spec.choices:
            fail(error, source, key, value, "is not valid", fix)
        return value
    return kind(**parse_section(kind, value, section=key, source=source, error=error))


def parse_section(cls: type, raw: Any, *, section: str, source: str, error: type[Exception]) -> dict[str, Any]:
    """Checked keyword arguments for ``cls`` from a mapping (YAML, --set, keywords); only the keys given.

    ``None`` (an empty YAML section) is an empty mapping; an instance of ``cls`` is checked as is.
    """
    if raw is None:
        raw = {}
    if isinstance(raw, cls):
        raw = {f.name: getattr(raw, f.name) for f in dataclasses.fields(cls)}
    fields = fields_of(cls)
    if not isinstance(raw, Mapping):
        fail(error, source, section, raw, "is not a mapping",
             f"write it as key: value lines with keys from: {', '.join(fields)}")
    unknown = [str(k) for k in raw if k not in fields]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        prefix = f"{source}: " if source else ""
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise error(f"{prefix}{key} is an unknown key{hint}; valid keys in {section or cls.__name__}: "
                    f"{', '.join(fields)}")
    return {name: check_value(value, fields[name], _key(section, fields[name]), source, error)
            for name, value in raw.items()}


def check_instance(obj: Any, *, section: str = "", source: str = "", error: type[Exception]) -> None:
    """Check every field of a settings dataclass built in code; coerced values are written back."""
    for name, value in parse_section(type(obj), obj, section=section, source=source, error=error).items():
        if value is not getattr(obj, name):
            object.__setattr__(obj, name, value)
