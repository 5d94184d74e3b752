"""Read a file of bars or ticks (CSV or Parquet) into checked arrays.

Two layouts, told apart by the header; column names are case-insensitive and extra
columns are ignored:

- long format, one row per bar or tick of any symbol::

    bars:   symbol, timestamp, close  [, open, high, low, volume]
    ticks:  symbol, timestamp, price  [, size, bid, ask]

- one symbol per file: the same without ``symbol`` (a Yahoo Finance download,
  ``Date,Open,High,Low,Close,Adj Close,Volume`` in any order). The rows are that
  symbol's, named by the file: its stem upper-cased (``iwm.csv`` -> ``IWM``) less a
  trailing ``.US`` (Stooq's suffix: ``IWM.US.csv`` -> ``IWM``), unless the caller
  names it.

The time column is ``timestamp``, ``datetime`` (Yahoo's intraday downloads) or
``date`` (exactly one of them). A file with a ``close`` column holds bars, one with
a ``price`` column ticks. ``close`` is the ``Close`` column; with ``adjusted`` the
``Adj Close`` column instead, and open, high and low are scaled by
``Adj Close / Close`` as yfinance's ``auto_adjust`` does
(https://github.com/ranaroussi/yfinance, ``utils.auto_adjust``).
Timestamps (UTC; microseconds since the epoch once read) may be:

- ISO 8601 dates (``2026-08-21``: 00:00 UTC of that date), or date-times with or
  without an offset (``2026-08-21T13:30:00-04:00``; without one the time is UTC);
- compact dates ``YYYYMMDD`` (a column of 8-digit integers that are all valid dates);
- epoch numbers, unit by the magnitude of the column's largest value:
  < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds;
- in Parquet also native timestamp (naive = UTC) and date columns.

Every problem raises :class:`InputError` with one line that names the file, the row
(the n-th data row, 1-based; in a CSV also its line) and the column. Bars whose high
and low do not hold their open and close (:mod:`rotation.bad_bars`) are read and
flagged in :attr:`Table.bad`, with the row as written kept for the report.
"""

from __future__ import annotations

import contextlib
import csv as csv_module
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rotation.bad_bars import bad_bars
from streams.errors import RotationError

Kind = Literal["bars", "ticks"]
Layout = Literal["long", "one symbol"]

SYMBOL = "symbol"
TIMESTAMP = "timestamp"
TIME_COLUMNS = (TIMESTAMP, "datetime", "date")
"""The names the time column may have (one of them)."""
ADJ_CLOSE = ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close")
"""The names of a dividend-adjusted close column (Yahoo: ``Adj Close``)."""
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
class Origin:
    """One input file of a table: its path, its columns (key -> name as written), CSV or not."""

    path: str
    names: dict[str, str]
    csv: bool


