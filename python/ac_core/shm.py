"""Open AC's three pages by prefix and take checked snapshots of them.

``PageSet`` is what every live consumer uses (doctor, telemetry, the ``ac`` and ``sim-live``
backends): it opens ``<prefix>physics``, ``<prefix>graphics`` and ``<prefix>static`` read-only,
never creating them, and snapshots each into preallocated NumPy buffers.
"""

from __future__ import annotations

import os
import sys
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
# Seconds without a new physics packet while graphics.status says LIVE before a session counts as stalled
# (AC publishes ~333 packets a second; even a loaded machine does not freeze it for this long).
STALL_TIMEOUT_S = 2.0
GONE_CHECK_S = 0.25  # how often a frozen session is checked for removed pages or a dead writer
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


class PageInvalidError(AcCoreError, ValueError):
    """A page exists but is no usable AC page (0 bytes, truncated): a writer died while creating it, or a
    leftover file."""


class SessionStalledError(AcCoreError):
    """The physics packetId stopped moving while graphics.status says LIVE: the game or simulator hangs."""


class SessionGoneError(AcCoreError):
    """The pages were removed or replaced, or the process writing them exited."""


def page_file(name: str) -> str:
    """Where the page lives for the OS: the file /dev/shm/<name> on Linux, the mapping name elsewhere."""
    os_name = _core.SharedPage.os_name(name)
    return f"/dev/shm{os_name}" if sys.platform.startswith("linux") else os_name


def open_page(prefix: str, kind: str) -> Any:
    """Open ``<prefix><kind>`` read-only, with one-line project errors naming the page file and the fix:
    PageNotFoundError (missing) or PageInvalidError (0 bytes, truncated)."""
    check_prefix(prefix)
    name = page_name(prefix, kind)
    try:
        page = _core.SharedPage.open(name)
    except FileNotFoundError:
        raise PageNotFoundError(f"missing shared-memory page {page_file(name)}: {what_to_start(prefix)}") from None
    except ValueError as e:  # the OS refused to map it: an empty (0-byte) file
        raise PageInvalidError(invalid_page_message(prefix, name, e)) from None
    minimal = _core.page_minimal_size(P.PAGE_KINDS[kind])
    if page.size < minimal:
        size = int(page.size)
        page.close()
        raise PageInvalidError(invalid_page_message(
            prefix, name, f"only {size} bytes, fewer than the smallest AC {kind} page ({minimal}): truncated, "
            "or not an AC page (check the prefix)"))
    return page


def invalid_page_message(prefix: str, name: str, error: object) -> str:
    path = page_file(name)
    return (f"unusable shared-memory page {path}: {error}; restart the program that writes prefix {prefix!r} "
            f"(AC, simshmbridge or `ac-core sim`), or if none is running remove the leftover file {path}")


def writer_pid(page: Any) -> int | None:
    """The pid in the seqlock trailer of a page this project writes (`ac-core sim`, PagePublisher);
    None for pages of other writers (AC, simshmbridge)."""
    if int(page.size) < int(_core.TRAILER_OFFSET) + 16:
        return None
    trailer = np.frombuffer(page, dtype="<u4", count=4, offset=int(_core.TRAILER_OFFSET))
    return int(trailer[3]) if int(trailer[0]) == int(_core.TRAILER_MAGIC) and int(trailer[3]) > 0 else None


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, counts as exited). True where the
    platform cannot tell without side effects (Windows, where os.kill would terminate it)."""
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


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


def _closed_read(out: np.ndarray) -> int | None:
    raise PageNotFoundError("the page set is closed: open a new PageSet")


class PageSet:
    """Read-only view of AC's physics, graphics and static pages under one name prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, *, max_retries: int = 16) -> None:
        self.prefix = prefix
        self._pages: dict[str, Any] = {}
        self._readers: dict[str, Any] = {}
        self._files: dict[str, tuple[str, int | None]] = {}  # kind -> (page file, its inode when opened)
        missing = []
        try:
            for kind in KIND_NAMES:
                try:
                    page = open_page(prefix, kind)
                except PageNotFoundError:
                    missing.append(_core.SharedPage.os_name(page_name(prefix, kind)))
                    continue
                self._pages[kind] = page
                path = page_file(page_name(prefix, kind))
                self._files[kind] = (path, _inode(path))
                self._readers[kind] = _core.PageReader(page, P.PAGE_KINDS[kind], max_retries)
        except BaseException:
            self.close()
            raise
        if missing:
            self.close()
            raise PageNotFoundError(f"missing shared-memory page(s) {', '.join(missing)}: {what_to_start(prefix)}")
        self.physics = P.empty_page("physics")
        self.graphics = P.empty_page("graphics")
        self.static = P.empty_page("static")
        # The hot path of read_physics/read_graphics: the bound C++ read, no lookups per call.
        self._read_physics_into = self._readers["physics"].read_into
        self._read_graphics_into = self._readers["graphics"].read_into
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
        pid = self._read_physics_into(self.physics if out is None else out)
        # None: the page changed during every tight retry; back off and retry (or raise) in _read.
        return pid if pid is not None else self._read("physics", self.physics if out is None else out)

    def read_graphics(self, out: np.ndarray | None = None) -> int:
        pid = self._read_graphics_into(self.graphics if out is None else out)
        return pid if pid is not None else self._read("graphics", self.graphics if out is None else out)

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

    def writer_pid(self) -> int | None:
        """The pid of the process writing the physics page, when it is one of this project's writers."""
        return writer_pid(self._pages["physics"])

    def gone_reason(self) -> str | None:
        """Why the pages are gone (a page file removed or replaced by a newer writer's, the writer process
        exited), or None while they are still the live pages of a running writer."""
        for path, inode in self._files.values():
            if inode is None:
                continue  # no page file to look at (Windows, macOS): only the writer's pid tells
            now = _inode(path)
            if now is None:
                return f"the page {path} was removed"
            if now != inode:
                return f"the page {path} was replaced by a newer writer's page"
        pid = self.writer_pid()
        if pid is not None and not process_alive(pid):
            return f"its writer (pid {pid}) has exited"
        return None

    def close(self) -> None:
        self._readers.clear()
        self._read_physics_into = self._read_graphics_into = _closed_read
        for page in self._pages.values():
            page.close()
        self._pages.clear()

    def __enter__(self) -> PageSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inode(path: str) -> int | None:
    if not path.startswith("/dev/shm/"):
        return None
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def probe_pages(prefix: str = DEFAULT_PREFIX) -> list[PageInfo]:
    """Look at each page without failing on the first problem (for `doctor`)."""
    check_prefix(prefix)
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
                        "truncated, or not an AC page (check the prefix)"
                    )
                else:
                    info.absent_fields = P.fields_absent(kind, int(page.size))
                    info.protocol = _core.PageReader(page, P.PAGE_KINDS[kind]).protocol.name.lower()
        except FileNotFoundError:
            info.error = "not found"
        except ValueError as e:  # found, but the OS cannot map it (0 bytes)
            info.found = True
            info.error = str(e)
        except PermissionError as e:
            info.found = True
            info.error = str(e)
        infos.append(info)
    return infos


