"""Read a long-format file of bars or ticks (CSV or Parquet) into checked arrays.

One row per bar or tick, column names case-insensitive, extra columns ignored:

    bars:   symbol, timestamp, close  [, open, high, low, volume]
    ticks:  symbol, timestamp, price  [, size, bid, ask]

A file with a ``close`` column holds bars, one with a ``price`` column ticks.
Timestamps (UTC; microseconds since the epoch once read) may be:

- ISO 8601 dates (``2026-08-21``: 00:00 UTC of that date), or date-times with or
  without an offset (``2026-08-21T13:30:00-04:00``; without one the time is UTC);
- compact dates ``YYYYMMDD`` (a column of 8-digit integers that are all valid dates);
- epoch numbers, unit by the magnitude of the column's largest value:
  < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds;
- in Parquet also native timestamp (naive = UTC) and date columns.

Every problem raises :class:`InputError` with one line that names the file, the row
(the n-th data row, 1-based; in a CSV also its line) and the column.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from streams.errors import RotationError

Kind = Literal["bars", "ticks"]

SYMBOL = "symbol"
TIMESTAMP = "timestamp"
BAR_PRICES = ("open", "high", "low", "close")
TICK_QUOTES = ("bid", "ask")
_EPOCH_UNITS = (
    (1e11, "seconds", 1_000_000),
    (1e14, "milliseconds", 1_000),
    (1e17, "microseconds", 1),
)
_PARQUET_MAGIC = b"PAR1"
CHUNK_ROWS = 200_000
"""Rows per chunk of :func:`read_chunks`."""


class InputError(RotationError, ValueError):
    """The input file cannot be replayed; the message says where and why."""


@dataclass(frozen=True)
class Table:
    """The checked content of one file, in file order unless :meth:`sorted_by_time`.

    ``values`` holds float64 arrays for the value columns the file has (NaN where a
    cell of an optional column is empty); ``rows`` the 1-based data row of each entry.
    """

    path: str
    kind: Kind
    symbols: np.ndarray
    ts: np.ndarray
    values: dict[str, np.ndarray]
    rows: np.ndarray
    time_format: str
    names: dict[str, str]
    csv: bool

    def __len__(self) -> int:
        return int(self.ts.size)

    def where(self, index: int, column: str | None = None) -> str:
        """``FILE, row R (line L), column 'Close'`` for entry ``index``."""
        text = _location(self.path, int(self.rows[index]), self.csv)
        if column is not None:
            text += f", column '{self.names.get(column, column)}'"
        return text

    def slice(self, lo: int, hi: int) -> Table:
        """Entries ``lo:hi``."""
        return replace(
            self,
            symbols=self.symbols[lo:hi],
            ts=self.ts[lo:hi],
            values={k: v[lo:hi] for k, v in self.values.items()},
            rows=self.rows[lo:hi],
        )

    def sorted_by_time(self) -> Table:
        """The same entries ordered by timestamp; entries with equal times keep file order."""
        order = np.argsort(self.ts, kind="stable")
        return replace(
            self,
            symbols=self.symbols[order],
            ts=self.ts[order],
            values={k: v[order] for k, v in self.values.items()},
            rows=self.rows[order],
        )


def concat(tables: list[Table]) -> Table:
    """The entries of consecutive chunks of one file as one table."""
    if len(tables) == 1:
        return tables[0]
    return replace(
        tables[0],
        symbols=np.concatenate([t.symbols for t in tables]),
        ts=np.concatenate([t.ts for t in tables]),
        values={k: np.concatenate([t.values[k] for t in tables]) for k in tables[0].values},
        rows=np.concatenate([t.rows for t in tables]),
    )


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read and check a CSV or Parquet file of bars or ticks (see the module docstring)."""
    name, file, parquet = _open(path)
    if parquet:
        return _check(name, _read_parquet(file, name), csv=False)
    return _check(name, _read_csv(file, name), csv=True)


def read_chunks(path: str | os.PathLike[str], rows: int = CHUNK_ROWS) -> Iterator[Table]:
    """The file as checked tables of about ``rows`` consecutive rows each, in file order,
    read one at a time (a CSV with pandas' chunked reader, a Parquet file batch by batch),
    so memory holds one chunk, not the file. Row numbers count from the file's start.
    Every chunk's timestamps must have the format of the first chunk's."""
    name, file, parquet = _open(path)
    raws = _parquet_batches(file, name, rows) if parquet else _csv_chunks(file, name, rows)
    first_row, time_format = 1, None
    for raw, size in raws:
        table = _check(name, raw, not parquet, first_row, time_format, whole=False)
        first_row += size
        if len(table):
            time_format = time_format or table.time_format
            yield table
    if time_format is None:
        raise InputError(f"{name}: no data rows, only the header")


