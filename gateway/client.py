"""A Python client of the gateway that reconnects and resumes by itself (used by the monitor).

``GatewayClient(url).events()`` yields ``("status", text)`` when the connection state
changes, ``("message", message)`` for every server message, typed as the structs of
:mod:`gateway.messages` (an :class:`UnknownMessage` for one it cannot decode as
such, say of a newer gateway), and ``("catch_up", message)`` for the data messages
of a snapshot or resume: the channel's state or what the client missed, not new
flow. It remembers the last position (epoch, seq) of each channel
(:class:`gateway.resume.Resume`); when the connection drops (a network fault, a
gateway restart, a missed heartbeat) it waits with jittered exponential backoff,
reconnects and subscribes with ``since``, so the gateway sends exactly the messages
it missed. When the gateway cannot (its history no longer reaches back), a fresh
snapshot comes instead; signals already yielded are not yielded again (by id), so a
gateway restart shows as a short pause and a status line, nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from gateway.messages import (
    MetricsMessage,
    Resumed,
    ServerMessage,
    SignalMessage,
    Snapshot,
    Welcome,
)
from gateway.resume import Resume

_typed = msgspec.json.Decoder(ServerMessage)
_untyped = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A server message that is not one of :mod:`gateway.messages` as this client knows
    them (a type it does not know, or fields that do not match): the decoded JSON and
    why it did not decode."""

    raw: Any
    problem: str

    @property
    def type(self) -> str | None:
        kind = self.raw.get("type") if isinstance(self.raw, dict) else None
        return kind if isinstance(kind, str) else None


Message = ServerMessage | UnknownMessage
EventKind = Literal["status", "message", "catch_up"]
Event = tuple[EventKind, Any]
"""``("status", str)``, ``("message", Message)`` or ``("catch_up", SignalMessage |
MetricsMessage)``."""


def decode_message(frame: str | bytes) -> Message:
    """One server frame as its typed message; raises :class:`msgspec.DecodeError` only
    for a frame that is not JSON at all."""
    try:
        return _typed.decode(frame)
    except msgspec.ValidationError as exc:
        return UnknownMessage(_untyped.decode(frame), str(exc))


class GatewayClient:
    """Subscribes to ``channels`` (with an optional ``filter`` dict, see the protocol)
    and keeps the subscription across reconnects.

    ``token``: sent as ``Authorization: Bearer`` at the handshake, or, with
    ``header_auth=False``, in a first ``auth`` message as a browser would.
    ``close_timeout``: how long a client that stops waits for the gateway to answer its
    close frame (a client stopping amid a stream gets no answer while its buffer is full).
    """

    def __init__(
        self,
        url: str,
        channels: tuple[str, ...] = ("signals", "metrics"),
        *,
        token: str | None = None,
        header_auth: bool = True,
        filter: dict[str, Any] | None = None,
        resume: bool = True,
        max_backoff: float = 5.0,
        open_timeout: float = 5.0,
        close_timeout: float = 2.0,
        remember_signals: int = 10_000,
    ) -> None:
        self.url = url
        self.channels = channels
        self.token = token
        self.header_auth = header_auth
        self.filter = filter
        self.resume = resume
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.connected = False
        self.tracker = Resume(remember_signals)
        """Where each channel stands and which signals were yielded (for ``since``)."""

    def subscribe_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"op": "subscribe", "channels": list(self.channels)}
        if self.filter:
            request["filter"] = self.filter
        since = self.tracker.since(self.channels)
        if self.resume and since:
            request["since"] = since
        return request

    def take(self, message: Message) -> Event | None:
        """The event for one server message, its position tracked; None for a signal
        already yielded."""
        if isinstance(message, SignalMessage | MetricsMessage):
            delivery = self.tracker.data(message)
            if delivery == "seen":
                return None
            return ("catch_up" if delivery == "catch_up" else "message", message)
        if isinstance(message, Snapshot | Resumed):
            self.tracker.header(message)
        return ("message", message)

    async def events(self) -> AsyncIterator[Event]:
        attempt = 0
        while True:
            headers = None
            if self.token is not None and self.header_auth:
                headers = {"Authorization": f"Bearer {self.token}"}
            try:
                async with connect(
                    self.url,
                    additional_headers=headers,
                    open_timeout=self.open_timeout,
                    close_timeout=self.close_timeout,
                    compression=None,
                    max_size=2**24,
                ) as ws:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a
                    # cancellation that arrives as the frame does (CPython gh-86296), and
                    # with frames always waiting a cancelled reader would never stop.
                    async with asyncio.timeout(self.open_timeout):
                        welcome = decode_message(await ws.recv())
                    yield ("message", welcome)
                    interval, auth_required = _greeting(welcome)
                    silence = 3 * interval + 1.0
                    if auth_required:
                        auth = {"op": "auth", "token": self.token or ""}
                        await ws.send(msgspec.json.encode(auth), text=True)
                    request = self.subscribe_request()
                    await ws.send(msgspec.json.encode(request), text=True)
                    self.connected = True
                    attempt = 0
                    resuming = " (resuming)" if "since" in request else ""
                    yield ("status", f"connected to {self.url}{resuming}")
                    while True:
                        try:
                            async with asyncio.timeout(silence):
                                frame = await ws.recv()
                        except TimeoutError:
                            raise TimeoutError(f"no heartbeat for {silence:.0f} s") from None
                        event = self.take(decode_message(frame))
                        if event is not None:
                            yield event
            except InvalidURI as exc:
                raise ValueError(f"not a websocket URL: {self.url} ({exc})") from None
            except ConnectionClosed as exc:
                reason = f"closed {exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else str(exc)
            except (OSError, InvalidHandshake, TimeoutError, msgspec.DecodeError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.connected = False
            self.tracker.disconnected()
            delay = min(self.max_backoff, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            yield ("status", f"disconnected ({reason}); retrying in {delay:.1f} s")
            await asyncio.sleep(delay)


def _greeting(message: Message) -> tuple[float, bool]:
    """The heartbeat interval and whether ``auth`` is required, from the first message
    (defaults when it is not a welcome this client can read)."""
    if isinstance(message, Welcome):
        return message.heartbeat_interval, message.auth_required
    raw = message.raw if isinstance(message, UnknownMessage) else None
    if isinstance(raw, dict):
        interval = raw.get("heartbeat_interval", 5.0)
        interval = float(interval) if isinstance(interval, int | float) else 5.0
        return interval, bool(raw.get("auth_required"))
    return 5.0, False
