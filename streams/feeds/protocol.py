"""The sans-I/O contract between a provider module and the websocket shell.

A provider module (``yahoo``, ``alpaca``, ``polygon``) is pure: it turns one text
message from the provider into a list of *events* and says what to send when a
connection opens. It never touches a socket, a clock or Kafka, so every mapping can
be tested with a string in and events out. ``streams.feeds.shell`` performs the
events: it sends, logs, reconnects and hands ticks to the Kafka producer.

Also here: the unit conversions the providers share (provider timestamps to our
microseconds) and the check that a tick will pass the worker's own validation.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from typing import Protocol

import msgspec

from streams.codec import encode
from streams.records import Tick

MICROS_PER_MILLI = 1_000
MICROS_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class Send:
    """Send ``text`` to the provider. ``what`` names it in logs (never the text: it may
    hold a secret)."""

    text: str
    what: str


@dataclass(frozen=True)
class Ticks:
    """Market data mapped to ticks, in the order the provider sent it."""

    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Subscribed:
    """The provider confirmed a subscription: data follows."""

    detail: str


@dataclass(frozen=True)
class Notice:
    """A status or control message, or data this project does not use: logged, skipped."""

    level: int
    text: str


@dataclass(frozen=True)
class ProviderError:
    """An error the provider reported. The stream goes on (the provider may close it, then
    the shell reconnects)."""

    text: str


@dataclass(frozen=True)
class Fatal:
    """The provider refused the session for good: the feed stops with a non-zero exit."""

    text: str
    auth: bool


Event = Send | Ticks | Subscribed | Notice | ProviderError | Fatal


class Provider(Protocol):
    """What the shell needs from a provider module (see module docstring)."""

    name: str
    url: str
    keepalive_seconds: float | None

    def headers(self) -> dict[str, str]:
        """HTTP headers of the websocket handshake."""
        ...

    def opened(self) -> list[Event]:
        """Events for a connection that just opened (e.g. send the subscription)."""
        ...

    def received(self, message: str | bytes) -> list[Event]:
        """Events for one message from the provider."""
        ...

    def keepalive(self) -> list[Event]:
        """Events to perform every ``keepalive_seconds`` while connected."""
        ...


def notice(text: str) -> Notice:
    return Notice(logging.DEBUG, text)


def warning(text: str) -> Notice:
    return Notice(logging.WARNING, text)


# Timestamps.


def micros_from_millis(millis: int) -> int:
    """Milliseconds since the epoch -> microseconds since the epoch (exact: times 1000)."""
    return int(millis) * MICROS_PER_MILLI


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def micros_from_rfc3339(text: str) -> int:
    """An RFC 3339 time (e.g. ``2021-02-22T15:51:45.335689322Z``) -> microseconds since
    the epoch, UTC.

    Integer arithmetic throughout: the fraction's digits beyond the sixth (nanoseconds)
    are truncated, never rounded, so a tick never moves to a later microsecond, and
    times keep their order. Leap seconds (``:60``) are not accepted.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, _z, sign, offset_hours, offset_minutes = match.groups()[6:]
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if sign:
        offset = int(offset_hours) * 3600 + int(offset_minutes) * 60
        seconds -= offset if sign == "+" else -offset
    micros = int((fraction or "").ljust(6, "0")[:6])
    return seconds * MICROS_PER_SECOND + micros


# Validation.

_tick_decoder = msgspec.json.Decoder(Tick)


def rejection(tick: Tick) -> str | None:
    """Why the worker would reject ``tick`` (symbol pattern, price > 0, ...), or None.

    msgspec validates constraints when decoding, not when a struct is built, so the
    tick goes through the same decoder the worker uses: one invalid tick would make the
    whole frame it travels in invalid.
    """
    try:
        _tick_decoder.decode(encode(tick))
    except msgspec.ValidationError as exc:
        return str(exc)
    return None
