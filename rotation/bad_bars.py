"""Bars whose high and low do not hold their open and close: found, described, not used.

A bar's high is the highest and its low the lowest traded price of its interval, so
every consistent bar has ``low <= open, close <= high`` (and ``low <= high``). A row
breaking that is a bad bar::

    bad = high < max(open, close) or low > min(open, close) or high < low

compared with a relative tolerance of :data:`TOLERANCE` (1e-9), so the float noise of
back-adjusted vendor prices (a close of 11.601027488708496 against a high of
11.601027488708494) is not taken for a bad print. An empty open, high or low cell is
no evidence either way and is left out of the comparison. The replay does not use a
bad bar: offline it notes the row, with ``--kafka`` it also sends it to the dead-letter
topic with the reason ``bad_bar`` (see :mod:`rotation.replay`).
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-9
"""Relative tolerance of the comparisons."""

REASON = "bad_bar"
"""The dead-letter reason of a bad bar (:data:`streams.records.DeadLetterReason`)."""


def bad_bars(
    open_: np.ndarray | None, high: np.ndarray | None, low: np.ndarray | None, close: np.ndarray
) -> np.ndarray:
    """The mask of bad bars among the rows (NaN: an empty cell, left out)."""
    bad = np.zeros(close.size, dtype=bool)
    if high is None and low is None:
        return bad
    top = close if open_ is None else np.fmax(open_, close)
    bottom = close if open_ is None else np.fmin(open_, close)
    with np.errstate(invalid="ignore"):
        if high is not None:
            bad |= high < top * (1 - TOLERANCE)
        if low is not None:
            bad |= low > bottom * (1 + TOLERANCE)
        if high is not None and low is not None:
            bad |= high < low * (1 - TOLERANCE)
    return bad


def why_bad(open_: float, high: float, low: float, close: float) -> str:
    """What is wrong with one bad bar, e.g. ``high 9.5 is below close 10``."""
    for name, value in (("close", close), ("open", open_)):
        if high == high and value == value and high < value * (1 - TOLERANCE):
            return f"high {number(high)} is below {name} {number(value)}"
    for name, value in (("close", close), ("open", open_)):
        if low == low and value == value and low > value * (1 + TOLERANCE):
            return f"low {number(low)} is above {name} {number(value)}"
    return f"high {number(high)} is below low {number(low)}"


def number(value: float) -> str:
    """A price as a person reads it: 12 significant digits, no float noise."""
    return f"{value:.12g}"
