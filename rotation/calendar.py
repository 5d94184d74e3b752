"""The ``[calendar]`` table: the exchange whose trading sessions the bars follow.

``exchange`` is an exchange_calendars code (ISO 10383 MIC such as ``XNYS``, the New
York Stock Exchange, the default; ``XNAS``, ``XLON``, ``XTKS``, ...; the list is
``exchange_calendars.get_calendar_names()``, or
https://github.com/gerrymanoim/exchange_calendars#calendars). ``"24/7"`` or ``"none"``
means no calendar: bars on the epoch grid, every time is trading time (crypto, tests
with synthetic times). The sessions are read once per exchange and process, from
:data:`FIRST_SESSION` to a few years past today, wide enough for replays of old history
and for the simulator. A lunch break (an exchange with ``break_start``) is inside its
session here: the bars run from the open to the close.
"""

from __future__ import annotations

import functools
import warnings
from datetime import date

import numpy as np
import pandas as pd

from streams.sessions import CONTINUOUS, Sessions

DEFAULT_EXCHANGE = "XNYS"
CONTINUOUS_NAMES = (CONTINUOUS, "none")
FIRST_SESSION = "1990-01-01"
YEARS_AHEAD = 5


class UnknownExchange(ValueError):
    """No exchange calendar has this code."""


def sessions_for(exchange: str) -> Sessions:
    """The sessions of ``exchange`` (continuous for ``"24/7"`` or ``"none"``)."""
    if exchange.lower() in CONTINUOUS_NAMES:
        return Sessions.continuous()
    return _calendar_sessions(exchange.upper(), date.today().year + YEARS_AHEAD)


@functools.cache
def _calendar_sessions(code: str, last_year: int) -> Sessions:
    import exchange_calendars as xcals  # a second to import: only when a calendar is asked for

    if code not in xcals.get_calendar_names(include_aliases=True):
        raise UnknownExchange(
            f"'{code}' is no exchange_calendars code: use a market identifier code such as "
            f"XNYS, XNAS, XLON or XTKS (python -c 'import exchange_calendars as x; "
            f'print(x.get_calendar_names())\' lists them), or "24/7" for no calendar'
        )
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values of tz-aware times, which pandas 3.1
        # deprecates; the values it reads are the same.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xcals.get_calendar(code, start=FIRST_SESSION, end=f"{last_year}-12-31")
    schedule = calendar.schedule
    labels = pd.DatetimeIndex(schedule.index)
    day = labels.values.astype("datetime64[D]").astype(np.int64)
    tz = calendar.tz
    day_start = labels.tz_localize(tz).tz_convert("UTC")
    day_end = (labels + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    return Sessions(
        code,
        open=_micros(schedule["open"]),
        close=_micros(schedule["close"]),
        day=day,
        day_start=_micros(day_start),
        day_end=_micros(day_end),
    )


def _micros(times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC times as int64 microseconds since the epoch."""
    index = pd.DatetimeIndex(times.array if isinstance(times, pd.Series) else times)
    return np.asarray(index.as_unit("us").asi8, dtype=np.int64)