@dataclass
class SessionState:
    """What a watch of the pages saw (for `doctor`)."""

    state: str  # live, paused, stalled, gone, off, replay
    packets: int  # physics packets seen while watching
    reason: str | None = None  # for gone: what is gone


def watch_session(pages: PageSet, duration_s: float = 0.25) -> SessionState:
    """Watch the physics packetId and graphics.status for ``duration_s`` and say what the session is.

    gone: a page file was removed or replaced, or the writer process exited. Otherwise graphics.status
    decides: AC_OFF (menus, loading) is off, AC_REPLAY replay, AC_PAUSE paused (AC freezes packetId while
    paused); a LIVE status with a packetId that never moved is stalled (a hung game or a stopped
    simulator), with a moving one live.
    """
    start = time.monotonic()
    first = pages.read_physics()
    moved = False
    while time.monotonic() - start < duration_s:
        time.sleep(0.005)
        moved = pages.read_physics() != first or moved
    pages.read_graphics()
    packets = int(pages.physics["packetId"]) - int(first)
    reason = None if moved else pages.gone_reason()  # a moving clock proves its writer is there
    if reason is not None:
        return SessionState("gone", packets, reason)
    status = int(pages.graphics["status"])
    named = {P.AcStatus.OFF: "off", P.AcStatus.REPLAY: "replay", P.AcStatus.PAUSE: "paused"}
    if status in named:
        return SessionState(named[P.AcStatus(status)], packets)
    return SessionState("live" if moved else "stalled", packets)


def observe_liveness(pages: PageSet, duration_s: float = 0.25) -> tuple[str, int]:
    """(state, physics packets seen) from :func:`watch_session`."""
    seen = watch_session(pages, duration_s)
    return seen.state, seen.packets


class SessionWatch:
    """Follows successive snapshots and stops a reader that would otherwise repeat frozen values.

    ``observe(packet_id, status)`` returns whether the packetId is new and raises
    :class:`SessionStalledError` once it has not moved for ``stall_timeout_s`` while graphics.status is
    LIVE (0: never), and :class:`SessionGoneError` when, frozen, the pages turn out removed or replaced or
    their writer dead. Time with another status (AC_PAUSE, menus, replays) does not count toward a stall.
    """

    def __init__(self, pages: PageSet, stall_timeout_s: float = STALL_TIMEOUT_S) -> None:
        self.pages = pages
        self.stall_timeout_s = stall_timeout_s
        self.last_id: int | None = None
        now = time.monotonic()
        self._last_packet_at = now  # the clock for the gone check
        self._stall_since = now  # the clock for the stall: restarts whenever the status is not LIVE
        self._next_gone_check = now

    def observe(self, packet_id: int, status: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if packet_id != self.last_id:
            self.last_id = packet_id
            self._last_packet_at = self._stall_since = now
            return True
        if status != int(P.AcStatus.LIVE):
            self._stall_since = now
        if now - self._last_packet_at >= GONE_CHECK_S and now >= self._next_gone_check:
            self._next_gone_check = now + GONE_CHECK_S
            reason = self.pages.gone_reason()
            if reason is not None:
                raise SessionGoneError(
                    f"the pages of prefix {self.pages.prefix!r} are gone: {reason}; start the game (or `ac-core "
                    f"sim --prefix {self.pages.prefix}`) again and rerun"
                )
        frozen = now - self._stall_since
        if self.stall_timeout_s > 0 and frozen >= self.stall_timeout_s:
            pid = self.pages.writer_pid()
            writer = f" (writer pid {pid})" if pid is not None else ""
            raise SessionStalledError(
                f"stalled: no new physics packet for {frozen:.1f} s while graphics.status is LIVE under prefix "
                f"{self.pages.prefix!r}{writer}: the game or simulator hangs (a paused game shows AC_PAUSE); "
                "check it, or raise --stall-timeout (0: never stop)"
            )
        return False
