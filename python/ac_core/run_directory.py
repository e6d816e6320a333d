"""One owner per run directory: a lock held for the run's life, and no silent mixing of two runs.

A training run owns its checkpoint folder (and its TensorBoard folder). :class:`RunDirectory`:

- holds ``.ac_core.lock`` (pid, host, start time, command) with an OS file lock for the run's life. The
  OS releases that lock when the process dies however it dies, so a lock file whose lock can be taken
  is stale by construction: it is taken over, naming the dead holder. A live holder is named in the
  refusal;
- refuses to start a new run over an old one: a folder that already holds checkpoints needs ``resume``
  (continue from last.pt) or ``force`` (start over; the old files move to ``previous-<time>/`` in the
  same folder, so nothing is deleted and nothing is mixed); ``resume`` with no last.pt is an error
  naming the folder;
- removes the temporary files of saves that were killed half-way (``.<name>.*.tmp``, see
  ``ac_core.checkpoint.atomic_save``) once it holds the lock, so no live writer's file is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ac_core.errors import (
    EXIT_FAULT,
    AcCoreError,
    InputError,
    NonFiniteError,
    TrainingStopped,
    describe_os_error,
    one_line,
)
from ac_core.stop_signals import deferred_signals

LOCK_NAME = ".ac_core.lock"
# Files that make a folder "a run": checkpoints, the replay, the config copy (checkpoint folder) and
# TensorBoard event files (log folder).
_CHECKPOINT_PATTERNS = ("*.pt", "config.yaml")
_LOG_PATTERNS = ("events.out.tfevents.*",)
_LOCK_BYTE = 1 << 20  # Windows locks are mandatory: lock a byte past the text so others can still read it


class RunDirectoryBusy(AcCoreError):
    """Another live process trains into this folder."""


class RunDirectoryError(InputError):
    """The folder's contents do not fit what was asked (new run over an old one, resume of nothing)."""


def _lock(handle: IO[str]) -> bool:
    """Take the OS lock without waiting; False if another process holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(_LOCK_BYTE)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            handle.seek(0)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(_LOCK_BYTE)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass


def _describe(holder: dict[str, Any]) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {when}"


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8").strip()
        holder = json.loads(text) if text else {}
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


class FolderLock:
    """The OS-level lock on one folder, with the holder's identity written inside."""

    def __init__(self, folder: Path, log: Any = print) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.log = log
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run's life
        if not _lock(handle):
            handle.close()
            holder = _read_holder(self.path)
            raise RunDirectoryBusy(
                f"{self.folder} is in use by another training run ({_describe(holder)}); wait for it to end, stop it, "
                "or train into another folder (--out)")
        previous = _read_holder(self.path) if existed else {}
        if previous:
            self.log(f"taking over {self.path}: its holder ({_describe(previous)}) is no longer running")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                                 "command": " ".join(sys.argv)}))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        # Unlink while still holding the lock, so nobody takes a lock on a file that is going away.
        try:
            if sys.platform != "win32":
                self.path.unlink(missing_ok=True)
        finally:
            _unlock(self._handle)
            self._handle.close()
            self._handle = None
            if sys.platform == "win32":  # an open file cannot be removed there
                self.path.unlink(missing_ok=True)


