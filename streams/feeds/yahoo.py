"""Yahoo Finance streamer -> ticks (pure; the socket is ``streams.feeds.shell``'s).

Message format. Source: yfinance's live module (ranaroussi/yfinance,
``yfinance/live.py`` and ``yfinance/pricing.proto``, Apache-2.0; docs at
https://ranaroussi.github.io/yfinance/reference/yfinance.websocket.html). Yahoo
publishes no documentation of its own.

- URL ``wss://streamer.finance.yahoo.com/?version=2``; no authentication, no
  acknowledgement, no error or status messages, no sequence numbers.
- Client: ``{"subscribe": ["AAPL", "MSFT"]}``, sent again every 15 s while connected
  (yfinance does the same: the streamer treats it as a heartbeat).
- Server, one ``PricingData`` protobuf per text message, base64-encoded: since
  ``?version=2`` wrapped as ``{"type": "pricing", "message": "<base64>"}``, before
  that the bare base64 string. Both are accepted.

The protobuf is decoded with yfinance's own generated class
``yfinance.pricing_pb2.PricingData`` (the class ``yfinance.live`` decodes with), not
a copy of it. We skip yfinance's ``MessageToDict`` step, which turns 64-bit integers
into strings, and read the typed fields.

Field mapping (PricingData -> Tick):

=============  ==========================================================================
``id``         ``symbol``; Yahoo writes class shares with a dash (BRK-B): a subscribed
               symbol comes back under the name it was asked for (BRK.B)
``time``       ``ts`` = ``time`` x 1000: sint64 milliseconds since the epoch -> our
               microseconds, exact
``price``      ``price``: a float32 on the wire, so 307.2 arrives as 307.20001220703125;
               we take the shortest decimal that rounds to the same float32 (307.2),
               the value the sender wrote
``bid/ask``    ``bid``/``ask``, same conversion; 0 (field absent) -> None
``last_size``  ``size`` when Yahoo sends it (> 0). Otherwise the increase of
               ``day_volume`` (the day's cumulative volume) since the previous message of
               the symbol on the same New York trading day (so the sizes add up to the
               volume Yahoo reports); 0 for the first message of a symbol and day, and when
               ``day_volume`` is absent or lower than already seen (out of order)
(constant)     ``source`` = ``"yahoo"``
=============  ==========================================================================

Messages that do not decode, or give a tick the worker would reject (no price, no
time), are logged and skipped. ``market_hours`` (0 pre, 1 regular, 2 post market) is
not filtered: extended-hours prints are ticks too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import msgspec
import numpy as np

from streams.feeds.errors import MissingExtra
from streams.feeds.protocol import (
    Event,
    Send,
    Subscribed,
    Ticks,
    micros_from_millis,
    notice,
    warning,
)
from streams.records import Tick

NAME = "yahoo"
URL = "wss://streamer.finance.yahoo.com/?version=2"
RESUBSCRIBE_SECONDS = 15.0

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    NEW_YORK: timezone | ZoneInfo = ZoneInfo("America/New_York")
except (ImportError, ZoneInfoNotFoundError):  # no tz database: EST all year round
    NEW_YORK = timezone(timedelta(hours=-5))


def pricing_data_class() -> Any:
    """yfinance's ``PricingData`` protobuf class; :class:`MissingExtra` without yfinance."""
    try:
        from yfinance.pricing_pb2 import PricingData
    except ImportError as exc:
        raise MissingExtra(NAME, "yfinance") from exc
    return PricingData


def yahoo_symbol(symbol: str) -> str:
    """Our symbol as Yahoo names it: class shares with a dash (BRK.B -> BRK-B)."""
    return symbol.replace(".", "-")


def subscribe_message(symbols: list[str]) -> str:
    return json.dumps({"subscribe": [yahoo_symbol(s) for s in symbols]})


