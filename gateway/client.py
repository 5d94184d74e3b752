"""A Python client of the gateway that reconnects by itself (used by the monitor).

``GatewayClient.events()`` yields ``("status", text)`` when the connection state
changes and ``("message", dict)`` for every server message; when the connection
drops it waits with jittered exponential backoff and subscribes again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

_decoder = msgspec.json.Decoder()

Event = tuple[str, Any]


class GatewayClient:
    def __init__(
        self,
        url: str,
        channels: tuple[str, ...] = ("signals", "metrics"),
        *,
        max_backoff: float = 5.0,
        open_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.channels = channels
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.connected = False

    async def events(self) -> AsyncIterator[Event]:
        attempt = 0
        while True:
            try:
                async with connect(
                    self.url, open_timeout=self.open_timeout, compression=None, max_size=2**24
                ) as ws:
                    await ws.send(
                        msgspec.json.encode({"op": "subscribe", "channels": list(self.channels)})
                    )
                    self.connected = True
                    attempt = 0
                    yield ("status", f"connected to {self.url}")
                    async for frame in ws:
                        yield ("message", _decoder.decode(frame))
                reason = "gateway closed the connection"
            except InvalidURI as exc:
                raise ValueError(f"not a websocket URL: {self.url} ({exc})") from None
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.connected = False
            delay = min(self.max_backoff, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            yield ("status", f"disconnected ({reason}); retrying in {delay:.1f} s")
            await asyncio.sleep(delay)