def _matches(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def remove_stale_temp_files(folder: Path) -> int:
    """Remove leftovers of atomic saves that were killed between write and rename; returns how many."""
    removed = 0
    for path in folder.glob(".*.tmp") if folder.is_dir() else []:
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


class RunDirectory:
    """The folders of one training run, owned for the run's life (a context manager)."""

    def __init__(self, checkpoint_dir: str | Path, log_dir: str | Path | None = None, *, resume: bool = False,
                 force: bool = False, log: Any = print) -> None:
        if resume and force:
            raise RunDirectoryError("--resume continues a run and --force starts over; give one of them")
        self.checkpoint_dir = Path(checkpoint_dir)
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.resume, self.force, self.log = resume, force, log
        folders = [self.checkpoint_dir]
        if self.log_dir is not None and self.log_dir.resolve() != self.checkpoint_dir.resolve():
            folders.append(self.log_dir)
        self._locks = [FolderLock(folder, log) for folder in folders]

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    def __enter__(self) -> RunDirectory:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        taken: list[FolderLock] = []
        try:
            for lock in self._locks:
                lock.acquire()
                taken.append(lock)
            removed = remove_stale_temp_files(self.checkpoint_dir)
            if removed:
                self.log(f"removed {removed} temporary file(s) of interrupted saves in {self.checkpoint_dir}")
            self._check_contents()
        except BaseException:
            for lock in reversed(taken):
                lock.release()
            raise

    def close(self) -> None:
        for lock in reversed(self._locks):
            lock.release()

    def _check_contents(self) -> None:
        checkpoints = _matches(self.checkpoint_dir, _CHECKPOINT_PATTERNS)
        events = _matches(self.log_dir, _LOG_PATTERNS) if self.log_dir is not None else []
        if self.resume:
            if not self.last_checkpoint.is_file():
                found = ", ".join(p.name for p in checkpoints[:5]) or "nothing"
                raise RunDirectoryError(
                    f"--resume: there is no last.pt in {self.checkpoint_dir} (it holds {found}); check --out, or drop "
                    "--resume to start a new run")
            return
        if not checkpoints and not events:
            return
        if not self.force:
            what = ([f"{len(checkpoints)} checkpoint file(s) in {self.checkpoint_dir}"] if checkpoints else []) + (
                [f"TensorBoard events in {self.log_dir}"] if events else [])
            raise RunDirectoryError(
                f"an earlier run is here ({' and '.join(what)}); continue it with --resume, start over with --force "
                "(the old files move to previous-<time>/), or train into another folder (--out/--log-dir)")
        stamp = time.strftime("previous-%Y%m%d-%H%M%S")
        for folder, files in ((self.checkpoint_dir, checkpoints), (self.log_dir, events)):
            if folder is not None and files:
                target = folder / stamp
                target.mkdir(exist_ok=True)
                for path in files:
                    shutil.move(str(path), target / path.name)
                self.log(f"--force: moved {len(files)} file(s) of the earlier run to {target}")


def _describe_saved(path: Path) -> str:
    if path.is_file():
        return f"{path} (from an earlier save) is the last good checkpoint"
    return "no checkpoint was written"


def finish_run(save_last: Callable[[], Path], step: int, fallback: Path, failure: BaseException | None = None,
               log: Callable[[str], None] | None = None) -> str:
    """End a run: write its final checkpoint with ``save_last`` while further stop signals wait, and
    account for it in one line. ``fallback`` is the checkpoint that stays when nothing new can be
    written. With a ``failure`` (the exception that ended the loop) raise TrainingStopped, which names
    the cause and the checkpoint; otherwise return the account.

    The final save is skipped when the failure is a non-finite model (it would overwrite the last good
    file); a save that fails (full disk) leaves the previous file whole, as ``atomic_save`` guarantees.
    """
    with deferred_signals():
        if isinstance(failure, NonFiniteError):
            account = _describe_saved(fallback)
        else:
            try:
                account = f"saved {save_last()} at step {step}"
            except NonFiniteError as exc:
                account = f"{one_line(exc)}; {_describe_saved(fallback)}"
            except OSError as exc:
                account = f"could not save ({describe_os_error(exc)}); {_describe_saved(fallback)}"
            except Exception as exc:  # e.g. the learner process of a cluster run is gone with the weights
                account = f"could not save ({type(exc).__name__}: {one_line(exc)}); {_describe_saved(fallback)}"
    if failure is None:
        return account
    cause = one_line(failure) if isinstance(failure, AcCoreError) else (
        f"internal error: {type(failure).__name__}: {one_line(failure)} (rerun with --debug for the traceback)")
    code = failure.exit_code if isinstance(failure, AcCoreError) else EXIT_FAULT
    raise TrainingStopped(f"{cause}; {account} (continue with --resume)", exit_code=code) from failure
