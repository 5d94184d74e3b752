"""The recent-quotes panel's rows: last price, change since the previous session's
close, and relative strength against the benchmark, for a chosen list of symbols.

The figures come from each symbol's pair against the benchmark (``SYM/SPY``, origin
``symbol_vs_benchmark``; a configured pair against the benchmark, the denominator of
the symbol and group pairs, stands in when the symbol has none): ``last`` and
``change_pct`` are the numerator's, and "RS vs SPY" is the pair's ``rs_vs_sma_pct``,
Mansfield relative strength (Weinstein, *Secrets for Profiting in Bull and Bear
Markets*, 1988): ``(RP / SMA_n(RP) - 1) * 100`` with ``RP = P / P_benchmark``; above
zero the symbol leads the benchmark. ``rs_change_pct`` (the RS line's change over the
configured window) rides along for wide terminals.
A symbol shows only once data for it has arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.state import PairView

MEGA_CAPS = ("AAPL", "MSFT", "NVDA", "GOOGL", "GOOG", "AMZN", "META", "TSLA", "AVGO")
SECTOR_ETFS = (
    "XLK",
    "XLF",
    "XLI",
    "XLRE",
    "XLE",
    "XLV",
    "XLY",
    "XLP",
    "XLU",
    "XLB",
    "XLC",
    "KRE",
)
DEFAULT_QUOTES = MEGA_CAPS + SECTOR_ETFS
"""The largest US caps (the seven mega-cap tech names, both Alphabet classes, and
Broadcom) and the SPDR sector ETFs with the regional-bank ETF (KRE)."""


@dataclass(frozen=True)
class QuoteView:
    """One row of the quote panel."""

    symbol: str
    benchmark: str
    last: float | None
    change_pct: float | None
    """Change since the previous session's close, %."""
    rs_vs_benchmark_pct: float | None
    """Mansfield RS: (RP / SMA_n(RP) - 1) * 100."""
    rs_change_pct: float | None
    ts: int
    """Event time of the figures, epoch microseconds."""


def parse_symbols(text: str) -> tuple[str, ...]:
    """``"aapl, MSFT,,xlk"`` -> ``("AAPL", "MSFT", "XLK")`` (upper case, no repeats)."""
    seen: dict[str, None] = {}
    for word in text.replace(",", " ").split():
        seen.setdefault(word.upper(), None)
    return tuple(seen)


def quote_rows(symbols: Iterable[str], pairs: Mapping[str, PairView]) -> list[QuoteView]:
    """Rows for ``symbols`` (in that order) that have a pair against the benchmark."""
    benchmarks = {
        v.stats.denominator
        for v in pairs.values()
        if v.origin in ("symbol_vs_benchmark", "group_vs_benchmark")
    }
    best: dict[str, tuple[int, PairView]] = {}
    for view in pairs.values():
        stats = view.stats
        if view.origin == "symbol_vs_benchmark":
            rank = 0
        elif view.origin == "configured" and stats.denominator in benchmarks:
            rank = 1
        else:
            continue
        if stats.numerator not in best or rank < best[stats.numerator][0]:
            best[stats.numerator] = (rank, view)
    rows = []
    for symbol in symbols:
        if symbol not in best:
            continue
        view = best[symbol][1]
        stats = view.stats
        rows.append(
            QuoteView(
                symbol,
                stats.denominator,
                stats.last,
                stats.change_pct,
                stats.rs_vs_sma_pct,
                stats.rs_change_pct,
                view.latest.ts,
            )
        )
    return rows
