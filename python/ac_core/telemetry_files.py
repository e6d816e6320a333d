"""Per-step telemetry rows, written to CSV, JSON lines and/or Parquet (when pyarrow is installed).

Every format stays readable up to its last complete row whatever stops the writer:

* CSV and JSON lines: each row goes to the file with one ``os.write`` as soon as it is written (no
  buffer to lose), and the writer knows the byte offset where the last complete row ends. When a
  write fails (full disk ENOSPC, EIO, the file-size limit EFBIG) the file is cut back to that offset
  (``ftruncate`` needs no free space), so no torn last row is ever left. A SIGKILL loses at most the
  row being written.
* Parquet cannot be read without its footer, which is written last, so rows go out in chunks, each a
  complete Parquet file of its own in ``<stem>.parquet.parts/`` (written to a hidden temporary name and
  renamed, so a part is whole or absent). A chunk is cut every ``PARQUET_CHUNK_ROWS`` rows or
  ``PARQUET_CHUNK_S`` seconds, whichever comes first: a SIGKILL loses at most the last chunk's rows.
  ``close()`` merges the parts into ``<stem>.parquet`` (again through a temporary name) and removes
  the folder. If the merge fails (a full disk) the parts stay, and the message names the folder and how
  to read it: ``pyarrow.parquet.read_table("<stem>.parquet.parts")``.

The first failed write stops the writer: it closes every format (each keeping its complete rows) and
raises :class:`RecordingError`, one line naming each file and how many samples it kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ac_core.errors import AcCoreError, InputError, describe_os_error

ROLLOUT_COLUMNS = [
    "time", "s", "x", "y", "z", "speed_kmh", "throttle", "brake", "steer", "gear", "rpm", "lateral",
    "tyres_out", "reward",
]  # fmt: skip
FORMATS = ("csv", "json", "parquet")


class RecordingError(AcCoreError):
    """Writing telemetry failed (full disk, I/O error, file-size limit); the message names each file and
    the complete samples it kept."""


class RecordingTargetError(InputError, ValueError):
    """The output cannot be written at all (read-only or missing folder, unknown format): nothing was recorded."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _with_file(error: OSError, path: Path) -> OSError:
    """The error as an OSError naming ``path`` (pyarrow's carry the errno only in their text)."""
    if error.filename is not None:
        return error
    code = error.errno
    if code is None:
        found = re.search(r"\[errno (\d+)\]", str(error))
        code = int(found.group(1)) if found else None
    if code is None:
        error.filename = str(path)
        return error
    return OSError(code, os.strerror(code), str(path))


class _RowFile:
    """A text file written in whole rows straight to its descriptor; cut back to the last complete row on
    a failed write."""

    def __init__(self, path: Path, header: bytes = b"") -> None:
        self.path = path
        self.rows = 0
        self.end = 0  # byte offset just after the last complete row
        # O_BINARY: Windows would otherwise turn each \n into \r\n behind the offsets kept here.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        self._fd: int | None = os.open(path, flags, 0o644)
        if header:
            try:
                self._write_all(header)
            except OSError:
                self.close()
                raise

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            # A full disk or the size limit can take part of the row and refuse the rest (EFBIG/ENOSPC).
            view = view[os.write(self._fd, view):]
        self.end += len(data)

    def write(self, data: bytes) -> None:
        try:
            self._write_all(data)
        except OSError as e:
            self._cut_back()
            if e.filename is None:
                e.filename = str(self.path)
            raise
        self.rows += 1

    def _cut_back(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, self.end)  # frees blocks, so it works on a full disk
            os.lseek(self._fd, self.end, os.SEEK_SET)
        except OSError:
            pass  # the descriptor is unusable; a reader still stops at the last newline it finds

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def kept(self) -> str:
        return f"{self.rows} in {self.path}"


