"""Per-step telemetry rows, written to CSV, JSON (and Parquet when pyarrow is installed).

Writers flush as they go, so an interrupted run keeps everything recorded up to the interruption.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, TextIO

ROLLOUT_COLUMNS = [
    "time", "s", "x", "y", "z", "speed_kmh", "throttle", "brake", "steer", "gear", "rpm", "lateral",
    "tyres_out", "reward",
]  # fmt: skip


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class TelemetryWriter:
    """Streams rows (dicts with fixed columns) to ``<stem>.csv``, ``<stem>.jsonl`` and/or ``<stem>.parquet``.

    CSV and JSON lines are written row by row, so a flush leaves a readable file even if the process
    dies later. Parquet keeps a file footer that is written only by ``close()`` (which Ctrl-C and
    normal exits reach); rows go out in row groups of ``PARQUET_ROW_GROUP`` so memory stays bounded
    (a flush does not cut a row group short: without the footer it would save nothing), and a hard
    crash leaves an unreadable Parquet file: record CSV or JSON alongside it when that matters.
    """

    PARQUET_ROW_GROUP = 10_000  # rows buffered before they are written as a row group anyway

    def __init__(self, stem: Path, columns: list[str], formats: tuple[str, ...] = ("csv", "json")) -> None:
        unknown = set(formats) - {"csv", "json", "parquet"}
        if unknown:
            raise ValueError(f"unknown telemetry format(s) {sorted(unknown)}; choose from csv, json, parquet")
        self.stem, self.columns, self.formats = Path(stem), columns, formats
        self.stem.parent.mkdir(parents=True, exist_ok=True)
        self._csv_file: TextIO | None = None
        self._csv: Any = None
        self._json: TextIO | None = None
        self._parquet_rows: list[dict[str, Any]] = []
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter, opened with the first row group
        self.rows = 0
        if "csv" in formats:
            self._csv_file = open(self.stem.with_suffix(".csv"), "w", newline="")  # noqa: SIM115
            self._csv = csv.DictWriter(self._csv_file, fieldnames=columns, extrasaction="ignore")
            self._csv.writeheader()
        if "json" in formats:
            self._json = open(self.stem.with_suffix(".jsonl"), "w")  # noqa: SIM115
        if "parquet" in formats:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ValueError("Parquet output needs pyarrow: pip install pyarrow (or use csv/json)") from None

    def write(self, row: dict[str, Any], flush: bool = False) -> None:
        self.rows += 1
        if self._csv is not None:
            self._csv.writerow(row)
        if self._json is not None:
            self._json.write(json.dumps({k: _clean(row.get(k)) for k in self.columns}) + "\n")
        if "parquet" in self.formats:
            self._parquet_rows.append({k: row.get(k) for k in self.columns})
            if len(self._parquet_rows) >= self.PARQUET_ROW_GROUP:
                self._write_row_group()
        if flush:
            self.flush()

    def _write_row_group(self) -> None:
        if not self._parquet_rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._parquet_rows)
        if self._parquet is None:
            # The schema comes from the first rows; later rows are cast to it (a column that starts
            # as an integer stays one).
            self._parquet = pq.ParquetWriter(self.stem.with_suffix(".parquet"), table.schema)
        else:
            table = table.cast(self._parquet.schema)
        self._parquet.write_table(table)
        self._parquet_rows = []

    def flush(self) -> None:
        for f in (self._csv_file, self._json):
            if f is not None:
                f.flush()

    def close(self) -> None:
        self.flush()
        if "parquet" in self.formats:
            self._write_row_group()
        for f in (self._csv_file, self._json):
            if f is not None:
                f.close()
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        self._csv_file = self._json = None

    def __enter__(self) -> TelemetryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json_array(jsonl: Path, out: Path) -> None:
    """Turn a JSON-lines file into one JSON array (the per-episode JSON the evaluation promises)."""
    with open(jsonl) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    out.write_text(json.dumps(rows))
