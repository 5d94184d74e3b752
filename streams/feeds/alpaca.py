"""Alpaca market data stream (stocks, v2) -> ticks (pure; the socket is the shell's).

Message format. Sources: Alpaca's documentation, "Real-time Stock Data"
(https://docs.alpaca.markets/docs/real-time-stock-pricing-data: URL, channels, trade
and quote schemas and examples) and "WebSocket Stream"
(https://docs.alpaca.markets/docs/streaming-market-data: connection, authentication,
subscription and error messages); trade corrections (``"T": "c"``) and cancels
(``"T": "x"``) as the official SDK alpaca-py handles them
(``alpaca/data/live/websocket.py``).

- URL ``wss://stream.data.alpaca.markets/v2/{feed}``, feed ``iex`` (free plan),
  ``sip`` (all US exchanges) or ``delayed_sip`` (15 minutes late).
- Every server message is a JSON array of objects tagged by ``"T"``. Control messages
  (``success``, ``error``, ``subscription``) arrive alone, data in batches.
- Handshake: server ``[{"T":"success","msg":"connected"}]``; client
  ``{"action":"auth","key":...,"secret":...}`` (within 10 s); server
  ``[{"T":"success","msg":"authenticated"}]`` or ``[{"T":"error","code":402,"msg":"auth
  failed"}]``; client ``{"action":"subscribe","trades":[...],"quotes":[...]}``; server
  ``[{"T":"subscription","trades":[...],"quotes":[...],...}]``. After a reconnect the
  whole handshake runs again, so the subscription is restored.
- Errors ``{"T":"error","code":N,"msg":...}``: 402 auth failed and 409 insufficient
  subscription (the plan does not include the feed) stop the feed (auth failure);
  405 symbol limit exceeded stops it too (fewer symbols, or ``--no-quotes``); the
  others (400 invalid syntax, 401 not authenticated, 403 already authenticated, 404
  auth timeout, 406 connection limit exceeded, 407 slow client, 410 invalid subscribe
  action, 500 internal error) are logged and the shell reconnects when the server
  closes the connection.
- No sequence numbers: gaps are detected by the shell (silence, reconnect windows).

Field mapping:

=========================  ==============================================================
trade ``"T":"t"``          ``symbol`` = ``S``; ``price`` = ``p``; ``size`` = ``s``
                           (shares); ``bid``/``ask`` None
quote ``"T":"q"``          ``symbol`` = ``S``; ``price`` = (``bp`` + ``ap``) / 2, the
                           mid; ``bid`` = ``bp``; ``ask`` = ``ap``; ``size`` 0 (a quote
                           is not volume). A one-sided quote (a side 0) is skipped.
``t`` (both)               ``ts``: RFC 3339 with up to nanoseconds,
                           ``2021-02-22T15:51:45.335689322Z`` -> 1614009105335689 us
                           (truncated to the microsecond, see
                           ``protocol.micros_from_rfc3339``)
(constant)                 ``source`` = ``"alpaca"``
=========================  ==============================================================

Skipped and logged: corrections (``c``) and cancels (``x``) of earlier trades, which an
append-only tick stream cannot apply (warning); trading status (``s``), LULD bands
(``l``), bars (``b``, ``u``, ``d``) and any new type Alpaca adds (debug).
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
    micros_from_rfc3339,
    notice,
    warning,
)
from streams.records import Tick

NAME = "alpaca"
FEEDS = ("iex", "sip", "delayed_sip")
KEY_ENV = "ALPACA_API_KEY_ID"
SECRET_ENV = "ALPACA_API_SECRET_KEY"
AUTH_ERRORS = {402, 409}
FATAL_ERRORS = {405}
_SKIPPED_TYPES = {"s": "trading status", "l": "LULD", "b": "bar", "u": "bar", "d": "bar"}


def url_for(feed: str) -> str:
    return f"wss://stream.data.alpaca.markets/v2/{feed}"


def auth_message(key: str, secret: str) -> str:
    return json.dumps({"action": "auth", "key": key, "secret": secret})


def subscribe_message(symbols: list[str], quotes: bool = True) -> str:
    body: dict[str, Any] = {"action": "subscribe", "trades": list(symbols)}
    if quotes:
        body["quotes"] = list(symbols)
    return json.dumps(body)


def trade_tick(message: Mapping[str, Any]) -> Tick:
    """A trade (``"T":"t"``) -> tick."""
    return Tick(
        symbol=message["S"],
        ts=micros_from_rfc3339(message["t"]),
        price=float(message["p"]),
        size=float(message["s"]),
        source=NAME,
    )


def quote_tick(message: Mapping[str, Any]) -> Tick | None:
    """A quote (``"T":"q"``) -> tick at the mid, or None for a one-sided quote."""
    bid, ask = float(message["bp"]), float(message["ap"])
    if not (bid > 0 and ask > 0):
        return None
    return Tick(
        symbol=message["S"],
        ts=micros_from_rfc3339(message["t"]),
        price=(bid + ask) / 2,
        bid=bid,
        ask=ask,
        source=NAME,
    )


def control_events(
    message: Mapping[str, Any], key: str, secret: str, subscription: str
) -> list[Event]:
    """Events for a ``success``, ``error`` or ``subscription`` message."""
    kind = message.get("T")
    if kind == "success":
        if message.get("msg") == "connected":
            return [notice("connected"), Send(auth_message(key, secret), "auth")]
        if message.get("msg") == "authenticated":
            return [notice("authenticated"), Send(subscription, "subscribe")]
        return [notice(f"{message.get('msg')}")]
    if kind == "subscription":
        channels = "; ".join(
            f"{name} {','.join(map(str, symbols))}"
            for name, symbols in message.items()
            if name != "T" and isinstance(symbols, list) and symbols
        )
        return [Subscribed(channels or "nothing")]
    code, text = message.get("code"), message.get("msg")
    detail = f"alpaca error {code}: {text}"
    if code in AUTH_ERRORS:
        return [
            Fatal(
                f"{detail} (check {KEY_ENV} and {SECRET_ENV}, and that your plan "
                "includes the chosen --feed)",
                auth=True,
            )
        ]
    if code in FATAL_ERRORS:
        return [
            Fatal(
                f"{detail} (subscribe fewer symbols, or trades only with --no-quotes)", auth=False
            )
        ]
    return [ProviderError(detail)]


def data_events(message: Mapping[str, Any]) -> list[Event]:
    """Events for one data message (anything but control)."""
    kind = message.get("T")
    try:
        if kind == "t":
            return [Ticks((trade_tick(message),))]
        if kind == "q":
            tick = quote_tick(message)
            if tick is None:
                return [notice(f"skipped a one-sided quote {message}")]
            return [Ticks((tick,))]
    except (KeyError, TypeError, ValueError) as exc:
        return [warning(f"skipped a malformed {kind!r} message ({exc!r}): {message}")]
    if kind == "c":
        return [
            warning(
                f"trade correction for {message.get('S')} (trade {message.get('oi')} "
                f"{message.get('op')} x {message.get('os')} -> {message.get('cp')} x "
                f"{message.get('cs')} at {message.get('t')}) not applied: ticks already sent "
                "stay as they were"
            )
        ]
    if kind == "x":
        return [
            warning(
                f"trade {message.get('i')} of {message.get('S')} ({message.get('p')} x "
                f"{message.get('s')} at {message.get('t')}) was cancelled; not applied: ticks "
                "already sent stay as they were"
            )
        ]
    what = _SKIPPED_TYPES.get(str(kind), f"type {kind!r}")
    return [Notice(logging.DEBUG, f"skipped {what} message for {message.get('S')}")]


class AlpacaStream:
    """The Alpaca stock stream protocol for a set of symbols (see module docstring)."""

    name = NAME
    keepalive_seconds: float | None = None

    def __init__(
        self,
        symbols: list[str],
        key: str,
        secret: str,
        *,
        feed: str = "iex",
        quotes: bool = True,
        url: str | None = None,
    ) -> None:
        if feed not in FEEDS:
            raise ValueError(f"unknown alpaca feed {feed!r}: one of {', '.join(FEEDS)}")
        self.url = url or url_for(feed)
        self.symbols = list(symbols)
        self._key, self._secret = key, secret
        self._subscription = subscribe_message(self.symbols, quotes)

    def headers(self) -> dict[str, str]:
        return {}

    def opened(self) -> list[Event]:
        return []  # the server speaks first: [{"T":"success","msg":"connected"}]

    def keepalive(self) -> list[Event]:
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
            if not isinstance(item, dict):
                events.append(warning(f"skipped an unexpected item: {item!r}"))
            elif item.get("T") in ("success", "error", "subscription"):
                events += control_events(item, self._key, self._secret, self._subscription)
            else:
                for event in data_events(item):
                    if isinstance(event, Ticks):
                        ticks += event.ticks
                    else:
                        events.append(event)
        return [Ticks(tuple(ticks)), *events] if ticks else events