@dataclass(frozen=True)
class Table:
    """The checked content of one file (or of several, :func:`merge`), in file order
    unless :meth:`sorted_by_time`.

    ``values`` holds float64 arrays for the value columns the file has (NaN where a
    cell of an optional column is empty); ``rows`` the 1-based data row of each entry;
    ``bad`` flags the bad bars (:mod:`rotation.bad_bars`), whose rows as written are
    in ``originals`` by (origin, row). ``origin`` is each entry's index in ``origins``
    (None: all from the one file ``path``).
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
    layout: Layout = "long"
    bad: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    originals: dict[tuple[int, int], bytes] = field(default_factory=dict)
    origin: np.ndarray | None = None
    origins: tuple[Origin, ...] = ()

    def __post_init__(self) -> None:
        if self.bad.size != self.ts.size:
            object.__setattr__(self, "bad", np.zeros(self.ts.size, dtype=bool))
        if not self.origins:
            object.__setattr__(self, "origins", (Origin(self.path, self.names, self.csv),))

    def __len__(self) -> int:
        return int(self.ts.size)

    def source_of(self, index: int) -> Origin:
        """The file entry ``index`` comes from."""
        return self.origins[0 if self.origin is None else int(self.origin[index])]

    def where(self, index: int, column: str | None = None) -> str:
        """``FILE, row R (line L), column 'Close'`` for entry ``index``."""
        source = self.source_of(index)
        text = _location(source.path, int(self.rows[index]), source.csv)
        if column is not None:
            text += f", column '{source.names.get(column, column)}'"
        return text

    def original(self, index: int) -> bytes:
        """Bad bar ``index`` as written in its file (a CSV line; JSON for Parquet)."""
        k = 0 if self.origin is None else int(self.origin[index])
        return self.originals.get((k, int(self.rows[index])), b"")

    def take(self, which: slice | np.ndarray) -> Table:
        """The entries ``which`` selects (a slice, a mask or indices)."""
        return replace(
            self,
            symbols=self.symbols[which],
            ts=self.ts[which],
            values={k: v[which] for k, v in self.values.items()},
            rows=self.rows[which],
            bad=self.bad[which],
            origin=None if self.origin is None else self.origin[which],
        )

    def slice(self, lo: int, hi: int) -> Table:
        """Entries ``lo:hi``."""
        return self.take(slice(lo, hi))

    def sorted_by_time(self) -> Table:
        """The same entries ordered by timestamp; entries with equal times keep file order."""
        return self.take(np.argsort(self.ts, kind="stable"))


def concat(tables: list[Table]) -> Table:
    """The entries of consecutive chunks of one file (or of one :func:`merge`) as one table."""
    if len(tables) == 1:
        return tables[0]
    origins = [t.origin for t in tables]
    return replace(
        tables[0],
        symbols=np.concatenate([t.symbols for t in tables]),
        ts=np.concatenate([t.ts for t in tables]),
        values={k: np.concatenate([t.values[k] for t in tables]) for k in tables[0].values},
        rows=np.concatenate([t.rows for t in tables]),
        bad=np.concatenate([t.bad for t in tables]),
        originals={k: v for t in tables for k, v in t.originals.items()},
        origin=None if origins[0] is None else np.concatenate(origins),  # type: ignore[arg-type]
    )


def merge(tables: list[Table], path: str) -> Table:
    """The entries of several files as one table in time order, named ``path``; entries
    with equal times keep the order of the tables, then of their rows. A value column
    that only some files have is NaN (empty) in the others' rows."""
    kinds = {t.kind: t for t in tables}
    if len(kinds) > 1:
        raise InputError(
            f"{kinds['bars'].path} holds bars and {kinds['ticks'].path} ticks: "
            "replay files of one kind together"
        )
    keys = [k for k in (*BAR_PRICES, "volume", "price", "size", *TICK_QUOTES)]
    keys = [k for k in keys if any(k in t.values for t in tables)]
    base = np.cumsum([0] + [len(t.origins) for t in tables])
    # One column at a time, each put in time order as it is joined: memory holds the
    # tables and the merged columns, not a second unsorted copy of them.
    all_ts = np.concatenate([t.ts for t in tables])
    order = np.argsort(all_ts, kind="stable")
    ts = all_ts[order]
    del all_ts

    def joined(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts)[order]

    first = tables[0]
    return Table(
        path,
        first.kind,
        joined([t.symbols for t in tables]),
        ts,
        {k: joined([t.values.get(k, np.full(len(t), np.nan)) for t in tables]) for k in keys},
        joined([t.rows for t in tables]),
        first.time_format,
        first.names,
        first.csv,
        first.layout,
        joined([t.bad for t in tables]),
        {
            (k + int(base[i]), row): v
            for i, t in enumerate(tables)
            for (k, row), v in t.originals.items()
        },
        joined(
            [
                (np.zeros(len(t), dtype=np.int32) if t.origin is None else t.origin) + int(base[i])
                for i, t in enumerate(tables)
            ]
        ).astype(np.int32, copy=False),
        tuple(o for t in tables for o in t.origins),
    )


def symbol_of_file(path: str | os.PathLike[str]) -> str:
    """The symbol a one-symbol file is named for: its stem upper-cased, less ``.US``."""
    stem = Path(path).name
    for suffix in (".gz", ".parquet", ".pq", ".csv", ".txt"):
        stem = stem.removesuffix(suffix).removesuffix(suffix.upper())
    stem = stem.strip().upper()
    return stem.removesuffix(".US") or stem


def read_table(
    path: str | os.PathLike[str], *, symbol: str | None = None, adjusted: bool = False
) -> Table:
    """Read and check a CSV or Parquet file of bars or ticks (see the module docstring);
    ``symbol`` names the symbol of a file without a ``symbol`` column (default: from the
    file's name), ``adjusted`` reads ``Adj Close`` as the close."""
    name, file, parquet = _open(path)
    raw = _read_parquet(file, name) if parquet else _read_csv(file, name)
    return _check(name, raw, not parquet, symbol=symbol, adjusted=adjusted)


