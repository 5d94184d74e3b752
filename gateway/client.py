"""A Python client of the gateway that reconnects and resumes by itself (used by the monitor).

``GatewayClient(url).events()`` yields ``("status", text)`` when the connection state
changes and ``("message", dict)`` for every server message. It remembers the last
position (epoch, seq) of each channel; when the connection drops (a network fault,
a gateway restart, a missed heartbeat) it waits with jittered exponential backoff,
reconnects and subscribes with ``since``, so the gateway sends exactly the messages
it missed. When the gateway cannot (its history no longer reaches back), a fresh
snapshot comes instead; signals already yielded are not yielded again (by id), so a
gateway restart shows as a short pause and a status line, nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

_decoder = msgspec.json.Decoder()

Event = tuple[str, Any]


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
        self.positions: dict[str, dict[str, Any]] = {}
        """Channel -> {"epoch", "seq"}: the last complete position, for ``since``."""
        self._pending: dict[str, list[Any]] = {}
        self._signal_ids: OrderedDict[str, None] = OrderedDict()
        self._remember_signals = remember_signals

    def subscribe_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"op": "subscribe", "channels": list(self.channels)}
        if self.filter:
            request["filter"] = self.filter
        since = {c: self.positions[c] for c in self.channels if c in self.positions}
        if self.resume and since:
            request["since"] = since
        return request

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
                        welcome = _decoder.decode(await ws.recv())
                    yield ("message", welcome)
                    silence = 3 * float(welcome.get("heartbeat_interval", 5.0)) + 1.0
                    if welcome.get("auth_required"):
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
                        message = _decoder.decode(frame)
                        if self._take(message):
                            yield ("message", message)
            except InvalidURI as exc:
                raise ValueError(f"not a websocket URL: {self.url} ({exc})") from None
            except ConnectionClosed as exc:
                reason = f"closed {exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else str(exc)
            except (OSError, InvalidHandshake, TimeoutError, msgspec.DecodeError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.connected = False
            self._pending.clear()
            delay = min(self.max_backoff, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            yield ("status", f"disconnected ({reason}); retrying in {delay:.1f} s")
            await asyncio.sleep(delay)

    def _take(self, message: dict[str, Any]) -> bool:
        """Track positions; False for a signal already yielded."""
        kind = message.get("type")
        if kind in ("snapshot", "resumed"):
            channel = message["channel"]
            head = message["seq"] if kind == "snapshot" else message["to_seq"]
            if kind == "snapshot":
                self.positions.pop(channel, None)  # valid only once all of it is in
            if message["count"] == 0:
                self.positions[channel] = {"epoch": message["epoch"], "seq": head}
            else:
                self._pending[channel] = [kind, message["epoch"], head, message["count"]]
            return True
        if kind not in ("signal", "metrics"):
            return True
        channel = message["channel"]
        pending = self._pending.get(channel)
        if pending is None or pending[0] == "resumed":
            self.positions[channel] = {"epoch": message["epoch"], "seq": message["seq"]}
        if pending is not None:
            pending[3] -= 1
            if pending[3] == 0:
                self.positions[channel] = {"epoch": pending[1], "seq": pending[2]}
                del self._pending[channel]
        if kind == "signal":
            signal_id = message["data"]["id"]
            if signal_id in self._signal_ids:
                return False
            self._signal_ids[signal_id] = None
            if len(self._signal_ids) > self._remember_signals:
                self._signal_ids.popitem(last=False)
        return True
