"""What every signal rule shares: its verdict, its inputs, its interface and its cooldown.

A rule is a small detector fed one interval at a time that says when to speak. Every
rule has the same surface, after the base indicator of nautilus_trader
(``indicators/base/indicator.pyx``: ``handle_bar`` / ``update_raw``, ``initialized``,
``reset``):

- ``on_interval(inputs)``: one interval's inputs (:class:`PairInputs` for a rule of a
  pair, :class:`GroupInputs` for a rule of a group) -> a :class:`Fired` or None;
- ``update(...)``: the same with plain numbers, booleans and quadrant names, never
  another module's records, so any source can drive it (a replay, a test);
- ``initialized``: the rule's warm-up is over; ``reset()``: back to a new rule;
- ``window_bars``: the bars a signal of the rule looks back over (its window);
- ``configure(subject, universe)``: the rule of one pair or group as the
  configuration asks for it, or None where the configuration leaves it off.

Conventions shared by every rule:

- One update per closed bar, in order; bars are counted by updates.
- Cooldown of c bars: after a signal at bar b the rule is silent through bar
  b + c - 1; a condition met inside the cooldown is dropped, not delayed (a
  z-score shock or a new high is an event of its bar, stale a few bars later).
- ``to_state()`` returns JSON-able data, configuration included, and
  ``from_state(state)`` continues identically.
- Flags in ``evidence`` are 1.0 (met) or 0.0 (not met), so evidence stays
  ``dict[str, float | str | None]``.

The engine emits an interval's signals by ``emit_order`` (then in the order of the
subjects and of the rules): RS crossovers first, then the groups' rules, then the
pairs' other rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar

if TYPE_CHECKING:
    from agents.analytics.relative_strength import RSPoint
    from agents.analytics.rrg import RRGPoint
    from agents.analytics.rules.rs_crossover import Crossover
    from agents.analytics.universe import PairSpec, Universe
    from streams.records import GroupStats

Evidence = dict[str, float | str | None]
Scope = Literal["pair", "group"]


@dataclass(frozen=True)
class Fired:
    """A rule's verdict at one bar: what fired, which way, how strongly and why."""

    kind: str
    subject: str
    direction: str
    score: float
    evidence: Evidence
    summary: str


@dataclass(frozen=True)
class PairInputs:
    """One interval of a pair: its RS point and crossover, its RRG point (None before
    the graph has one) and whether breadth confirms each side (small caps, mega caps)."""

    point: RSPoint
    crossover: Crossover | None
    rrg: RRGPoint | None
    breadth: tuple[bool, bool] = (False, False)


@dataclass(frozen=True)
class GroupInputs:
    """One interval of a group: its breadth figures and its members' RS crossovers
    against the benchmark at this interval ((symbol, "up" or "down"), in symbol order)."""

    metrics: GroupStats
    crossovers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Subject:
    """What a rule watches: ``pair:<name>`` (with its spec) or ``group:<name>``."""

    name: str
    pair: PairSpec | None = None

    @property
    def scope(self) -> Scope:
        return "group" if self.pair is None else "pair"

    @property
    def label(self) -> str:
        return f"{self.scope}:{self.name}"


def flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


class Cooldown:
    """Bars since the last signal, and whether the rule may speak again."""

    def __init__(self, bars: int) -> None:
        if bars < 0:
            raise ValueError(f"cooldown_bars must be >= 0, got {bars}")
        self.bars = bars
        self.elapsed: int | None = None

    def tick(self) -> None:
        if self.elapsed is not None:
            self.elapsed += 1

    @property
    def ready(self) -> bool:
        return self.elapsed is None or self.elapsed >= self.bars

    def fire(self) -> float | None:
        """Start a new cooldown; bars since the previous signal (None for the first)."""
        since = None if self.elapsed is None else float(self.elapsed)
        self.elapsed = 0
        return since

    def reset(self) -> None:
        self.elapsed = None


InputsT = TypeVar("InputsT", PairInputs, GroupInputs)


class SignalRule(ABC, Generic[InputsT]):
    """The interface of every rule (see the module docstring)."""

    kind: ClassVar[str]
    scope: ClassVar[Scope]
    emit_order: ClassVar[int]
    feed_order: ClassVar[int]
    """Where the rule stands among all rules when a subject's interval is fed to them."""
    subject: str

    @classmethod
    @abstractmethod
    def configure(cls, subject: Subject, universe: Universe) -> Self | None:
        """The rule for ``subject`` with the configured parameters; None if it is off."""

    @abstractmethod
    def on_interval(self, inputs: InputsT) -> Fired | None:
        """One interval's inputs (:class:`PairInputs` or :class:`GroupInputs`)."""

    @property
    @abstractmethod
    def window_bars(self) -> int:
        """Bars a signal of this rule looks back over."""

    @property
    @abstractmethod
    def initialized(self) -> bool:
        """True once the rule has seen enough bars to judge."""

    @property
    def label(self) -> str | None:
        """The state the rule publishes with its subject's metrics, if any."""
        return None

    @abstractmethod
    def reset(self) -> None:
        """Forget every bar: back to the state of a new rule, parameters kept."""

    @abstractmethod
    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data, parameters included."""
