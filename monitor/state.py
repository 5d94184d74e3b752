"""What the monitor knows: gateway events folded into plain state (no Textual, no I/O).

The app hands every event of ``GatewayClient.events()`` to :class:`MonitorState` and
redraws its widgets from it a few times a second, so the screen never does work per
message; the tests feed it recorded messages through the client's own bookkeeping.
Wall-clock time is always passed in (``now``, seconds since the epoch), so rates and
lag are reproducible in tests.

What a reconnect brings is the client's business (:class:`gateway.resume.Resume`):
it yields each signal once and says which data messages catch up (a snapshot, a
resume) rather than flow live; those count toward no rate. The state keeps only what
the screen shows: a snapshot's copy of a subject's latest metrics changes nothing,
an older one never replaces newer data. Messages the client could not decode (a
newer gateway's) are counted and otherwise ignored.
"""

from __future__ import annotations

import re
from bisect import insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

from gateway.client import Message, UnknownMessage
from gateway.messages import Error, MetricsMessage, Shutdown, SignalMessage
from monitor.headline import DEFAULT_REGIME_PAIRS, RegimeView, regime_view
from monitor.quotes import DEFAULT_QUOTES, QuoteView, quote_rows
from streams.records import GroupStats, MetricsSnapshot, PairStats, Signal, SignalLevel

ORIGIN_ORDER = {"configured": 0, "group_vs_benchmark": 1, "symbol_vs_benchmark": 2}
RATE_WINDOW = 10.0
"""Seconds of arrivals that ticks/s and signals/s average over."""
LEVELS: tuple[SignalLevel, ...] = get_args(SignalLevel)
"""Signal levels, most important first: headline, supporting, detail."""
DEFAULT_LEVELS: frozenset[SignalLevel] = frozenset({"headline", "supporting"})
"""What the signal log shows until detail is asked for (the ``d`` key or ``level:detail``)."""


class RSPoint(NamedTuple):
    """One interval of a pair's RS line."""

    ts: int
    """Event time (end of the interval), microseconds."""
    bars: int
    """The interval's number (``MetricsSnapshot.bars``): consecutive without a gap."""
    rs: float


@dataclass
class PairView:
    """The latest snapshot of one pair and its recent RS line."""

    name: str
    order: int
    latest: MetricsSnapshot
    history: deque[RSPoint]
    """The RS line, oldest first."""

    @property
    def stats(self) -> PairStats:
        assert self.latest.pair is not None
        return self.latest.pair

    @property
    def origin(self) -> str:
        return self.stats.origin

    @property
    def rs_line(self) -> list[float]:
        return [point.rs for point in self.history]

    @property
    def rrg_label(self) -> str:
        """The name on the RRG: the numerator against the benchmark, else the pair."""
        return self.stats.numerator if self.origin != "configured" else self.name


@dataclass
class GroupView:
    """The latest breadth snapshot of one group and when it last had a Zweig thrust."""

    name: str
    order: int
    latest: MetricsSnapshot
    thrust_bars: int | None = None
    """Interval count (``bars``) of the latest breadth thrust, if one was seen."""
    mcclellan: deque[float] = field(default_factory=lambda: deque(maxlen=240))

    @property
    def stats(self) -> GroupStats:
        assert self.latest.group is not None
        return self.latest.group

    @property
    def bars_since_thrust(self) -> int | None:
        return None if self.thrust_bars is None else self.latest.bars - self.thrust_bars


Phase = Literal["connecting", "live", "retrying", "failed"]

_RETRY_IN = re.compile(r"retrying in ([0-9.]+ ?s)")
_REASON = re.compile(r"^disconnected \((.*)\)(;|$)")


@dataclass
class Connection:
    """The gateway connection as the user should read it."""

    url: str
    phase: Phase = "connecting"
    reason: str = ""
    retry_in: str = ""
    ever_connected: bool = False
    notice: str = ""
    """The gateway's own word on the connection (a ``shutdown`` message)."""

    def on_status(self, text: str) -> None:
        """Fold in a status event of the client (its text is for people, parsed loosely)."""
        self.notice = ""
        if text.startswith("connected"):
            self.phase, self.reason, self.retry_in = "live", "", ""
            self.ever_connected = True
            return
        self.phase = "retrying"
        match = _REASON.match(text)
        self.reason = match.group(1) if match else text
        retry = _RETRY_IN.search(text)
        self.retry_in = retry.group(1) if retry else ""

    def on_failure(self, reason: str) -> None:
        """The client gave up (for example the URL is not a websocket URL)."""
        self.phase, self.reason, self.retry_in = "failed", reason, ""

    def describe(self) -> str:
        if self.phase == "live":
            return f"live {self.url}" + (f" ({self.notice})" if self.notice else "")
        if self.phase == "connecting":
            return f"connecting to {self.url}"
        if self.phase == "failed":
            return f"cannot connect to {self.url}: {self.reason}"
        verb = "reconnecting to" if self.ever_connected else "cannot connect to"
        when = f" in {self.retry_in}" if self.retry_in else ""
        return f"{verb} {self.url}, retrying{when}: {self.reason}"


