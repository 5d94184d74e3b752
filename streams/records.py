"""The records that travel on the Kafka topics, as typed msgspec structs.

These structs are the one source of truth for the wire: the JSON Schema files in
``schemas/`` are generated from them (``rotation schemas``), and a test fails when
the two drift apart.

Times are integers: microseconds since the Unix epoch, UTC. Microseconds keep
sub-millisecond tick times and still fit exactly in a JavaScript number (< 2**53).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

SCHEMA_VERSION = 1

Symbol = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z0-9][A-Z0-9.\-^=/]*$",
        description="Ticker symbol, upper case (e.g. IWM, BRK.B).",
    ),
]
EpochMicros = Annotated[
    int,
    msgspec.Meta(ge=0, description="Event time: microseconds since the Unix epoch, UTC."),
]
Price = Annotated[float, msgspec.Meta(gt=0, description="Price, > 0.")]
Quantity = Annotated[float, msgspec.Meta(ge=0, description="Shares traded, >= 0.")]


class Tick(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One trade (or quote mid) of one symbol at its own event time."""

    symbol: Symbol
    ts: EpochMicros
    price: Price
    size: Quantity = 0.0
    bid: Price | None = None
    ask: Price | None = None
    source: Annotated[str, msgspec.Meta(max_length=64)] = "unknown"


class TickFrame(msgspec.Struct, frozen=True):
    """A message on ``quotes.ticks``: one or more ticks of one partition.

    A Faust agent pays a fixed cost per Kafka message whatever it holds, so a frame
    lets one message carry many ticks. All ticks of a frame belong to the partition
    the frame is written to (see ``streams.topics.partition_for``), ordered by
    event time. A bare ``Tick`` object is also a valid message (a frame of one).
    """

    ticks: Annotated[list[Tick], msgspec.Meta(min_length=1, max_length=100_000)]
    v: Literal[1] = 1


ColumnPrice = Annotated[float, msgspec.Meta(gt=0)]


class ColumnarTickFrame(msgspec.Struct, frozen=True):
    """A message on ``quotes.ticks``, version 2: the ticks of one partition as columns.

    One array per field, so a frame of thousands of ticks is a handful of JSON arrays
    (about a third of the bytes of a version 1 frame) and decodes straight into
    arrays, with no object per tick. Tick ``i`` is ``symbols[symbol[i]]`` at
    ``ts[i]`` for ``price[i]`` with ``size[i]`` (0 when ``size`` is absent) and, when
    given, ``bid[i]``/``ask[i]`` (``null`` where a tick has none). Every column has one
    entry per tick; ticks are ordered by event time; all belong to the partition the
    frame is written to. Version 1 frames (:class:`TickFrame`) stay accepted.
    """

    v: Literal[2]
    symbols: Annotated[
        list[Symbol],
        msgspec.Meta(min_length=1, description="The frame's distinct symbols."),
    ]
    symbol: Annotated[
        list[Annotated[int, msgspec.Meta(ge=0)]],
        msgspec.Meta(min_length=1, max_length=100_000, description="Per tick: index into symbols."),
    ]
    ts: list[EpochMicros]
    price: list[ColumnPrice]
    size: list[Quantity] | None = None
    bid: list[ColumnPrice | None] | None = None
    ask: list[ColumnPrice | None] | None = None
    source: Annotated[str, msgspec.Meta(max_length=64)] = "unknown"


class SymbolStats(msgspec.Struct, frozen=True):
    """One symbol's indicators at one of its bars (agents.analytics.symbols)."""

    close: float
    prev_close: float | None
    change_pct: Annotated[float | None, msgspec.Meta(description="vs previous close, %")]
    return_pct: Annotated[float | None, msgspec.Meta(description="over return_bars, %")]
    sma: float | None
    ema: float
    above_sma: bool | None
    high_n: Annotated[float, msgspec.Meta(description="highest high of high_low_bars")]
    low_n: Annotated[float, msgspec.Meta(description="lowest low of high_low_bars")]
    new_high: bool
    new_low: bool
    direction: Annotated[
        int | None, msgspec.Meta(description="+1 advancing, -1 declining, 0 unchanged")
    ]
    up_volume: float
    down_volume: float
    bars: int