def read_chunks(
    path: str | os.PathLike[str],
    rows: int = CHUNK_ROWS,
    *,
    symbol: str | None = None,
    adjusted: bool = False,
) -> Iterator[Table]:
    """The file as checked tables of about ``rows`` consecutive rows each, in file order,
    read one at a time (a CSV with pandas' chunked reader, a Parquet file batch by batch),
    so memory holds one chunk, not the file. Row numbers count from the file's start.
    Every chunk's timestamps must have the format of the first chunk's. ``symbol`` and
    ``adjusted`` as in :func:`read_table`."""
    name, file, parquet = _open(path)
    raws = _parquet_batches(file, name, rows) if parquet else _csv_chunks(file, name, rows)
    first_row, time_format = 1, None
    for raw, size in raws:
        table = _check(
            name,
            raw,
            not parquet,
            first_row,
            time_format,
            whole=False,
            symbol=symbol,
            adjusted=adjusted,
        )
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
    symbol: str | None = None,
    adjusted: bool = False,
) -> Table:
    """The checked table of ``raw`` (rows numbered from ``first_row``); with
    ``time_format``, the timestamps must have that format (that of the rows before).
    ``symbol`` and ``adjusted`` as in :func:`read_table`."""
    names: dict[str, str] = {}
    for col in raw:
        key = col.strip().lower()
        if key in names:
            raise InputError(
                f"{name}: columns '{names[key]}' and '{col}' are the same name (case is ignored)"
            )
        names[key] = col
    present = ", ".join(raw) or "none"
    adj = next((k for k in ADJ_CLOSE if k in names), None)
    if adjusted and adj is None:
        raise InputError(
            f"{name}: --adjusted reads the 'Adj Close' column, which the file does not have; "
            f"columns: {present}"
        )
    if "close" in names and "price" in names:
        raise InputError(
            f"{name}: has both a 'close' column (bars) and a 'price' column (ticks); keep one"
        )
    if "close" in names or adjusted:
        kind: Kind = "bars"
    elif "price" in names:
        kind = "ticks"
    else:
        hint = f" ('{names[adj]}' is read as the close with --adjusted)" if adj else ""
        raise InputError(
            f"{name}: missing column 'close' (bars) or 'price' (ticks){hint}; columns: {present}"
        )
    times = [k for k in TIME_COLUMNS if k in names]
    if not times:
        raise InputError(
            f"{name}: missing the time column 'timestamp' (or 'date', 'datetime'); "
            f"columns: {present}"
        )
    if len(times) > 1:
        raise InputError(
            f"{name}: columns '{names[times[0]]}' and '{names[times[1]]}' both name the time; "
            "keep one"
        )
    layout: Layout = "long" if SYMBOL in names else "one symbol"
    if layout == "long" and symbol is not None:
        raise InputError(
            f"{name}: has a '{names[SYMBOL]}' column naming the symbol of each row; "
            "--symbol is for a file of one symbol without one"
        )
    closes = names.get("close")
    names = dict(names)
    names[TIMESTAMP] = names[times[0]]
    if adjusted and adj is not None:
        names["close"] = names[adj]
    columns = {key: raw[col] for key, col in names.items()}
    size = len(columns[TIMESTAMP])
    row_numbers = np.arange(first_row, first_row + size)
    kept = np.arange(size)
    if csv:
        # Blank lines (or rows of empty cells) are skipped; numbering keeps them.
        blank = _empties(columns[TIMESTAMP])
        for cells in columns.values():
            maybe = np.flatnonzero(blank)
            if maybe.size:
                blank[maybe] = _empties(cells[maybe])
        if blank.any():
            keep = ~blank
            columns = {k: v[keep] for k, v in columns.items()}
            row_numbers = row_numbers[keep]
            kept = kept[keep]
            size = int(keep.sum())
    if size == 0 and time_format is None and first_row == 1 and whole:
        raise InputError(f"{name}: no data rows, only the header")

    def where(index: int, key: str) -> str:
        return f"{_location(name, int(row_numbers[index]), csv)}, column '{names[key]}'"

    if layout == "long":
        symbols = _symbols(columns[SYMBOL], lambda i: where(i, SYMBOL))
    else:
        own = (symbol if symbol is not None else symbol_of_file(name)).strip().upper()
        if not own:
            raise InputError(f"{name}: the file has no 'symbol' column and no symbol is named")
        symbols = np.full(size, own, dtype=object)
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
    if adjusted and closes is not None and closes != names["close"]:
        # yfinance's auto_adjust: open, high and low times Adj Close / Close.
        unadjusted = _numbers(
            raw[closes][kept], lambda i: f"{_location(name, int(row_numbers[i]), csv)}", True
        )
        ratio = values["close"] / unadjusted
        for key in ("open", "high", "low"):
            if key in values:
                values[key] = values[key] * ratio
    flagged = np.zeros(size, dtype=bool)
    originals: dict[tuple[int, int], bytes] = {}
    if kind == "bars":
        flagged = bad_bars(
            values.get("open"), values.get("high"), values.get("low"), values["close"]
        )
        for i in np.flatnonzero(flagged).tolist():
            originals[(0, int(row_numbers[i]))] = _row_as_written(raw, int(kept[i]), csv)
    return Table(
        name,
        kind,
        symbols,
        ts,
        values,
        row_numbers,
        found,
        names,
        csv,
        layout,
        flagged,
        originals,
    )


def _row_as_written(raw: dict[str, np.ndarray], index: int, csv: bool) -> bytes:
    """One row of ``raw``: a CSV line of its cells, or a JSON object for a Parquet row."""
    cells = {col: values[index] for col, values in raw.items()}
    if csv:
        line = io.StringIO()
        csv_module.writer(line, lineterminator="").writerow(
            ["" if v is None else str(v) for v in cells.values()]
        )
        return line.getvalue().encode()
    plain = {
        col: v.item() if isinstance(v, np.generic) and not isinstance(v, np.datetime64) else v
        for col, v in cells.items()
    }
    return json.dumps(plain, default=str, allow_nan=True).encode()


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
