"""The rows of a replayed file in time order, one chunk at a time.

A file in time order (timestamps never decrease from one row to the next) is read in
chunks of :data:`rotation.tabular.CHUNK_ROWS` rows, so memory holds one chunk and
what the analytics keep per symbol, whatever the file's length. Each chunk handed on
ends where the timestamp changes (the rows of its last time go with the next chunk),
so rows of equal time are never split.

A file whose first chunk is not in time order (rows grouped by symbol, shuffled) is
read whole and sorted by time in memory (stable: rows of equal time keep their file
order), as is any file with ``sort=True``: memory then grows with the file. A file
whose first chunk is in time order but that goes back in time further on stops with
an error naming the first row out of order, after the rows before it were replayed.

Several files (a folder, or several paths) are :class:`Merged`: each readable file
is read whole and checked, its rows of symbols outside the universe counted and
dropped, then all the rows kept are sorted by time in memory (stable: rows of equal
time keep the order of the files, then of their rows), so memory grows with the
universe's rows in the files, as for one file read whole. Files that cannot be read are
left out and listed; a symbol that two files both hold is an error naming both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rotation.replay_errors import ReplayError
from rotation.tabular import (
    CHUNK_ROWS,
    InputError,
    Table,
    concat,
    file_rows,
    merge,
    read_chunks,
    read_table,
)
from streams.units import iso_from_micros


@dataclass
class Chunk:
    """Consecutive rows in time order; ``offset`` is the time-ordered index of its first."""

    offset: int
    table: Table


@dataclass
class TimeOrdered:
    """The chunks of one file in time order; see the module docstring."""

    path: str | os.PathLike[str]
    sort: bool = False
    chunk_rows: int = CHUNK_ROWS
    note: Callable[[str], None] = lambda text: None
    symbol: str | None = None
    """The symbol of a file without a ``symbol`` column (default: from its name)."""
    adjusted: bool = False
    """Read ``Adj Close`` as the close (:func:`rotation.tabular.read_table`)."""
    sorted_in_memory: bool = field(default=False, init=False)
    rows: int = field(default=0, init=False)
    """Rows handed on so far."""

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def files(self) -> list[str]:
        return [str(self.path)]

    @property
    def inputs(self) -> list[str]:
        return [str(self.path)]

    @property
    def unreadable(self) -> list[tuple[str, str]]:
        return []

    def total_rows(self) -> int:
        """The data rows of the file, counted without parsing."""
        return file_rows(self.path)

    def __iter__(self) -> Iterator[Chunk]:
        chunks = read_chunks(self.path, self.chunk_rows, symbol=self.symbol, adjusted=self.adjusted)
        first = next(chunks, None)
        if first is None:
            return
        if self.sort or bool((np.diff(first.ts) < 0).any()):
            self.sorted_in_memory = True
            if not self.sort:
                self.note(
                    f"{first.path} is not in time order (row {_first_back(first)}): it is read "
                    "whole and sorted in memory; a file sorted by timestamp is read in chunks"
                )
            whole = concat([first, *chunks]).sorted_by_time()
            self.rows = len(whole)
            yield Chunk(0, whole)
            return
        carry: Table | None = None
        for table in _chain(first, chunks):
            if carry is not None:
                if table.ts[0] < carry.ts[-1]:
                    raise self._backwards(table, 0, int(carry.ts[-1]))
                table = concat([carry, table])
            back = np.flatnonzero(np.diff(table.ts) < 0)
            if back.size:
                k = int(back[0])
                raise self._backwards(table, k + 1, int(table.ts[k]))
            # The rows of the chunk's last time go on with the next chunk.
            cut = int(np.searchsorted(table.ts, table.ts[-1], side="left"))
            carry = table.slice(cut, len(table))
            if cut:
                yield Chunk(self.rows, table.slice(0, cut))
                self.rows += cut
        if carry is not None:
            yield Chunk(self.rows, carry)
            self.rows += len(carry)

    def _backwards(self, table: Table, i: int, before: int) -> ReplayError:
        return ReplayError(
            f"{table.where(i, 'timestamp')}: {iso_from_micros(int(table.ts[i]))} is earlier "
            f"than {iso_from_micros(before)} of the row before; the file was read in time "
            "order in chunks and the rows before this one are replayed: sort the file by "
            "timestamp, or pass --sort to read it whole and sort it in memory"
        )


def _chain(first: Table, rest: Iterator[Table]) -> Iterator[Table]:
    yield first
    yield from rest


def _first_back(table: Table) -> int:
    return int(table.rows[int(np.flatnonzero(np.diff(table.ts) < 0)[0]) + 1])


@dataclass
class Tally:
    """What the replayed rows held, kept per symbol (bounded by the symbols of the file)."""

    universe: frozenset[str]
    bar_us: int
    outside: dict[str, int] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    inside: int = 0
    """Rows of universe symbols in the whole file."""
    fed: int = 0
    bars: int = 0
    bad: int = 0
    """Bad bars of universe symbols found (and not used)."""
    _last_interval: dict[str, int] = field(default_factory=dict)

    def in_universe(self, table: Table) -> np.ndarray:
        """The mask of rows whose symbol is in the universe; counts the others."""
        codes, uniques = pd.factorize(table.symbols)
        inside = np.array([s in self.universe for s in uniques], dtype=bool)
        mask = inside[codes]
        self.inside += int(mask.sum())
        if not inside.all():
            counts = np.bincount(codes, minlength=uniques.size)
            for k in np.flatnonzero(~inside).tolist():
                self.outside[uniques[k]] = self.outside.get(uniques[k], 0) + int(counts[k])
        return mask

    def add(self, table: Table, fed: np.ndarray, start: int = 0) -> None:
        """Count rows ``start:`` of a time-ordered chunk: rows fed and bars they make
        (distinct symbol and interval, a bar begun in an earlier chunk counted once)."""
        self.present.update(pd.unique(table.symbols[fed]).tolist())
        rows = start + np.flatnonzero(fed[start:])
        if rows.size == 0:
            return
        self.fed += rows.size
        codes, uniques = pd.factorize(table.symbols[rows])
        interval = table.ts[rows] // self.bar_us
        pairs = np.sort(codes.astype(np.int64) * (int(interval.max()) + 1) + interval)
        self.bars += 1 + int(np.count_nonzero(pairs[1:] != pairs[:-1]))
        _, first = np.unique(codes, return_index=True)
        _, last_rev = np.unique(codes[::-1], return_index=True)
        last = codes.size - 1 - last_rev
        previous = self._last_interval
        for k, symbol in enumerate(uniques.tolist()):
            if previous.get(symbol) == int(interval[first[k]]):
                self.bars -= 1
            previous[symbol] = int(interval[last[k]])


REPLAYED_SUFFIXES = (".csv", ".parquet", ".pq")
"""The files of a folder that are read (by name, case ignored)."""


def files_of(inputs: Sequence[str | os.PathLike[str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to read for ``inputs`` (a folder: its CSV and Parquet files by name,
    sorted; hidden files left out) and (path, why) of what is not read."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for given in inputs:
        path = Path(given)
        if not path.is_dir():
            files.append(str(given))
            continue
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                skipped.append((str(entry), f"{entry}: a folder (folders inside are not searched)"))
            elif entry.suffix.lower() in REPLAYED_SUFFIXES:
                files.append(str(entry))
            else:
                skipped.append((str(entry), f"{entry}: not a CSV or Parquet file (by its name)"))
    return files, skipped


@dataclass
class Merged:
    """The rows of several files in time order, as one chunk; see the module docstring."""

    label: str
    inputs: list[str]
    """The paths given (files or folders)."""
    files: list[str]
    """The files read."""
    unreadable: list[tuple[str, str]]
    """(path, one line naming it and saying why) of every file not read."""
    table: Table
    """The rows kept, in time order."""
    dropped: dict[str, int]
    """Rows of symbols outside the universe, by symbol: counted, not kept."""
    chunk_rows: int = CHUNK_ROWS
    sorted_in_memory: bool = field(default=True, init=False)
    rows: int = field(default=0, init=False)
    """Rows handed on so far, and those dropped."""

    @classmethod
    def read(
        cls,
        inputs: Sequence[str | os.PathLike[str]],
        adjusted: bool = False,
        note: Callable[[str], None] = lambda text: None,
        universe: frozenset[str] | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> Merged:
        """Read every file ``inputs`` name, keeping only the rows of ``universe`` symbols
        (None: all) and counting the others; ReplayError when none can be read, or when
        two files hold one symbol."""
        paths, unreadable = files_of(inputs)
        tables: list[Table] = []
        holder: dict[str, str] = {}
        dropped: dict[str, int] = {}
        for path in paths:
            try:
                table = read_table(path, adjusted=adjusted)
            except InputError as exc:
                unreadable.append((path, str(exc)))
                continue
            for symbol in pd.unique(table.symbols).tolist():
                if symbol in holder:
                    raise ReplayError(
                        f"{symbol} is in both {holder[symbol]} and {path}: keep one of the "
                        "two files (or rename one, if it holds another symbol)"
                    )
                holder[symbol] = path
            if universe is not None:
                codes, uniques = pd.factorize(table.symbols)
                inside = np.array([s in universe for s in uniques], dtype=bool)
                if not inside.all():
                    counts = np.bincount(codes, minlength=uniques.size)
                    for k in np.flatnonzero(~inside).tolist():
                        dropped[uniques[k]] = dropped.get(uniques[k], 0) + int(counts[k])
                    table = table.take(inside[codes])
            tables.append(table)
        name = str(inputs[0]) if len(inputs) == 1 else f"{len(inputs)} inputs"
        if not tables:
            shown = "; ".join(why for _, why in unreadable[:3])
            more = f"; and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
            found = f": {shown}{more}" if unreadable else ""
            raise ReplayError(f"{name}: no file could be read{found}")
        if unreadable:
            note(f"{len(unreadable)} file(s) of {name} not read (listed at the end)")
        label = f"{name} ({len(tables)} files)"
        unreadable.sort()
        return cls(
            label,
            [str(i) for i in inputs],
            [t.path for t in tables],
            unreadable,
            merge(tables, label),
            dropped,
            chunk_rows,
        )

    def total_rows(self) -> int:
        """The rows kept (those ``--start-row`` counts)."""
        return len(self.table)

    def __iter__(self) -> Iterator[Chunk]:
        """The rows kept, in chunks of about ``chunk_rows`` that end where the time
        changes, so the work on each chunk needs memory for one chunk."""
        table = self.table
        self.rows = sum(self.dropped.values())
        if not len(table):
            yield Chunk(0, table)
            return
        lo = 0
        while lo < len(table):
            hi = min(lo + self.chunk_rows, len(table))
            if hi < len(table):
                # The rows of the time at ``hi`` go with the next chunk (or all with this one).
                cut = int(np.searchsorted(table.ts, table.ts[hi], side="left"))
                hi = cut if cut > lo else int(np.searchsorted(table.ts, table.ts[hi], "right"))
            yield Chunk(lo, table.slice(lo, hi))
            self.rows += hi - lo
            lo = hi
