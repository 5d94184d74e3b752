"""Incremental building blocks: SMA, EMA, rolling mean/sd, rolling max/min.

Every indicator has the same small surface (:class:`Indicator`, after the base
indicator of nautilus_trader, ``indicators/base/indicator.pyx``): ``update(x)`` with
one bar's input returns the current value, ``value`` holds it (``None`` while
warming up), ``initialized`` says whether the warm-up is over, and ``reset()``
returns the indicator to its freshly built state. Conventions, stated once for
every user:

- SMA_n: arithmetic mean of the last n values; None until n values were seen.
- EMA with smoothing alpha (``Ema.span(n)``: alpha = 2 / (n + 1)), seeded with the
  first value: EMA_0 = x_0, EMA_t = EMA_{t-1} + alpha (x_t - EMA_{t-1}). This equals
  pandas ``Series.ewm(alpha=alpha, adjust=False).mean()``. ``Ema(alpha, seed=0.0)``
  starts from a given level instead (McClellan's T10/T5 start at 0).
- Rolling sd: sample standard deviation (ddof = 1) over the last n values, as pandas
  ``rolling(n).std()``; None until n values.
- Rolling max/min over the last n values (the current one included).

State is plain Python data (``to_state`` / ``from_state``) so a worker can store
and restore it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Protocol


class Indicator(Protocol):
    """What every indicator offers: fed one value per bar, it keeps its current value."""

    def update(self, x: float) -> Any:
        """Add one bar's input; return the current value."""
        ...

    @property
    def value(self) -> Any:
        """The current value (``None`` while warming up)."""
        ...

    @property
    def initialized(self) -> bool:
        """True once enough inputs were seen for a value."""
        ...

    def reset(self) -> None:
        """Forget every input: back to the state of a new indicator."""
        ...


class Sma:
    """Simple moving average over the last ``n`` values."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("SMA length must be >= 1")
        self.n = n
        self.window: deque[float] = deque(maxlen=n)
        self.value: float | None = None

    @property
    def initialized(self) -> bool:
        return len(self.window) == self.n

    def reset(self) -> None:
        self.window.clear()
        self.value = None

    def update(self, x: float) -> float | None:
        self.window.append(x)
        # Summing the window each time avoids the drift of a running sum; n is small.
        self.value = math.fsum(self.window) / self.n if len(self.window) == self.n else None
        return self.value

    def to_state(self) -> list[float]:
        return list(self.window)

    def restore(self, state: list[float]) -> Sma:
        for x in state:
            self.update(x)
        return self


SEED_WEIGHT = 0.05
"""An EMA seeded with its first input is provisional while that seed weighs this
much or more in it."""


def settled_after(alpha: float, weight: float = SEED_WEIGHT) -> int:
    """Inputs after which an EMA's seed weighs less than ``weight``: the least n with
    (1 - alpha)^n < weight (59 for alpha 0.05, the McClellan slow EMA)."""
    if not 0 < alpha < 1:
        return 1
    return math.floor(math.log(weight) / math.log1p(-alpha)) + 1


class Ema:
    """Exponential moving average: EMA_t = EMA_{t-1} + alpha (x_t - EMA_{t-1})."""

    def __init__(self, alpha: float, seed: float | None = None) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("EMA alpha must be in (0, 1]")
        self.alpha = alpha
        self.seed = seed
        self.value: float | None = seed

    @property
    def initialized(self) -> bool:
        return self.value is not None

    def reset(self) -> None:
        self.value = self.seed

    @classmethod
    def span(cls, n: int, seed: float | None = None) -> Ema:
        """EMA of span n: alpha = 2 / (n + 1)."""
        return cls(2.0 / (n + 1), seed)

    def update(self, x: float) -> float:
        self.value = x if self.value is None else self.value + self.alpha * (x - self.value)
        return self.value

    def to_state(self) -> float | None:
        return self.value

    def restore(self, state: float | None) -> Ema:
        self.value = state
        return self


class RollingStats:
    """Mean and sample standard deviation of the last ``n`` values."""

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError("rolling statistics need n >= 2")
        self.n = n
        self.window: deque[float] = deque(maxlen=n)

    @property
    def value(self) -> tuple[float | None, float | None]:
        """(mean, sd) of the window; (None, None) while warming up."""
        return self.mean_sd()

    @property
    def initialized(self) -> bool:
        return len(self.window) == self.n

    def reset(self) -> None:
        self.window.clear()

    def update(self, x: float) -> tuple[float | None, float | None]:
        self.window.append(x)
        return self.mean_sd()

    def mean_sd(self) -> tuple[float | None, float | None]:
        if len(self.window) < self.n:
            return None, None
        mean = math.fsum(self.window) / self.n
        var = math.fsum((x - mean) ** 2 for x in self.window) / (self.n - 1)
        return mean, math.sqrt(var)

    def zscore(self, x: float) -> float | None:
        """(x - mean) / sd of the window (after adding x); None if warming up or sd = 0."""
        mean, sd = self.update(x)
        if mean is None or not sd:
            return None
        return (x - mean) / sd

    def to_state(self) -> list[float]:
        return list(self.window)

    def restore(self, state: list[float]) -> RollingStats:
        self.window.extend(state)
        return self


class RollingExtremes:
    """Highest and lowest of the last ``n`` values (current value included).

    Monotonic deques of (index, value) make each update O(1) amortised instead of a
    scan of the window: the front of ``_highs`` is the window's maximum, of ``_lows``
    its minimum.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("window length must be >= 1")
        self.n = n
        self.window: deque[float] = deque(maxlen=n)
        self._count = 0
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()

    @property
    def value(self) -> tuple[float | None, float | None]:
        """(high, low) of the window, the last value included; (None, None) when empty."""
        return self.previous()

    @property
    def initialized(self) -> bool:
        return len(self.window) == self.n

    def reset(self) -> None:
        self.window.clear()
        self._count = 0
        self._highs.clear()
        self._lows.clear()

    def update(self, x: float) -> tuple[float, float]:
        self.window.append(x)
        i = self._count
        self._count += 1
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= x:
            highs.pop()
        highs.append((i, x))
        while lows and lows[-1][1] >= x:
            lows.pop()
        lows.append((i, x))
        oldest = i - self.n + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()
        return highs[0][1], lows[0][1]

    def previous(self) -> tuple[float | None, float | None]:
        """High and low of the window before the next update (None when empty)."""
        if not self.window:
            return None, None
        return self._highs[0][1], self._lows[0][1]

    def to_state(self) -> list[float]:
        return list(self.window)

    def restore(self, state: list[float]) -> RollingExtremes:
        for x in state:
            self.update(x)
        return self