class Bar(msgspec.Struct, frozen=True):
    """OHLCV of one symbol over the event-time interval [start, end)."""

    symbol: Symbol
    start: EpochMicros
    end: EpochMicros
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity
    ticks: Annotated[int, msgspec.Meta(ge=1, description="Ticks in the bar.")]
    stats: SymbolStats | None = None


SourceOffset = Annotated[
    int,
    msgspec.Meta(
        ge=-1,
        description="Offset of the last quotes.ticks message of the partition applied.",
    ),
]
ReplayFrom = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        description=(
            "Offset of the first quotes.ticks message holding a tick of a bar still "
            "open after this frame: replaying from it rebuilds the open bars."
        ),
    ),
]


class BarListFrame(msgspec.Struct, frozen=True):
    """A message on ``rotation.bars``, version 1: the closed bars as a list of objects.

    Still accepted; the bar stage writes :class:`BarFrame` (columns).
    """

    partition: Annotated[int, msgspec.Meta(ge=0)]
    watermark: EpochMicros
    bars: list[Bar]
    source_offset: SourceOffset = -1
    replay_from: ReplayFrom = 0


class StatsColumns(msgspec.Struct, frozen=True):
    """The fields of :class:`SymbolStats`, one list per field, one entry per bar."""

    close: list[float]
    prev_close: list[float | None]
    change_pct: list[float | None]
    return_pct: list[float | None]
    sma: list[float | None]
    ema: list[float]
    above_sma: list[bool | None]
    high_n: list[float]
    low_n: list[float]
    new_high: list[bool]
    new_low: list[bool]
    direction: list[int | None]
    up_volume: list[float]
    down_volume: list[float]
    bars: list[int]

    def row(self, i: int) -> SymbolStats:
        """Bar ``i``'s indicators (a NaN in an optional number, as the bar stage holds
        them before encoding, is None)."""
        values: dict[str, Any] = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)[i]
            values[name] = None if value != value else value
        return SymbolStats(**values)

    @classmethod
    def of(cls, stats: list[SymbolStats]) -> StatsColumns:
        return cls(*([getattr(s, name) for s in stats] for name in cls.__struct_fields__))


class BarFrame(msgspec.Struct, frozen=True):
    """A message on ``rotation.bars``: the bars one tick partition closed, as columns.

    Bar ``i`` is ``symbol[i]`` over ``[end[i] - bar_us, end[i])`` with ``open[i]`` ..
    ``ticks[i]`` and, in ``stats``, its symbol's indicators at that bar. ``watermark``
    is the event time up to which the tick partition ``partition`` is complete: every
    bar ending at or before it has been sent. The rotation stage finalises a bar
    interval once every tick partition's watermark has passed it. Version 1 frames
    (:class:`BarListFrame`) are still accepted.
    """

    partition: Annotated[int, msgspec.Meta(ge=0)]
    watermark: EpochMicros
    source_offset: SourceOffset = -1
    replay_from: ReplayFrom = 0
    bar_us: Annotated[int, msgspec.Meta(ge=0, description="Bar length, microseconds.")] = 0
    symbol: list[Symbol] = []
    end: list[EpochMicros] = []
    open: list[float] = []
    high: list[float] = []
    low: list[float] = []
    close: list[float] = []
    volume: list[float] = []
    ticks: list[int] = []
    stats: StatsColumns | None = None
    v: Literal[2] = 2

    def __len__(self) -> int:
        return len(self.symbol)

    def bars(self) -> list[Bar]:
        """The bars as records (one object per bar: for tests and tools)."""
        stats = self.stats
        return [
            Bar(
                symbol=self.symbol[i],
                start=self.end[i] - self.bar_us,
                end=self.end[i],
                open=self.open[i],
                high=self.high[i],
                low=self.low[i],
                close=self.close[i],
                volume=self.volume[i],
                ticks=self.ticks[i],
                stats=None if stats is None else stats.row(i),
            )
            for i in range(len(self.symbol))
        ]

    @classmethod
    def of(
        cls,
        partition: int,
        watermark: int,
        bars: list[Bar],
        source_offset: int = -1,
        replay_from: int = 0,
    ) -> BarFrame:
        """The frame holding ``bars`` (all of one length; with stats on all or none)."""
        with_stats = bool(bars) and all(bar.stats is not None for bar in bars)
        return cls(
            partition=partition,
            watermark=watermark,
            source_offset=source_offset,
            replay_from=replay_from,
            bar_us=bars[0].end - bars[0].start if bars else 0,
            symbol=[bar.symbol for bar in bars],
            end=[bar.end for bar in bars],
            open=[bar.open for bar in bars],
            high=[bar.high for bar in bars],
            low=[bar.low for bar in bars],
            close=[bar.close for bar in bars],
            volume=[bar.volume for bar in bars],
            ticks=[bar.ticks for bar in bars],
            stats=StatsColumns.of([bar.stats for bar in bars if bar.stats]) if with_stats else None,
        )


