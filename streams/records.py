"""The records that travel on the Kafka topics, as typed msgspec structs.

These structs are the one source of truth for the wire: the JSON Schema files in
``schemas/`` are generated from them (``rotation schemas``), and a test fails when
the two drift apart.

Times are integers: microseconds since the Unix epoch, UTC. Microseconds keep
sub-millisecond tick times and still fit exactly in a JavaScript number (< 2**53).
"""

from __future__ import annotations

from typing import Annotated, Literal

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


class BarFrame(msgspec.Struct, frozen=True):
    """A message on ``rotation.bars``: the bars one tick partition closed.

    ``watermark`` is the event time up to which the tick partition ``partition``
    is complete: every bar ending at or before it has been sent. The rotation stage
    finalises a bar interval once every tick partition's watermark has passed it.
    """

    partition: Annotated[int, msgspec.Meta(ge=0)]
    watermark: EpochMicros
    bars: list[Bar]
    source_offset: Annotated[
        int,
        msgspec.Meta(
            ge=-1,
            description="Offset of the last quotes.ticks message of the partition applied.",
        ),
    ] = -1
    replay_from: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description=(
                "Offset of the first quotes.ticks message holding a tick of a bar still "
                "open after this frame: replaying from it rebuilds the open bars."
            ),
        ),
    ] = 0


class PairMetrics(msgspec.Struct, frozen=True):
    """Relative strength of one pair (numerator vs denominator) at one bar."""

    pair: str
    numerator: str
    denominator: str
    rs: Annotated[float, msgspec.Meta(description="Price relative R = P_num / P_den.")]
    rs_sma: float | None = None
    rs_vs_sma_pct: Annotated[
        float | None, msgspec.Meta(description="(R / SMA_n(R) - 1) * 100.")
    ] = None
    rs_change_pct: Annotated[
        float | None,
        msgspec.Meta(description="(R_t / R_{t-n} - 1) * 100 over the window."),
    ] = None
    above_sma: bool | None = None


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """A message on ``rotation.metrics``: the rotation metrics after one closed bar."""

    subject: Annotated[str, msgspec.Meta(description="What the snapshot describes.")]
    ts: EpochMicros
    bar_seconds: Annotated[int, msgspec.Meta(gt=0)]
    bars: Annotated[int, msgspec.Meta(ge=0, description="Bars seen so far.")]
    pairs: list[PairMetrics]
    prices: Annotated[
        dict[str, float],
        msgspec.Meta(description="Last close per symbol; equal-weight index level per group."),
    ]
    schema_version: int = SCHEMA_VERSION


SignalKind = Literal["rs_crossover"]
Direction = Literal["up", "down"]


class Signal(msgspec.Struct, frozen=True):
    """A message on ``rotation.signals``: one rotation signal.

    ``id`` is derived from the content (kind, subject, direction, window end), so a
    replay or a retried send yields the same id and consumers can deduplicate.
    """

    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    kind: SignalKind
    subject: str
    direction: Direction
    score: Annotated[float, msgspec.Meta(ge=0, description="Strength, 0 = marginal.")]
    window_start: EpochMicros
    window_end: EpochMicros
    ts: EpochMicros
    summary: str
    evidence: dict[str, float | str | None]
    schema_version: int = SCHEMA_VERSION


DeadLetterReason = Literal["malformed", "invalid", "late", "wrong_partition", "unknown_symbol"]


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
