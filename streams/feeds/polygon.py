"""Polygon.io (now Massive) stocks websocket -> ticks (pure; the socket is the shell's).

Message format. Sources: Polygon's websocket documentation
(https://polygon.io/docs/websocket/stocks/trades,
https://polygon.io/docs/websocket/stocks/quotes and the quickstart
https://polygon.io/docs/websocket/quickstart) and the official client's machine-readable
spec with its examples (polygon-io/client-python, ``.polygon/websocket.json``), its
websocket client (``polygon/websocket/__init__.py``) and mock server
(``test_websocket/mock_server.py``).

- URL ``wss://socket.polygon.io/stocks`` (real time) or
  ``wss://delayed.polygon.io/stocks`` (15 minutes late); Massive serves the same at
  ``socket.massive.com`` / ``delayed.massive.com``.
- Every server message is a JSON array of objects tagged by ``"ev"``.
- Handshake: server ``[{"ev":"status","status":"connected","message":"Connected
  Successfully"}]``; client ``{"action":"auth","params":KEY}``; server
  ``[{"ev":"status","status":"auth_success","message":"authenticated"}]``, or
  ``"status":"auth_failed"`` (older servers: ``"status":"error","message":"authentication
  failed"``); client ``{"action":"subscribe","params":"T.AAPL,Q.AAPL"}``; server one
  ``[{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]`` per topic.
  After a reconnect the whole handshake runs again, so the subscription is restored.
- Other statuses (``max_connections``: another connection with the same key took over;
  ``error``) are logged; when the server closes the connection the shell reconnects.
  ``auth_failed`` and errors about authentication or authorisation ("not authorized":
  the plan has no websocket access) stop the feed.
- ``q``, the sequence number, increases per symbol and event type but not by one
  (1, 2, 6, 9), and restarts every day: so no gap can be proven from it, but a number
  that does not increase (a repeat or an out-of-order message) is logged.

Field mapping:

=======================  ================================================================
trade ``"ev":"T"``       ``symbol`` = ``sym``; ``price`` = ``p``; ``size`` = ``s``
                         (shares); ``bid``/``ask`` None
quote ``"ev":"Q"``       ``symbol`` = ``sym``; ``price`` = (``bp`` + ``ap``) / 2, the
                         mid; ``bid`` = ``bp``; ``ask`` = ``ap``; ``size`` 0 (``bs``/``as``
                         are round lots of quoted interest, not volume). A one-sided quote
                         is skipped.
``t`` (both)             ``ts`` = ``t`` x 1000: the SIP timestamp in Unix milliseconds ->
                         our microseconds, exact
(constant)               ``source`` = ``"polygon"``
=======================  ================================================================

Trade conditions (``c``) are not filtered. Aggregates and other event types are skipped
(debug log).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import msgspec

from streams.feeds.protocol import (
    Event,
    Fatal,
    Notice,
    ProviderError,
    Send,
    Subscribed,
    Ticks,
    micros_from_millis,
    notice,
    warning,
)
from streams.records import Tick

NAME = "polygon"
URL = "wss://socket.polygon.io/stocks"
DELAYED_URL = "wss://delayed.polygon.io/stocks"
KEY_ENV = "POLYGON_API_KEY"


def auth_message(key: str) -> str:
    return json.dumps({"action": "auth", "params": key})


def subscribe_message(symbols: list[str], quotes: bool = True) -> str:
    topics = [f"T.{s}" for s in symbols] + ([f"Q.{s}" for s in symbols] if quotes else [])
    return json.dumps({"action": "subscribe", "params": ",".join(topics)})


def trade_tick(message: Mapping[str, Any]) -> Tick:
    """A trade (``"ev":"T"``) -> tick."""
    return Tick(
        symbol=message["sym"],
        ts=micros_from_millis(message["t"]),
        price=float(message["p"]),
        size=float(message["s"]),
        source=NAME,
    )


def quote_tick(message: Mapping[str, Any]) -> Tick | None:
    """A quote (``"ev":"Q"``) -> tick at the mid, or None for a one-sided quote."""
    bid, ask = float(message["bp"]), float(message["ap"])
    if not (bid > 0 and ask > 0):
        return None
    return Tick(
        symbol=message["sym"],
        ts=micros_from_millis(message["t"]),
        price=(bid + ask) / 2,
        bid=bid,
        ask=ask,
        source=NAME,
    )


def status_events(message: Mapping[str, Any], key: str, subscription: str) -> list[Event]:
    """Events for a ``"ev":"status"`` message."""
    status, text = message.get("status"), str(message.get("message", ""))
    if status == "connected":
        return [notice(f"{text}"), Send(auth_message(key), "auth")]
    if status == "auth_success":
        return [notice(f"{text}"), Send(subscription, "subscribe")]
    if status == "success":
        if text.startswith("subscribed to"):
            return [Subscribed(text.removeprefix("subscribed to").lstrip(": "))]
        if text == "authenticated":  # older servers confirm auth with a plain success
            return [notice("authenticated"), Send(subscription, "subscribe")]
        return [notice(f"{text}")]
    detail = f"polygon status {status}: {text}"
    lowered = text.lower()
    if status == "auth_failed" or "auth" in lowered or "not authorized" in lowered:
        return [
            Fatal(
                f"{detail} (check {KEY_ENV}, and that your plan includes this cluster's "
                "websocket and, for quotes, quote data: else use --no-quotes)",
                auth=True,
            )
        ]
    return [ProviderError(detail)]


class PolygonStream:
    """The Polygon stocks websocket protocol for a set of symbols (see module docstring)."""

    name = NAME
    keepalive_seconds: float | None = None

    def __init__(
        self, symbols: list[str], key: str, *, quotes: bool = True, url: str = URL
    ) -> None:
        self.url = url
        self.symbols = list(symbols)
        self._key = key
        self._subscription = subscribe_message(self.symbols, quotes)
        self._sequence: dict[tuple[str, str], int] = {}

    def headers(self) -> dict[str, str]:
        return {}

    def opened(self) -> list[Event]:
        return []  # the server speaks first: status "connected"

    def keepalive(self) -> list[Event]:
        return []

    def sequence_events(self, message: Mapping[str, Any]) -> list[Event]:
        """A warning when ``q`` does not increase for the symbol and event type."""
        number = message.get("q")
        if not isinstance(number, int):
            return []
        key = (str(message.get("ev")), str(message.get("sym")))
        previous = self._sequence.get(key)
        self._sequence[key] = number if previous is None else max(previous, number)
        if previous is not None and number <= previous:
            return [
                warning(
                    f"{key[0]} {key[1]} sequence {number} after {previous}: "
                    "a repeated or out-of-order message (a new day restarts it)"
                )
            ]
        return []

    def received(self, message: str | bytes) -> list[Event]:
        try:
            items = msgspec.json.decode(message)
        except msgspec.DecodeError as exc:
            return [warning(f"skipped a message that is not JSON ({exc}): {str(message)[:120]!r}")]
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            return [warning(f"skipped an unexpected message: {str(message)[:120]!r}")]
        events: list[Event] = []
        ticks: list[Tick] = []
        for item in items:
            kind = item.get("ev") if isinstance(item, dict) else None
            if kind == "status":
                events += status_events(item, self._key, self._subscription)
            elif kind in ("T", "Q"):
                try:
                    tick = trade_tick(item) if kind == "T" else quote_tick(item)
                except (KeyError, TypeError, ValueError) as exc:
                    events.append(warning(f"skipped a malformed {kind} ({exc!r}): {item}"))
                    continue
                events += self.sequence_events(item)
                if tick is None:
                    events.append(notice(f"skipped a one-sided quote {item}"))
                else:
                    ticks.append(tick)
            else:
                events.append(Notice(logging.DEBUG, f"skipped {item!r:.120}"))
        return [Ticks(tuple(ticks)), *events] if ticks else events