def file_rows(path: str | os.PathLike[str]) -> int:
    """The data rows of a file as numbered in messages, counted without parsing: the
    lines after a CSV's header, a Parquet file's rows (from its metadata)."""
    _, file, parquet = _open(path)
    if parquet:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(file).metadata.num_rows)
    lines, last = 0, b"\n"
    with file.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines - (last == b"\n")


def _open(path: str | os.PathLike[str]) -> tuple[str, Path, bool]:
    """The file's name, path and whether it is Parquet; InputError when it cannot be read."""
    name = str(path)
    file = Path(path)
    try:
        with file.open("rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    if not head:
        raise InputError(f"{name}: the file is empty")
    return name, file, head == _PARQUET_MAGIC or file.suffix.lower() in (".parquet", ".pq")


# Reading: each reader returns {original column name: numpy array}; object arrays
# hold text (None or "" = empty), other arrays hold typed values (NaN/NaT = empty).


# header=None: the first line sets the field count, so a row with more fields is an
# error instead of silently becoming an index column.
_CSV_OPTIONS: dict[str, Any] = {
    "header": None,
    "dtype": object,
    "na_filter": False,
    "skip_blank_lines": False,
    "encoding": "utf-8-sig",
    "skipinitialspace": True,
}


def _read_csv(file: Path, name: str) -> dict[str, np.ndarray]:
    with _csv_errors(name):
        frame = pd.read_csv(file, **_CSV_OPTIONS)
    header = [str(cell).strip() for cell in frame.iloc[0]]
    return {col: frame[i].to_numpy(dtype=object)[1:] for i, col in enumerate(header) if col}


def _csv_chunks(file: Path, name: str, rows: int) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    """({column: values}, data rows) of each chunk; the header is the first chunk's first row."""
    header: list[str] = []
    with _csv_errors(name), pd.read_csv(file, chunksize=rows, **_CSV_OPTIONS) as reader:
        for frame in reader:
            skip = 0
            if not header:
                header = [str(cell).strip() for cell in frame.iloc[0]]
                skip = 1
            size = len(frame) - skip
            yield (
                {c: frame[i].to_numpy(dtype=object)[skip:] for i, c in enumerate(header) if c},
                size,
            )


@contextlib.contextmanager
def _csv_errors(name: str) -> Iterator[None]:
    try:
        yield
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        detail = _one_line(exc).removeprefix("Error tokenizing data. C error: ")
        raise InputError(f"{name}: not a valid CSV file: {detail}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}): is it a CSV file?") from None


def _read_parquet(file: Path, name: str) -> dict[str, np.ndarray]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{name}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name}: not a readable Parquet file: {_one_line(exc)}") from None
    return _arrow_columns(table, name)


def _parquet_batches(
    file: Path, name: str, rows: int
) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{name}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        batches = pq.ParquetFile(file).iter_batches(batch_size=rows)
        for batch in batches:
            yield _arrow_columns(pa.Table.from_batches([batch]), name), batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name}: not a readable Parquet file: {_one_line(exc)}") from None


def _arrow_columns(table: Any, name: str) -> dict[str, np.ndarray]:
    """{column: numpy values} of a pyarrow table (see the comment above ``_read_csv``)."""
    import pyarrow as pa

    out: dict[str, np.ndarray] = {}
    for col_name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
            column = column.cast(kind)
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            # Arrow keeps zone-aware times as UTC instants; naive ones are taken as UTC.
            tz = kind.tz if pa.types.is_timestamp(kind) else None
            out[col_name] = column.cast(pa.timestamp("us", tz=tz)).to_numpy()
        elif pa.types.is_integer(kind) and column.null_count == 0:
            out[col_name] = column.cast(pa.int64()).to_numpy()
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            out[col_name] = column.cast(pa.float64()).to_numpy()
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[col_name] = column.to_numpy().astype(object, copy=False)
        else:
            out[col_name] = np.array([_Unsupported(str(kind))] * len(column), dtype=object)
    if not out:
        raise InputError(f"{name}: the file has no columns")
    return out