@dataclass
class SignalFilter:
    """The signal log's filter: words every shown signal contains (kind, subject,
    direction or summary), ``-word`` it must not contain, ``score>=X`` its minimum,
    ``level:L`` the levels shown (``headline``, ``supporting``, ``detail``; several
    add up, and they replace the log's default levels) and ``-level:L`` a level not
    shown."""

    text: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_score: float | None = None
    levels: frozenset[str] = frozenset()
    """Levels asked for with ``level:``; empty: the log's default levels."""
    hidden_levels: frozenset[str] = frozenset()
    """Levels refused with ``-level:``."""

    @classmethod
    def parse(cls, text: str) -> SignalFilter:
        include: list[str] = []
        exclude: list[str] = []
        levels: set[str] = set()
        hidden: set[str] = set()
        min_score = None
        for word in text.lower().split():
            if match := re.fullmatch(r"(-?)level:(\w*)", word):
                chosen = {level for level in LEVELS if level.startswith(match.group(2))}
                if match.group(2) == "all":
                    chosen = set(LEVELS)
                (hidden if match.group(1) else levels).update(chosen or {match.group(2)})
            elif match := re.fullmatch(r"(?:score)?>=?([0-9.]+)", word):
                try:
                    min_score = float(match.group(1))
                except ValueError:
                    include.append(word)
            elif word.startswith("-") and len(word) > 1:
                exclude.append(word[1:])
            else:
                include.append(word)
        return cls(
            text.strip(),
            tuple(include),
            tuple(exclude),
            min_score,
            frozenset(levels),
            frozenset(hidden),
        )

    def shown_levels(self, default: Iterable[str]) -> frozenset[str]:
        """The levels the log shows: those asked for, else ``default``, less the refused."""
        return (self.levels or frozenset(default)) - self.hidden_levels

    def matches(self, signal: Signal, levels: Iterable[str] = LEVELS) -> bool:
        """Whether ``signal`` passes the words and score (and is of one of ``levels``)."""
        if signal.level not in levels:
            return False
        if self.min_score is not None and signal.score < self.min_score:
            return False
        haystack = f"{signal.kind} {signal.subject} {signal.direction} {signal.summary}".lower()
        return all(w in haystack for w in self.include) and not any(
            w in haystack for w in self.exclude
        )