class _ParquetParts:
    """Parquet output in chunks: each chunk a complete file in ``<out>.parts/``, merged into ``<out>`` at close."""

    def __init__(self, path: Path, chunk_rows: int, chunk_s: float) -> None:
        import pyarrow  # noqa: F401  (fail here, before anything is recorded, when pyarrow is missing)

        self.path = path
        self.parts_dir = path.with_name(path.name + ".parts")
        if self.parts_dir.exists():
            raise RecordingTargetError(
                f"{self.parts_dir} holds the Parquet parts of an earlier recording that was not merged; read them "
                f"with pyarrow.parquet.read_table('{self.parts_dir}') and move or remove the folder, or record "
                "to another --out"
            )
        self.parts_dir.mkdir()
        self.chunk_rows, self.chunk_s = chunk_rows, chunk_s
        self.rows = 0  # rows in complete parts (or in the merged file)
        self.parts: list[Path] = []
        self.merged = False
        self._pending: list[dict[str, Any]] = []
        self._chunk_started = time.monotonic()
        self._schema: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        self.tick()

    def tick(self) -> None:
        """Cut a chunk when it holds ``chunk_rows`` rows or is ``chunk_s`` seconds old."""
        if len(self._pending) >= self.chunk_rows or (
            self._pending and time.monotonic() - self._chunk_started >= self.chunk_s
        ):
            self.write_chunk()

    def write_chunk(self) -> None:
        if not self._pending:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._pending)
        # The schema comes from the first chunk; later ones are cast to it (a column that starts as an
        # integer stays one), so the parts read back as one table.
        if self._schema is None:
            self._schema = table.schema
        else:
            table = table.cast(self._schema)
        part = self.parts_dir / f"part-{len(self.parts):06d}.parquet"
        tmp = self.parts_dir / f".{part.name}.tmp"  # hidden: pyarrow's folder reading skips it
        rows = len(self._pending)
        self._pending = []
        self._chunk_started = time.monotonic()
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, part)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise _with_file(e, part) from None
        self.parts.append(part)
        self.rows += rows

    def merge(self) -> None:
        """One ``<out>`` from the parts (row groups of up to ``MERGED_ROW_GROUP`` rows), then drop the folder."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.parts:
            self.parts_dir.rmdir()
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with pq.ParquetWriter(tmp, self._schema) as out:
                group: list[Any] = []
                for part in self.parts:
                    group.append(pq.read_table(part))
                    if sum(t.num_rows for t in group) >= MERGED_ROW_GROUP:  # bounded memory
                        out.write_table(pa.concat_tables(group))
                        group = []
                if group:
                    out.write_table(pa.concat_tables(group))
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)  # the parts stay: every row is still there
            raise _with_file(e, self.path) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.merged = True
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def kept(self) -> str:
        if self.merged:
            return f"{self.rows} in {self.path}"
        return (f"{self.rows} in the folder {self.parts_dir} (one Parquet file per chunk: "
                f"pyarrow.parquet.read_table('{self.parts_dir}'))")


MERGED_ROW_GROUP = 65_536


class TelemetryWriter:
    """Streams rows (dicts with fixed columns) to ``<stem>.csv``, ``<stem>.jsonl`` and/or ``<stem>.parquet``.

    See the module docstring for what survives a failed write, SIGINT or SIGKILL. A target that cannot
    be written at all raises :class:`RecordingTargetError` here, before anything is recorded.
    """

    PARQUET_CHUNK_ROWS = 5_000  # rows per Parquet part; with PARQUET_CHUNK_S, what a SIGKILL can lose at most
    PARQUET_CHUNK_S = 5.0

    def __init__(self, stem: Path, columns: list[str], formats: tuple[str, ...] = ("csv", "json"), *,
                 parquet_chunk_s: float | None = None) -> None:
        unknown = set(formats) - set(FORMATS)
        if unknown:
            raise RecordingTargetError(f"unknown telemetry format(s) {sorted(unknown)}; choose from csv, json, parquet")
        self.stem, self.columns, self.formats = Path(stem), columns, formats
        self.rows = 0
        self._csv: _RowFile | None = None
        self._json: _RowFile | None = None
        self._parquet: _ParquetParts | None = None
        self._closed = False
        if "parquet" in formats:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise RecordingTargetError(
                    "Parquet output needs pyarrow: pip install pyarrow (or use csv/json)"
                ) from None
        try:
            self.stem.parent.mkdir(parents=True, exist_ok=True)
            if "csv" in formats:
                self._csv = _RowFile(self.stem.with_suffix(".csv"), self._csv_line(columns))
            if "json" in formats:
                self._json = _RowFile(self.stem.with_suffix(".jsonl"))
            if "parquet" in formats:
                self._parquet = _ParquetParts(self.stem.with_suffix(".parquet"), self.PARQUET_CHUNK_ROWS,
                                              parquet_chunk_s or self.PARQUET_CHUNK_S)
        except OSError as e:
            self._close_files()
            raise RecordingTargetError(f"cannot record: {self._target_problem(e)}; nothing was recorded") from None
        except BaseException:
            self._close_files()
            raise

    def _target_problem(self, error: OSError) -> str:
        folder = self.stem.parent
        if isinstance(error, FileExistsError) and not folder.is_dir():
            return f"{folder} is a file, not a folder (choose another --out)"
        reason = describe_os_error(error if error.filename else OSError(error.errno, error.strerror, str(folder)))
        return reason if reason.endswith(")") else f"{reason} (choose an --out in a folder you can write to)"

    @staticmethod
    def _csv_line(values: list[Any]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf).writerow(values)
        return buf.getvalue().encode()

    def write(self, row: dict[str, Any]) -> None:
        """Write one row to every format: CSV and JSON rows go to the file now, Parquet rows on the chunk
        cadence."""
        if self._closed:
            raise RuntimeError("telemetry writer is closed")
        try:
            if self._csv is not None:
                self._csv.write(self._csv_line([row.get(k) for k in self.columns]))
            if self._json is not None:
                self._json.write((json.dumps({k: _clean(row.get(k)) for k in self.columns}) + "\n").encode())
            if self._parquet is not None:
                self._parquet.add({k: row.get(k) for k in self.columns})
        except OSError as e:
            self._fail(e)
        self.rows += 1

    def tick(self) -> None:
        """Let a Parquet chunk that is due go out while no rows arrive (a paused game)."""
        if self._parquet is not None and not self._closed:
            try:
                self._parquet.tick()
            except OSError as e:
                self._fail(e)

    def kept(self) -> str:
        """'<n> in <file>, ...' for every format: the complete samples each file holds."""
        return ", ".join(f.kept() for f in (self._csv, self._json, self._parquet) if f is not None)

    def _fail(self, error: OSError) -> None:
        self.close(after_error=True)
        raise RecordingError(
            f"recording stopped after {self.rows} samples: {describe_os_error(error)}; "
            f"kept the complete samples: {self.kept()}"
        ) from None

    def close(self, *, after_error: bool = False) -> None:
        """Write the last Parquet chunk and merge the parts; close the files. Raises RecordingError when
        that fails (unless already reporting an error), naming where the samples are."""
        if self._closed:
            return
        self._closed = True
        error: OSError | None = None
        try:
            if self._parquet is not None:
                try:
                    self._parquet.write_chunk()
                except OSError as e:
                    error = e
                try:
                    self._parquet.merge()
                except OSError as e:
                    error = error or e
        finally:
            self._close_files()
        if error is not None and not after_error:
            raise RecordingError(
                f"finishing the recording failed: {describe_os_error(error)}; kept the complete samples: {self.kept()}"
            ) from None

    def _close_files(self) -> None:
        for f in (self._csv, self._json):
            if f is not None:
                f.close()

    def __enter__(self) -> TelemetryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # After an exception (the game stalled, Ctrl-C) the files are still finished; a failure to do so
        # is then left to kept(), so the first error is the one reported.
        self.close(after_error=exc[0] is not None)


def write_json_array(jsonl: Path, out: Path) -> None:
    """Turn a JSON-lines file into one JSON array (the per-episode JSON the evaluation promises)."""
    with open(jsonl) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    out.write_text(json.dumps(rows))


def field_columns(name: str, size: int) -> list[str]:
    """The columns a recorded page field becomes: its name for one value, ``name_0`` … for an array
    (what ``ac-core record`` writes and :func:`read_recording` reads back)."""
    return [name] if size == 1 else [f"{name}_{i}" for i in range(size)]


def read_recording(path: str | Path) -> dict[str, np.ndarray]:
    """The numeric columns of a recording this module wrote (``ac-core record``): ``.csv``, ``.jsonl``,
    ``.json`` (a JSON array of rows) or ``.parquet`` (a merged file or a ``.parquet.parts`` folder), as
    float64 arrays by column name; empty cells, nulls and text become NaN. Raises FileNotFoundError,
    or ValueError naming a file that is not such a recording."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: recording not found (record one with `ac-core record --out STEM`)")
    name = path.name.lower()
    rows: list[dict[str, Any]] | None = None
    if name.endswith(".parquet") or name.endswith(".parquet.parts"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow (or use the .csv)") from None
        table = pq.read_table(path)
        return {c: _numeric(table.column(c).to_pylist()) for c in table.column_names}
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text recording (csv, jsonl, json or parquet)") from None
    if name.endswith(".csv"):
        header, *lines = list(csv.reader(io.StringIO(text)))
        if not header:
            raise ValueError(f"{path}: an empty CSV file, not a recording")
        columns = list(zip(*lines, strict=True)) if lines else [() for _ in header]
        return {c: _numeric(values) for c, values in zip(header, columns, strict=True)}
    try:
        if name.endswith(".jsonl"):
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif name.endswith(".json"):
            loaded = json.loads(text)
            rows = loaded if isinstance(loaded, list) else None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if rows is None or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: not a recording: use the .csv, .jsonl, .json or .parquet that `ac-core record` "
                         "wrote")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: _numeric([r.get(k) for r in rows]) for k in keys}


def _numeric(values: Any) -> np.ndarray:
    """One column as float64: numbers as they are, anything else (empty, null, text) NaN."""
    try:  # the usual column: every cell a number (or its text)
        return np.asarray(values, dtype=np.float64).reshape(len(values))
    except (TypeError, ValueError):
        pass
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, bool):
            out[i] = float(v)
        elif isinstance(v, int | float):
            out[i] = v
        elif isinstance(v, str) and v:
            with contextlib.suppress(ValueError):  # text that is not a number stays NaN
                out[i] = float(v)
    return out
