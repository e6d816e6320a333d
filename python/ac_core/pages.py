"""AC's physics, graphics and static pages as NumPy structured dtypes, plus enums and decoding.

The dtypes are generated from the C++ field table (``ac_core._core.field_table``), the single
source of truth; nothing here repeats an offset.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ac_core import _core

PageKind = _core.PageKind

PAGE_KINDS: dict[str, Any] = {
    "physics": PageKind.PHYSICS,
    "graphics": PageKind.GRAPHICS,
    "static": PageKind.STATIC,
}


class AcStatus(enum.IntEnum):
    """graphics.status"""

    OFF = 0
    REPLAY = 1
    LIVE = 2
    PAUSE = 3


class AcSessionType(enum.IntEnum):
    """graphics.session"""

    UNKNOWN = -1
    PRACTICE = 0
    QUALIFY = 1
    RACE = 2
    HOTLAP = 3
    TIME_ATTACK = 4
    DRIFT = 5
    DRAG = 6


class AcFlagType(enum.IntEnum):
    """graphics.flag"""

    NO_FLAG = 0
    BLUE_FLAG = 1
    YELLOW_FLAG = 2
    BLACK_FLAG = 3
    WHITE_FLAG = 4
    CHECKERED_FLAG = 5
    PENALTY_FLAG = 6


def _kind(kind: Any) -> Any:
    if isinstance(kind, str):
        try:
            return PAGE_KINDS[kind]
        except KeyError:
            raise ValueError(f"unknown page kind {kind!r}; valid: {', '.join(PAGE_KINDS)}") from None
    return kind


def _build_dtype(kind: Any) -> np.dtype:
    names, formats, offsets = [], [], []
    for name, offset, fmt, shape, _is_text in _core.field_table(kind):
        names.append(name)
        formats.append((np.dtype("<" + fmt), shape) if shape else np.dtype("<" + fmt))
        offsets.append(offset)
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": _core.page_size(kind)}
    )


PHYSICS_DTYPE: np.dtype = _build_dtype(PageKind.PHYSICS)
GRAPHICS_DTYPE: np.dtype = _build_dtype(PageKind.GRAPHICS)
STATIC_DTYPE: np.dtype = _build_dtype(PageKind.STATIC)
_DTYPES = {PageKind.PHYSICS: PHYSICS_DTYPE, PageKind.GRAPHICS: GRAPHICS_DTYPE, PageKind.STATIC: STATIC_DTYPE}
_TEXT_FIELDS = {
    k: frozenset(row[0] for row in _core.field_table(k) if row[4]) for k in _DTYPES
}


def dtype_of(kind: Any) -> np.dtype:
    """The structured dtype of a page kind ("physics", "graphics", "static" or a PageKind)."""
    return _DTYPES[_kind(kind)]


def text_fields(kind: Any) -> frozenset[str]:
    """Names of the UTF-16 string fields of a page kind."""
    return _TEXT_FIELDS[_kind(kind)]


def empty_page(kind: Any) -> np.ndarray:
    """A zeroed 0-d structured array to snapshot into (reuse it: snapshots never allocate)."""
    return np.zeros((), dtype=dtype_of(kind))


def fields_present(kind: Any, page_size: int) -> list[str]:
    """Fields wholly inside a page of ``page_size`` bytes (older AC versions publish shorter pages)."""
    return [
        name
        for name, offset, fmt, shape, _ in _core.field_table(_kind(kind))
        if offset + np.dtype(fmt).itemsize * int(np.prod(shape or (1,))) <= page_size
    ]


def fields_absent(kind: Any, page_size: int) -> list[str]:
    present = set(fields_present(kind, page_size))
    return [n for n in dtype_of(kind).names if n not in present]


class TextDecodeError(ValueError):
    """A UTF-16 field with no terminator or invalid code units."""


def decode_utf16(units: np.ndarray | Iterable[int], *, strict: bool = False) -> str:
    """Decode a UTF-16LE field (array of uint16 code units), stopping at the first NUL.

    AC pads strings with NUL. An unterminated field (every unit non-NUL) is decoded in full; with
    ``strict=True`` it raises TextDecodeError instead. Invalid surrogates become U+FFFD unless strict.
    """
    arr = np.asarray(units, dtype="<u2")
    nul = np.flatnonzero(arr == 0)
    if nul.size:
        arr = arr[: nul[0]]
    elif strict:
        raise TextDecodeError(f"string field of {arr.size} units has no NUL terminator")
    data = arr.tobytes()
    try:
        return data.decode("utf-16-le")
    except UnicodeDecodeError as e:
        if strict:
            raise TextDecodeError(f"invalid UTF-16 in string field: {e}") from None
        return data.decode("utf-16-le", errors="replace")


def encode_utf16(text: str, units: int) -> np.ndarray:
    """Encode text into a NUL-padded field of ``units`` UTF-16 code units (truncated to fit)."""
    raw = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")[: units - 1]
    out = np.zeros(units, dtype="<u2")
    out[: raw.size] = raw
    return out


def set_text(page: np.ndarray, field: str, text: str) -> None:
    """Write a string into a text field of a structured page array."""
    page[field] = encode_utf16(text, page.dtype[field].shape[0])


def to_dict(page: np.ndarray, *, fields: Iterable[str] | None = None, page_size: int | None = None) -> dict:
    """A page as a plain dict: strings decoded, arrays as lists, absent fields as None."""
    dt = page.dtype
    kind = next(k for k, d in _DTYPES.items() if d == dt)
    texts = _TEXT_FIELDS[kind]
    present = set(fields_present(kind, page_size)) if page_size is not None else None
    out: dict[str, Any] = {}
    for name in fields if fields is not None else dt.names:
        if present is not None and name not in present:
            out[name] = None
        elif name in texts:
            out[name] = decode_utf16(page[name])
        else:
            value = page[name]
            out[name] = value.tolist() if isinstance(value, np.ndarray) else value.item()
    return out


def non_finite_fields(page: np.ndarray, *, page_size: int | None = None) -> list[str]:
    """Float fields holding NaN or inf: flagged, never passed on silently."""
    dt = page.dtype
    kind = next(k for k, d in _DTYPES.items() if d == dt)
    present = set(fields_present(kind, page_size)) if page_size is not None else None
    bad = []
    for name in dt.names:
        if dt[name].base.kind != "f" or (present is not None and name not in present):
            continue
        if not np.all(np.isfinite(page[name])):
            bad.append(name)
    return bad


def static_summary(static: np.ndarray) -> dict[str, Any]:
    """The static page's identifying fields, decoded."""
    return {
        "smVersion": decode_utf16(static["smVersion"]),
        "acVersion": decode_utf16(static["acVersion"]),
        "carModel": decode_utf16(static["carModel"]),
        "track": decode_utf16(static["track"]),
        "trackConfiguration": decode_utf16(static["trackConfiguration"]),
        "trackSPlineLength": float(static["trackSPlineLength"]),
        "maxRpm": int(static["maxRpm"]),
        "sectorCount": int(static["sectorCount"]),
    }


def format_lap_time(ms: int | float) -> str:
    """AC's lap-time text: m:ss:mmm (as in graphics.currentTime); '-:--:---' for no time."""
    if ms is None or not math.isfinite(ms) or ms <= 0 or ms >= 2**31 - 1:
        return "-:--:---"
    ms = int(ms)
    return f"{ms // 60000}:{(ms // 1000) % 60:02d}:{ms % 1000:03d}"