class MonitorState:
    """Everything the screen shows, updated one gateway event at a time."""

    def __init__(
        self,
        url: str,
        *,
        history: int = 240,
        max_signals: int = 1000,
        regime_pairs: Iterable[str] = DEFAULT_REGIME_PAIRS,
        quotes: Iterable[str] = DEFAULT_QUOTES,
    ) -> None:
        """``regime_pairs``: pairs the headline always lists (others join it when the
        gateway shows they hold a regime); ``quotes``: symbols of the quote panel."""
        self.connection = Connection(url)
        self.pairs: dict[str, PairView] = {}
        self.groups: dict[str, GroupView] = {}
        self.signals: dict[str, Signal] = {}
        self._signal_times: list[tuple[int, int, str]] = []  # (ts, window_end, id), oldest first
        self.history = history
        self.max_signals = max_signals
        self.latest_ts: int | None = None
        """Event time of the newest data (metrics or signal), microseconds."""
        self.last_message_at: float | None = None
        self.metrics_received = 0
        self.signals_received = 0
        self.ignored = 0
        """Messages of a type this monitor does not know, or that did not decode."""
        self.errors: list[str] = []
        self.selected_pair: str | None = None
        self.selected_group: str | None = None
        self.show_symbols = False
        self.show_detail = False
        """Whether the signal log shows ``detail`` signals (single symbols) by default."""
        self.regime_pairs: dict[str, None] = dict.fromkeys(regime_pairs)
        """The headline's pairs, in order (see :mod:`monitor.headline`)."""
        self.regime_calls: dict[str, Signal] = {}
        """The newest ``rotation_regime`` signal of each pair (by event time)."""
        self.quotes = tuple(quotes)
        self.version = 0
        """Increases with every change the panels show; the app redraws when it moved."""
        self._counted_ts: deque[int] = deque(maxlen=64)
        self._tick_arrivals: deque[tuple[float, int]] = deque()
        self._signal_arrivals: deque[float] = deque()
        self._live_since: float | None = None

    # Events -------------------------------------------------------------------

    def on_status(self, text: str) -> None:
        self.connection.on_status(text)

    def on_failure(self, reason: str) -> None:
        self.connection.on_failure(reason)

    def apply(self, message: Message, now: float, *, catch_up: bool = False) -> None:
        """Fold in one server message as the client yields it (``catch_up``: a data
        message of a snapshot or resume, not live flow); undecodable ones are counted
        and skipped."""
        self.last_message_at = now
        if isinstance(message, MetricsMessage | SignalMessage):
            if self.connection.phase != "live":
                self.connection.on_status("connected")
            if isinstance(message, MetricsMessage):
                self._apply_metrics(message.data, not catch_up, now)
            else:
                self._apply_signal(message.data, not catch_up, now)
        elif isinstance(message, Error):
            self.errors.append(f"{message.code}: {message.message}")
        elif isinstance(message, Shutdown):
            self.connection.notice = f"gateway stopping: {message.message}".strip()
        elif isinstance(message, UnknownMessage):
            self.ignored += 1

    def _apply_metrics(self, snapshot: MetricsSnapshot, live: bool, now: float) -> None:
        self.metrics_received += 1
        if self.latest_ts is None or snapshot.ts > self.latest_ts:
            self.latest_ts = snapshot.ts
        if snapshot.ts not in self._counted_ts:
            self._counted_ts.append(snapshot.ts)
            if live:
                self._live_since = self._live_since or now
                self._tick_arrivals.append((now, snapshot.interval_ticks))
        if snapshot.pair is not None:
            self._apply_pair(snapshot)
        elif snapshot.group is not None:
            self._apply_group(snapshot)

    def _apply_pair(self, snapshot: MetricsSnapshot) -> None:
        assert snapshot.pair is not None
        name = snapshot.subject.removeprefix("pair:")
        view = self.pairs.get(name)
        if view is None:
            view = PairView(name, len(self.pairs), snapshot, deque(maxlen=self.history))
            self.pairs[name] = view
        elif snapshot.ts < view.latest.ts:
            return  # an older copy (a snapshot after a resume): the newer one stands
        if snapshot.pair.regime is not None:
            self.regime_pairs.setdefault(name, None)
        if not view.history or snapshot.ts > view.history[-1].ts:
            view.history.append(RSPoint(snapshot.ts, snapshot.bars, snapshot.pair.rs))
        view.latest = snapshot
        self.version += 1

    def _apply_group(self, snapshot: MetricsSnapshot) -> None:
        assert snapshot.group is not None
        name = snapshot.subject.removeprefix("group:")
        view = self.groups.get(name)
        if view is None:
            view = GroupView(name, len(self.groups), snapshot)
            self.groups[name] = view
        elif snapshot.ts <= view.latest.ts:
            return
        view.latest = snapshot
        view.mcclellan.append(snapshot.group.mcclellan_oscillator)
        if snapshot.group.zweig_thrust:
            view.thrust_bars = snapshot.bars
        self.version += 1

    def _apply_signal(self, signal: Signal, live: bool, now: float) -> None:
        """A signal the client yields for the first time (it yields each id once)."""
        self.signals_received += 1
        self.signals[signal.id] = signal
        insort(self._signal_times, (signal.ts, signal.window_end, signal.id))
        while len(self._signal_times) > self.max_signals:
            _, _, oldest = self._signal_times.pop(0)
            del self.signals[oldest]
        if self.latest_ts is None or signal.ts > self.latest_ts:
            self.latest_ts = signal.ts
        if signal.kind == "rotation_regime":
            pair = signal.subject.removeprefix("pair:")
            self.regime_pairs.setdefault(pair, None)
            known = self.regime_calls.get(pair)
            if known is None or signal.ts >= known.ts:
                self.regime_calls[pair] = signal
        if live:
            self._live_since = self._live_since or now
            self._signal_arrivals.append(now)
        self.version += 1

    # Views --------------------------------------------------------------------

    def visible_pairs(self) -> list[PairView]:
        """Configured pairs, then groups against the benchmark, then (when shown) symbols."""
        pairs = (
            p for p in self.pairs.values() if self.show_symbols or p.origin != "symbol_vs_benchmark"
        )
        return sorted(pairs, key=lambda p: (ORIGIN_ORDER.get(p.origin, 9), p.order))

    def visible_groups(self) -> list[GroupView]:
        return sorted(self.groups.values(), key=lambda g: g.order)

    def current_pair(self) -> PairView | None:
        pairs = self.visible_pairs()
        chosen = self.pairs.get(self.selected_pair or "")
        return chosen if chosen in pairs else (pairs[0] if pairs else None)

    def current_group(self) -> GroupView | None:
        groups = self.visible_groups()
        return self.groups.get(self.selected_group or "") or (groups[0] if groups else None)

    def step_pair(self, step: int) -> None:
        self.selected_pair = _step(
            [p.name for p in self.visible_pairs()], self.current_pair(), step
        )
        self.version += 1

    def step_group(self, step: int) -> None:
        names = [g.name for g in self.visible_groups()]
        self.selected_group = _step(names, self.current_group(), step)
        self.version += 1

    def toggle_symbols(self) -> None:
        self.show_symbols = not self.show_symbols
        self.version += 1

    def toggle_detail(self) -> None:
        self.show_detail = not self.show_detail
        self.version += 1

    def default_levels(self) -> frozenset[str]:
        """The levels the signal log shows when its filter names none."""
        return frozenset(LEVELS) if self.show_detail else frozenset(DEFAULT_LEVELS)

    def shown_levels(self, signal_filter: SignalFilter) -> frozenset[str]:
        return signal_filter.shown_levels(self.default_levels())

    def regime_headline(self) -> list[RegimeView]:
        """One entry per regime pair, in the headline's order."""
        return [
            regime_view(
                name,
                view.latest if (view := self.pairs.get(name)) else None,
                self.regime_calls.get(name),
            )
            for name in self.regime_pairs
        ]

    def quote_rows(self) -> list[QuoteView]:
        """The quote panel's rows: the ``quotes`` symbols that have data, in that order."""
        return quote_rows(self.quotes, self.pairs)

    def newest_signals(self, signal_filter: SignalFilter, limit: int = 200) -> list[Signal]:
        """Signals newest first (by event time) of the shown levels that pass the
        filter, at most ``limit``."""
        levels = self.shown_levels(signal_filter)
        out: list[Signal] = []
        for _, _, signal_id in reversed(self._signal_times):
            signal = self.signals[signal_id]
            if signal_filter.matches(signal, levels):
                out.append(signal)
                if len(out) >= limit:
                    break
        return out

    # Rates and lag ------------------------------------------------------------

    def ticks_per_second(self, now: float) -> float:
        """Ticks of the universe per wall second, over the intervals that arrived live
        in the last ``RATE_WINDOW`` seconds (each interval counted once)."""
        _forget(self._tick_arrivals, now, key=lambda entry: entry[0])
        return sum(ticks for _, ticks in self._tick_arrivals) / self._elapsed(now)

    def signals_per_second(self, now: float) -> float:
        _forget(self._signal_arrivals, now, key=lambda at: at)
        return len(self._signal_arrivals) / self._elapsed(now)

    def _elapsed(self, now: float) -> float:
        since = self._live_since if self._live_since is not None else now
        return max(1.0, min(RATE_WINDOW, now - since))

    def lag(self, now: float) -> float | None:
        """Seconds from the newest data's event time to the wall clock ``now``."""
        return None if self.latest_ts is None else now - self.latest_ts / 1e6

    def quiet_for(self, now: float) -> float | None:
        """Seconds since the gateway last sent anything (heartbeats included)."""
        return None if self.last_message_at is None else now - self.last_message_at


def _step(names: list[str], current: PairView | GroupView | None, step: int) -> str | None:
    if not names:
        return None
    index = names.index(current.name) if current is not None and current.name in names else -step
    return names[(index + step) % len(names)]


def _forget(arrivals: deque, now: float, key) -> None:
    while arrivals and key(arrivals[0]) < now - RATE_WINDOW:
        arrivals.popleft()
