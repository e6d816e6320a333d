"""Open AC's three pages by prefix and take checked snapshots of them.

``PageSet`` is what every live consumer uses (doctor, telemetry, the ``ac`` and ``sim-live``
backends): it opens ``<prefix>physics``, ``<prefix>graphics`` and ``<prefix>static`` read-only,
never creating them, and snapshots each into preallocated NumPy buffers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ac_core import _core
from ac_core import pages as P
from ac_core.errors import AcCoreError, InputError

DEFAULT_PREFIX = "acpmf_"
KIND_NAMES = ("physics", "graphics", "static")
TORN_BACKOFF_ROUNDS = 5
TORN_BACKOFF_S = 0.002
# Leaves room for the longest suffix (CSP's "AcTools.CSP.NewBehaviour.CustomAI.CarPublic0.v0") within the
# 200 characters a page name may have.
MAX_PREFIX_LENGTH = 120


class PageNotFoundError(AcCoreError, FileNotFoundError):
    """A page is missing: AC (or simshmbridge, or `ac-core sim`) is not running with this prefix."""


class PageTornError(AcCoreError, RuntimeError):
    """A page kept changing during every copy attempt."""


class PagePrefixError(InputError, ValueError):
    """A page prefix that cannot start a shared-memory name (``--prefix``, ``env.prefix``)."""


def check_prefix(prefix: str) -> str:
    """``prefix`` if it can start a page name on every OS; else :class:`PagePrefixError` naming it.

    The one check every command's ``--prefix`` goes through (page names are built here): a slash or
    backslash would name a folder (POSIX ``/dev/shm``) or another namespace (Windows ``Local\\``)."""
    bad = [c for c in prefix if c in "/\\" or not c.isprintable() or c.isspace()]
    if bad or len(prefix) > MAX_PREFIX_LENGTH:
        problem = f"contains {bad[0]!r}" if bad else f"is {len(prefix)} characters long (at most {MAX_PREFIX_LENGTH})"
        raise PagePrefixError(
            f"page prefix {prefix!r} {problem}: a prefix is a plain name without '/', '\\', spaces or control "
            f"characters, e.g. --prefix acpmf_ (the game's) or --prefix run1_"
        )
    return prefix


def page_name(prefix: str, kind: str) -> str:
    return f"{check_prefix(prefix)}{kind}"


def what_to_start(prefix: str) -> str:
    hint = (
        "start Assetto Corsa and load a session (Windows); on Linux/Proton start simshmbridge before "
        "the game; or start the built-in simulator with `ac-core sim`"
    )
    if prefix != DEFAULT_PREFIX:
        hint += f" (with --prefix {prefix})"
    return hint


@dataclass
class PageInfo:
    """What `doctor` reports for one page."""

    kind: str
    name: str
    os_name: str
    found: bool
    size: int = 0
    error: str | None = None
    absent_fields: list[str] = field(default_factory=list)
    protocol: str | None = None


class PageSet:
    """Read-only view of AC's physics, graphics and static pages under one name prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, *, max_retries: int = 16) -> None:
        self.prefix = prefix
        self._pages: dict[str, Any] = {}
        self._readers: dict[str, Any] = {}
        missing = []
        for kind in KIND_NAMES:
            name = page_name(prefix, kind)
            try:
                page = _core.SharedPage.open(name)
            except FileNotFoundError:
                missing.append(_core.SharedPage.os_name(name))
                continue
            self._pages[kind] = page
            self._readers[kind] = _core.PageReader(page, P.PAGE_KINDS[kind], max_retries)
        if missing:
            self.close()
            raise PageNotFoundError(f"missing shared-memory page(s) {', '.join(missing)}: {what_to_start(prefix)}")
        self.physics = P.empty_page("physics")
        self.graphics = P.empty_page("graphics")
        self.static = P.empty_page("static")
        self.read_static()

    # -- snapshots -------------------------------------------------------------------------------
    def _read(self, kind: str, out: np.ndarray) -> int:
        pid = self._readers[kind].read_into(out)
        for _ in range(TORN_BACKOFF_ROUNDS):
            if pid is not None:
                break
            # A writer descheduled in the middle of a seqlocked write (a loaded machine) keeps every
            # tight retry failing; give it a moment to finish before calling the page broken.
            time.sleep(TORN_BACKOFF_S)
            pid = self._readers[kind].read_into(out)
        if pid is None:
            raise PageTornError(
                f"{kind} page kept changing during every copy (retries exhausted): is its writer broken?"
            )
        return pid

    def read_physics(self, out: np.ndarray | None = None) -> int:
        """Checked snapshot of the physics page into ``out`` (default: ``self.physics``); returns packetId."""
        return self._read("physics", self.physics if out is None else out)

    def read_graphics(self, out: np.ndarray | None = None) -> int:
        return self._read("graphics", self.graphics if out is None else out)

    def read_static(self, out: np.ndarray | None = None) -> None:
        self._read("static", self.static if out is None else out)

    def read_all(self) -> tuple[int, int]:
        return self.read_physics(), self.read_graphics()

    # -- information -----------------------------------------------------------------------------
    def size(self, kind: str) -> int:
        return int(self._pages[kind].size)

    def absent_fields(self, kind: str) -> list[str]:
        return P.fields_absent(kind, self.size(kind))

    def stats(self) -> dict[str, dict[str, int]]:
        return {k: dict(r.stats) for k, r in self._readers.items()}

    def reader(self, kind: str) -> Any:
        return self._readers[kind]

    def close(self) -> None:
        self._readers.clear()
        for page in self._pages.values():
            page.close()
        self._pages.clear()

    def __enter__(self) -> PageSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_pages(prefix: str = DEFAULT_PREFIX) -> list[PageInfo]:
    """Look at each page without failing on the first problem (for `doctor`)."""
    infos = []
    for kind in KIND_NAMES:
        name = page_name(prefix, kind)
        info = PageInfo(kind=kind, name=name, os_name=_core.SharedPage.os_name(name), found=False)
        try:
            with _core.SharedPage.open(name) as page:
                info.found = True
                info.size = int(page.size)
                minimal = _core.page_minimal_size(P.PAGE_KINDS[kind])
                if page.size < minimal:
                    info.error = (
                        f"only {page.size} bytes, fewer than the smallest AC {kind} page ({minimal}): "
                        "not an AC page; check the prefix"
                    )
                else:
                    info.absent_fields = P.fields_absent(kind, int(page.size))
                    info.protocol = _core.PageReader(page, P.PAGE_KINDS[kind]).protocol.name.lower()
        except FileNotFoundError:
            info.error = "not found"
        except PermissionError as e:
            info.found = True
            info.error = str(e)
        infos.append(info)
    return infos


def observe_liveness(pages: PageSet, duration_s: float = 0.25) -> tuple[str, int]:
    """Watch the physics packetId for ``duration_s``; returns (liveness name, packets seen)."""
    tracker = _core.LivenessTracker()
    start = time.monotonic()
    first = pages.read_physics()
    pages.read_graphics()
    state = tracker.update(first, int(pages.graphics["status"]), 0.0)
    while time.monotonic() - start < duration_s:
        time.sleep(0.005)
        pid = pages.read_physics()
        pages.read_graphics()
        state = tracker.update(pid, int(pages.graphics["status"]), time.monotonic() - start)
    packets = int(pages.physics["packetId"]) - int(first)
    return state.name.lower(), packets