class GroupStats(msgspec.Struct, frozen=True):
    """Breadth of one group at one interval (agents.analytics.breadth)."""

    members: int
    reporting: Annotated[int, msgspec.Meta(description="Members with a bar this interval.")]
    advancers: int
    decliners: int
    unchanged: int
    net_advances: int
    ad_line: int
    ad_ratio: float | None
    ad_percent: Annotated[float | None, msgspec.Meta(description="RANA: (A-D)/(A+D)")]
    pct_above_sma: float | None
    new_highs: int
    new_lows: int
    nh_nl: int
    up_volume: float
    down_volume: float
    up_volume_pct: float | None
    trin: Annotated[float | None, msgspec.Meta(description="Arms index (A/D)/(UV/DV)")]
    mcclellan_oscillator: float
    mcclellan_ratio_adjusted: float
    summation_index: float
    zweig_ema: float | None
    zweig_thrust: bool
    equal_weight_index: float | None
    cap_weight_index: float | None
    index_members: Annotated[
        int | None,
        msgspec.Meta(
            description="Members in the indices: each joins at its first close, so fewer "
            "than `members` says some have not traded yet (late listings)."
        ),
    ] = None


Quadrant = Literal["leading", "weakening", "lagging", "improving"]


class RRGStats(msgspec.Struct, frozen=True):
    """Relative Rotation Graph point (agents.analytics.rrg), centred on 100."""

    rs_ratio: float
    rs_momentum: float
    quadrant: Quadrant
    provisional: Annotated[bool, msgspec.Meta(description="True while warming up.")]
    tail: Annotated[
        list[tuple[float, float]],
        msgspec.Meta(description="Recent committed (rs_ratio, rs_momentum), oldest first."),
    ]


PairOrigin = Literal["configured", "group_vs_benchmark", "symbol_vs_benchmark"]