def unwrap(message: str | bytes) -> str | None:
    """The base64 payload of a streamer message (the v2 JSON envelope or bare v1), or
    None for an envelope of another type."""
    text = (message.decode() if isinstance(message, bytes) else message).strip()
    if not text.startswith("{"):
        return text
    envelope = msgspec.json.decode(text)
    if not isinstance(envelope, dict):
        raise ValueError("not a JSON object")
    if envelope.get("type", "pricing") != "pricing":
        return None
    payload = envelope.get("message")
    if not isinstance(payload, str):
        raise ValueError("no base64 'message'")
    return payload


def decode_pricing(payload: str, pricing_class: Any) -> Any:
    """Base64 ``PricingData`` -> the decoded protobuf message."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from None
    return pricing_class.FromString(raw)


def float32_decimal(value: float) -> float:
    """The shortest decimal that rounds to the same float32 as ``value`` (307.2, not
    307.20001220703125)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


@dataclass(frozen=True)
class DayVolume:
    """The highest cumulative volume seen for a symbol on one New York trading day."""

    day: date
    volume: int


def trading_day(millis: int) -> date:
    return datetime.fromtimestamp(millis / 1000, UTC).astimezone(NEW_YORK).date()


def tick_size(
    last_size: int, day_volume: int, day: date, previous: DayVolume | None
) -> tuple[float, DayVolume | None]:
    """The size of one message's tick and the symbol's new day volume (see module doc)."""
    seen = previous.volume if previous is not None and previous.day == day else None
    latest = previous
    if day_volume > 0 and (seen is None or day_volume > seen):
        latest = DayVolume(day, day_volume)
    if last_size > 0:
        return float(last_size), latest
    if seen is not None and day_volume > seen:
        return float(day_volume - seen), latest
    return 0.0, latest


def tick_from_pricing(
    pricing: Any, symbol: str, previous: DayVolume | None
) -> tuple[Tick, DayVolume | None]:
    """One decoded ``PricingData`` -> (tick, the symbol's new day volume)."""
    size, latest = tick_size(
        pricing.last_size, pricing.day_volume, trading_day(pricing.time), previous
    )
    return (
        Tick(
            symbol=symbol,
            ts=micros_from_millis(pricing.time),
            price=float32_decimal(pricing.price),
            size=size,
            bid=float32_decimal(pricing.bid) if pricing.bid > 0 else None,
            ask=float32_decimal(pricing.ask) if pricing.ask > 0 else None,
            source=NAME,
        ),
        latest,
    )


class YahooStream:
    """The Yahoo streamer protocol for a set of symbols (see module docstring)."""

    name = NAME
    keepalive_seconds: float | None = RESUBSCRIBE_SECONDS

    def __init__(self, symbols: list[str], url: str = URL) -> None:
        self.url = url
        self.symbols = list(symbols)
        self._pricing_class = pricing_data_class()
        self._ours = {yahoo_symbol(s): s for s in self.symbols}
        self._volumes: dict[str, DayVolume] = {}

    def headers(self) -> dict[str, str]:
        return {}

    def opened(self) -> list[Event]:
        return [
            Send(subscribe_message(self.symbols), "subscribe"),
            Subscribed(f"{len(self.symbols)} symbols (Yahoo sends no confirmation)"),
        ]

    def keepalive(self) -> list[Event]:
        return [Send(subscribe_message(self.symbols), "subscribe (heartbeat)")]

    def received(self, message: str | bytes) -> list[Event]:
        shown = str(message)[:120]
        try:
            payload = unwrap(message)
            if payload is None:
                return [notice(f"skipped a yahoo message that is not pricing data: {shown!r}")]
            pricing = decode_pricing(payload, self._pricing_class)
        except Exception as exc:  # protobuf raises its own DecodeError, msgspec its own
            return [warning(f"skipped a yahoo message that does not decode ({exc}): {shown!r}")]
        if not pricing.id or pricing.time <= 0 or not pricing.price > 0:
            return [warning(f"skipped a yahoo message without symbol, time or price: {shown!r}")]
        symbol = self._ours.get(pricing.id, pricing.id)
        tick, volume = tick_from_pricing(pricing, symbol, self._volumes.get(symbol))
        if volume is not None:
            self._volumes[symbol] = volume
        return [Ticks((tick,))]
