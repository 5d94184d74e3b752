"""Ticks as columns -> encoded ``quotes.ticks`` frames, with no object per tick.

The same frames :func:`streams.codec.frames_for` makes from :class:`Tick` records
(one :class:`ColumnarTickFrame` per partition and run of ``max_ticks``, time order
kept, symbols in order of first appearance, ``size``/``bid``/``ask`` left out when
no tick has a value), made from :class:`TickColumns` straight away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from agents.analytics.tick_columns import TickColumns
from streams.codec import encode
from streams.records import ColumnarTickFrame


def frames_from_columns(
    columns: TickColumns, max_ticks: int, partition_of: Callable[[str], int], source: str
) -> list[tuple[int, bytes]]:
    """(partition, encoded frame) of ``columns``, in partition order, tick order kept."""
    if not len(columns):
        return []
    home = np.array([partition_of(s) for s in columns.symbols], dtype=np.int64)
    of_tick = home[columns.symbol]
    out: list[tuple[int, bytes]] = []
    for partition in np.unique(of_tick).tolist():
        mine = np.flatnonzero(of_tick == partition)
        for k in range(0, mine.size, max_ticks):
            out.append((partition, encode(_frame(columns, mine[k : k + max_ticks], source))))
    return out


def _frame(columns: TickColumns, rows: np.ndarray, source: str) -> ColumnarTickFrame:
    codes, uniques = pd.factorize(columns.symbol[rows])
    size = columns.size[rows]
    return ColumnarTickFrame(
        v=2,
        symbols=[columns.symbols[int(i)] for i in uniques],
        symbol=codes.tolist(),
        ts=columns.ts[rows].tolist(),
        price=columns.price[rows].tolist(),
        size=size.tolist() if size.any() else None,
        bid=_quotes(columns.bid, rows),
        ask=_quotes(columns.ask, rows),
        source=source,
    )


def _quotes(column: np.ndarray | None, rows: np.ndarray) -> list[float | None] | None:
    if column is None:
        return None
    values = column[rows]
    if np.isnan(values).all():
        return None
    return [None if v != v else v for v in values.tolist()]