class PairStats(msgspec.Struct, frozen=True):
    """Relative strength of numerator vs denominator (agents.analytics.relative_strength)."""

    numerator: str
    denominator: str
    origin: PairOrigin
    rs: Annotated[float, msgspec.Meta(description="Price relative R = P_num / P_den.")]
    rs_sma: float | None = None
    rs_vs_sma_pct: Annotated[
        float | None, msgspec.Meta(description="(R / SMA_n(R) - 1) * 100.")
    ] = None
    rs_change_pct: Annotated[
        float | None,
        msgspec.Meta(description="(R_t / R_{t-n} - 1) * 100 over change_bars."),
    ] = None
    log_return: Annotated[float | None, msgspec.Meta(description="ln(R_t / R_{t-1})")] = None
    zscore: Annotated[
        float | None, msgspec.Meta(description="z of the log return over zscore_bars")
    ] = None
    streak: Annotated[int, msgspec.Meta(description="Bars in a row numerator beat denominator")] = 0
    above_sma: Annotated[
        bool | None, msgspec.Meta(description="Crossover state with hysteresis.")
    ] = None
    rrg: RRGStats | None = None
    regime: Annotated[
        str | None, msgspec.Meta(description="Rotation grade held, e.g. into_small_caps:rotation")
    ] = None
    regime_since: (
        Annotated[
            int,
            msgspec.Meta(ge=0, description="End of the bar the held regime began at, epoch us."),
        ]
        | None
    ) = None
    regime_rs_change_pct: Annotated[
        float | None,
        msgspec.Meta(description="(R_t / R at the regime's first bar - 1) * 100."),
    ] = None
    last: Annotated[float | None, msgspec.Meta(description="The numerator's last close.")] = None
    change_pct: Annotated[
        float | None,
        msgspec.Meta(description="The numerator's change since the previous session's close, %."),
    ] = None


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """A message on ``rotation.metrics``: one subject's metrics after one closed interval.

    ``subject`` is ``group:<name>`` (then ``group`` is set) or ``pair:<name>`` (then
    ``pair`` is set); (subject, ts) identifies a snapshot, so a copy delivered twice
    is recognisable.
    """

    subject: str
    kind: Literal["group", "pair"]
    ts: EpochMicros
    bar_seconds: Annotated[int, msgspec.Meta(gt=0)]
    bars: Annotated[int, msgspec.Meta(ge=0, description="Intervals seen so far.")]
    interval_ticks: Annotated[
        int, msgspec.Meta(ge=0, description="Ticks of the whole universe in this interval.")
    ] = 0
    group: GroupStats | None = None
    pair: PairStats | None = None
    provisional: Annotated[
        list[str],
        msgspec.Meta(
            description="Figures of this snapshot still warming up (their window is not "
            "full, or an EMA still leans on its seed): read them as provisional. No "
            "signal rule speaks on a provisional window."
        ),
    ] = []
    schema_version: int = SCHEMA_VERSION


SignalKind = Literal[
    "rs_crossover",
    "rs_breakout",
    "rrg_quadrant",
    "breadth_thrust",
    "breadth_divergence",
    "rotation_regime",
    "group_crossovers",
]
SignalLevel = Literal["headline", "supporting", "detail"]
"""How much a signal matters: ``headline`` the rotation regime of a regime pair,
``supporting`` what backs it (group and sector relative strength, breadth), ``detail``
single symbols."""
Direction = Literal["up", "down", "into_small_caps", "into_mega_caps", "broadening", "narrowing"]


class Signal(msgspec.Struct, frozen=True):
    """A message on ``rotation.signals``: one rotation signal.

    ``id`` is derived from the content (kind, subject, direction, window end), so a
    replay or a retried send yields the same id and consumers can deduplicate.
    """

    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    kind: SignalKind
    subject: str
    direction: Direction
    score: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            description="Strength on one scale for every kind: 50 = the rule's threshold "
            "just met, 100 = a very strong case (docs/signals.md).",
        ),
    ]
    window_start: EpochMicros
    window_end: EpochMicros
    ts: EpochMicros
    summary: str
    evidence: dict[str, float | str | None]
    level: SignalLevel = "supporting"
    schema_version: int = SCHEMA_VERSION


DeadLetterReason = Literal[
    "malformed",
    "invalid",
    "unknown_symbol",
    "wrong_partition",
    "future",
    "past",
    "late",
    "duplicate",
    "off_session",
    "bad_bar",
]
"""Why an input was not used (agents.analytics.tick_checks describes each check):
``malformed`` not JSON (or empty), ``invalid`` wrong fields or values, ``unknown_symbol``
not in the universe, ``wrong_partition`` sent to another partition than its symbol's,
``future``/``past`` an event time beyond the ``[ticks]`` bounds, ``late`` for a bar
interval already closed, ``duplicate`` an exact repeat of a tick in its bar,
``off_session`` an event time outside every trading session of the ``[calendar]``
(a weekend, a holiday, before the open or after the close of intraday bars),
``bad_bar`` a replayed bar whose high is below its open or close or whose low is above
them (rotation.bad_bars; ``topic`` is then the file, ``offset`` the data row)."""


class DeadLetter(msgspec.Struct, frozen=True):
    """A message on ``rotation.deadletter``: input that could not be used, and why."""

    reason: DeadLetterReason
    detail: str
    topic: str
    partition: int
    offset: int
    original: Annotated[bytes, msgspec.Meta(description="The original message bytes.")]
    source: str = "worker"
    ts: EpochMicros = 0
    schema_version: int = SCHEMA_VERSION