class _Unsupported:
    """Stands for a Parquet column of a type no replay column can have."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


# Checking.


def _location(path: str, row: int, csv: bool) -> str:
    return f"{path}, row {row}" + (f" (line {row + 1})" if csv else "")


def _check(
    name: str,
    raw: dict[str, np.ndarray],
    csv: bool,
    first_row: int = 1,
    time_format: str | None = None,
    whole: bool = True,
) -> Table:
    """The checked table of ``raw`` (rows numbered from ``first_row``); with
    ``time_format``, the timestamps must have that format (that of the rows before)."""
    names: dict[str, str] = {}
    for col in raw:
        key = col.strip().lower()
        if key in names:
            raise InputError(
                f"{name}: columns '{names[key]}' and '{col}' are the same name (case is ignored)"
            )
        names[key] = col
    present = ", ".join(raw) or "none"
    if "close" in names and "price" in names:
        raise InputError(
            f"{name}: has both a 'close' column (bars) and a 'price' column (ticks); keep one"
        )
    if "close" in names:
        kind: Kind = "bars"
    elif "price" in names:
        kind = "ticks"
    else:
        raise InputError(
            f"{name}: missing column 'close' (bars) or 'price' (ticks); columns: {present}"
        )
    for required in (SYMBOL, TIMESTAMP):
        if required not in names:
            raise InputError(f"{name}: missing column '{required}'; columns: {present}")

    columns = {key: raw[col] for key, col in names.items()}
    size = len(columns[SYMBOL])
    row_numbers = np.arange(first_row, first_row + size)
    if csv:
        # Blank lines (or rows of empty cells) are skipped; numbering keeps them.
        blank = _empties(columns[SYMBOL])
        for col in columns.values():
            maybe = np.flatnonzero(blank)
            if maybe.size:
                blank[maybe] = _empties(col[maybe])
        if blank.any():
            keep = ~blank
            columns = {k: v[keep] for k, v in columns.items()}
            row_numbers = row_numbers[keep]
            size = int(keep.sum())
    if size == 0 and time_format is None and first_row == 1 and whole:
        raise InputError(f"{name}: no data rows, only the header")

    def where(index: int, key: str) -> str:
        return f"{_location(name, int(row_numbers[index]), csv)}, column '{names[key]}'"

    symbols = _symbols(columns[SYMBOL], lambda i: where(i, SYMBOL))
    if size == 0:
        ts, found = np.zeros(0, dtype=np.int64), time_format or ""
    else:
        ts, found = _timestamps(columns[TIMESTAMP], lambda i: where(i, TIMESTAMP))
    if time_format is not None and size and found != time_format:
        raise InputError(
            f"{where(0, TIMESTAMP)}: timestamps from here on read as {found}, the rows "
            f"before as {time_format}: use one format in the whole file"
        )
    values: dict[str, np.ndarray] = {}
    required = "close" if kind == "bars" else "price"
    for key in (*BAR_PRICES, "volume") if kind == "bars" else ("price", "size", *TICK_QUOTES):
        if key not in columns:
            continue
        column = _numbers(columns[key], lambda i, key=key: where(i, key), key == required)
        quantity = key in ("volume", "size")
        bad = np.flatnonzero(~np.isnan(column) & ~(column >= 0 if quantity else column > 0))
        if bad.size:
            limit = ">= 0" if quantity else "> 0"
            raise InputError(f"{where(int(bad[0]), key)}: {column[bad[0]]:g} must be {limit}")
        values[key] = column
    return Table(name, kind, symbols, ts, values, row_numbers, found, names, csv)


def _empty_text(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _distinct(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each entry, the distinct values in order of first appearance): checks
    run once per distinct value (a few thousand symbols or dates in a million rows)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def _first_of(codes: np.ndarray, bad: np.ndarray) -> int:
    """The first entry whose code is one of the distinct values flagged in ``bad``."""
    return int(np.flatnonzero(bad[codes])[0])


def _empties(column: np.ndarray) -> np.ndarray:
    if column.dtype != object:
        return np.zeros(column.size, dtype=bool)
    codes, uniques = _distinct(column)
    return np.array([_empty_text(v) for v in uniques], dtype=bool)[codes]


def _unsupported(column: np.ndarray, where, expected: str) -> None:
    # A Parquet column of an unsupported type holds nothing else.
    if column.dtype == object and column.size and isinstance(column[0], _Unsupported):
        raise InputError(f"{where(0)}: has type {column[0].type_name}, expected {expected}")


def _symbols(column: np.ndarray, where) -> np.ndarray:
    _unsupported(column, where, "text")
    codes, uniques = _distinct(column)
    text = np.array(
        ["" if v is None else str(v).strip().upper() for v in uniques.tolist()], dtype=object
    )
    empty = text == ""
    if empty.any():
        raise InputError(f"{where(_first_of(codes, empty))}: the symbol is empty")
    return text[codes]


def _numbers(column: np.ndarray, where, required: bool) -> np.ndarray:
    """float64 values; NaN where an optional cell is empty."""
    if column.dtype != object:
        values = column.astype(np.float64)
        empty = np.isnan(values)
        bad = np.flatnonzero(np.isinf(values))
        if bad.size:
            raise InputError(f"{where(int(bad[0]))}: {values[bad[0]]!r} is not a finite number")
    else:
        _unsupported(column, where, "numbers")
        values = pd.to_numeric(pd.Series(column, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan, copy=True
        )
        empty = np.zeros(values.size, dtype=bool)
        unread = np.flatnonzero(~np.isfinite(values))
        if unread.size:
            empty[unread] = _empties(column[unread])
            bad = unread[~empty[unread]]
            if bad.size:
                raise InputError(f"{where(int(bad[0]))}: {column[bad[0]]!r} is not a number")
        values[empty] = np.nan
    if required and empty.any():
        raise InputError(f"{where(int(np.flatnonzero(empty)[0]))}: the value is missing")
    return values


def _timestamps(column: np.ndarray, where) -> tuple[np.ndarray, str]:
    """Microseconds since the epoch (UTC) and the name of the format found."""
    if column.dtype.kind == "M":
        missing = np.isnat(column)
        if missing.any():
            raise InputError(f"{where(int(np.flatnonzero(missing)[0]))}: the time is missing")
        ts = column.astype("datetime64[us]").astype(np.int64)
        fmt = "native timestamps"
    elif column.dtype != object:
        if np.isnan(column.astype(np.float64)).any():
            first = int(np.flatnonzero(np.isnan(column.astype(np.float64)))[0])
            raise InputError(f"{where(first)}: the time is missing")
        ts, fmt = _epoch(column)
    else:
        _unsupported(column, where, "times")
        codes, uniques = _distinct(column)
        ts_of, fmt = _text_times(uniques, lambda k: where(_first_of(codes, _only(k, uniques))))
        return ts_of[codes], fmt
    return _not_before_epoch(ts, where), fmt


def _only(k: int, uniques: np.ndarray) -> np.ndarray:
    flag = np.zeros(uniques.size, dtype=bool)
    flag[k] = True
    return flag


def _text_times(column: np.ndarray, where) -> tuple[np.ndarray, str]:
    """Timestamps of distinct text values (see :func:`_timestamps`)."""
    text = np.empty(column.size, dtype=object)
    for i, value in enumerate(column):
        if _empty_text(value):
            raise InputError(f"{where(i)}: the time is missing")
        text[i] = str(value).strip()
    numeric = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
    if not numeric.isna().any():
        if all(t.isdigit() and len(t) == 8 for t in text):
            parsed = pd.to_datetime(pd.Series(text), format="%Y%m%d", errors="coerce")
            if not parsed.isna().any():
                ts = parsed.to_numpy(dtype="datetime64[us]").astype(np.int64)
                return _not_before_epoch(ts, where), "compact dates (YYYYMMDD)"
        integral = all(t.lstrip("-").isdigit() for t in text)
        raw = np.array([int(t) for t in text]) if integral else numeric.to_numpy(np.float64)
        ts, fmt = _epoch(raw)
    else:
        parsed = pd.to_datetime(
            pd.Series(text, dtype=object), format="ISO8601", utc=True, errors="coerce"
        )
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            raise InputError(
                f"{where(int(bad[0]))}: cannot read {text[bad[0]]!r} as a time "
                "(expected an ISO 8601 date or date-time, or epoch seconds/ms/us)"
            )
        ts = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").astype(np.int64)
        fmt = "ISO 8601"
    return _not_before_epoch(ts, where), fmt


def _epoch(raw: np.ndarray) -> tuple[np.ndarray, str]:
    """Epoch numbers to microseconds; the unit follows from the largest magnitude."""
    largest = float(np.max(np.abs(raw)))
    unit, factor = next(((u, f) for bound, u, f in _EPOCH_UNITS if largest < bound), ("", 0))
    integral = raw.dtype.kind in "iu"
    if factor == 0:
        unit = "nanoseconds"
        ts = raw.astype(np.int64) // 1_000 if integral else np.floor(raw / 1e3)
    else:
        ts = raw.astype(np.int64) * factor if integral else np.round(raw * factor)
    return np.asarray(ts).astype(np.int64), f"epoch {unit}"


def _not_before_epoch(ts: np.ndarray, where) -> np.ndarray:
    early = np.flatnonzero(ts < 0)
    if early.size:
        raise InputError(f"{where(int(early[0]))}: the time is before 1970-01-01 (not supported)")
    return ts


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
