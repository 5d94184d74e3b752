"""The websocket shell every live provider runs in: connect, reconnect, detect gaps.

The provider modules are pure (``streams.feeds.protocol``); this is the I/O around
them. One connection at a time:

1. Connect (``open_timeout``); perform the provider's ``opened()`` events; pass every
   message to ``received()`` and perform the events: send, hand ticks to the Kafka
   producer, log control and status messages, stop on a :class:`Fatal` one.
2. The handshake (connect, authenticate, subscribe) must reach ``Subscribed`` within
   ``handshake_seconds``, or the connection counts as failed.
3. On any failure (refused, closed, timed out, stale) wait and connect again: full-
   jitter exponential backoff, the n-th consecutive retry after U(0, min(``backoff_max``,
   ``backoff_initial`` x 2^n)) seconds (Brooker, "Exponential Backoff And Jitter", AWS
   Architecture Blog, 2015), reset once a connection delivers ticks. Every connection
   runs the provider's whole handshake, so the subscription is restored.

Gaps are logged as warnings with their wall-clock window and counted, never hidden:

- *reconnect window*: from the moment a connection was lost to the moment the next one
  is subscribed. None of these providers replays what was missed.
- *silence*: no tick for ``gap_seconds`` while subscribed (logged once per silence;
  the end is logged too). After ``stale_seconds`` of silence the connection is assumed
  dead-but-open and replaced (None: never). Markets close, so silence outside trading
  hours is expected; the log says so.
- *sequence*: providers with sequence numbers report them as notices (see ``polygon``).

Websocket keepalive pings (``ping_interval``, ``ping_timeout``) detect a dead TCP
connection earlier than silence does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI, WebSocketException

from streams.feeds.errors import AuthenticationFailed, FeedError, ProviderRejected
from streams.feeds.producer import FLUSH_SECONDS, FrameProducer
from streams.feeds.protocol import (
    Event,
    Fatal,
    Notice,
    Provider,
    ProviderError,
    Send,
    Subscribed,
    Ticks,
    rejection,
)
from streams.kafka import KafkaSecurity
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.feeds")


@dataclass(frozen=True)
class Limits:
    """The shell's limits; every one a command-line flag of ``rotation feed <provider>``."""

    gap_seconds: float = 30.0
    stale_seconds: float | None = 300.0
    handshake_seconds: float = 15.0
    open_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    max_message_bytes: int = 16 * 1024 * 1024


class Backoff:
    """Full-jitter exponential backoff: the n-th delay (from 0) is U(0, min(cap, base x 2^n))."""

    def __init__(
        self, initial: float, cap: float, uniform: Callable[[float, float], float] = random.uniform
    ) -> None:
        self.initial, self.cap, self.attempt = initial, cap, 0
        self._uniform = uniform

    def next(self) -> float:
        ceiling = min(self.cap, self.initial * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return self._uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class StreamStats:
    """What happened on the stream, for the summary line and for tests."""

    connections: int = 0
    messages: int = 0
    ticks: int = 0
    rejected: int = 0
    provider_errors: int = 0
    gaps: int = 0
    last_tick_ts: int | None = None
    rejected_symbols: set[str] = field(default_factory=set)


class _Reconnect(Exception):
    """The current connection is to be replaced (the message says why)."""


def _clock(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _event_time(ts: int | None) -> str:
    if ts is None:
        return "none yet"
    return datetime.fromtimestamp(ts / 1e6, UTC).isoformat(timespec="seconds")


def redacted(url: str) -> str:
    """``url`` without its query string (some providers take keys there)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="...")) if parts.query else url


class Shell:
    """Runs one provider over websockets until stopped (see module docstring)."""

    def __init__(
        self,
        provider: Provider,
        on_ticks: Callable[[list[Tick]], None],
        limits: Limits | None = None,
    ) -> None:
        self.provider = provider
        self.on_ticks = on_ticks
        self.limits = limits = limits or Limits()
        self.stats = StreamStats()
        self.backoff = Backoff(limits.backoff_initial, limits.backoff_max)
        self.log = logging.getLogger(f"rotation.feeds.{provider.name}")
        self._down_since: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream and reconnect until ``stop`` is set; raise :class:`FeedError`
        for what reconnecting cannot fix."""
        url = redacted(self.provider.url)
        while not stop.is_set():
            session = asyncio.ensure_future(self._session())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not session.done():
                    session.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({session})
            if stop.is_set():
                if session.done() and not session.cancelled():
                    session.exception()  # stopping: how the last session ended does not matter
                break
            reason = _failure(session)
            if self._down_since is None:
                self._down_since = time.time()
            delay = self.backoff.next()
            self.log.warning(
                "%s; reconnecting to %s in %.2f s (retry %d)",
                reason,
                url,
                delay,
                self.backoff.attempt,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
        if self._down_since is not None:
            self.log.warning(
                "stopped while disconnected (since %s): no ticks from then on",
                _clock(self._down_since),
            )

    async def _session(self) -> None:
        limits, provider = self.limits, self.provider
        async with connect(
            provider.url,
            additional_headers=provider.headers() or None,
            open_timeout=limits.open_timeout,
            ping_interval=limits.ping_interval,
            ping_timeout=limits.ping_timeout,
            close_timeout=2,
            max_size=limits.max_message_bytes,
        ) as ws:
            self.stats.connections += 1
            self.log.info("connected to %s", redacted(provider.url))
            loop = asyncio.get_running_loop()
            opened = loop.time()
            state = _Connection(opened_at=opened, last_tick_at=opened)
            await self._perform(ws, provider.opened(), state)
            keepalive_at = (
                opened + provider.keepalive_seconds if provider.keepalive_seconds else None
            )
            while True:
                now = loop.time()
                deadlines = [self._silence_deadline(state, now)]
                if keepalive_at is not None:
                    deadlines.append(keepalive_at)
                try:
                    # Not wait_for: on Python 3.11 it drops a cancellation that arrives
                    # with a message (CPython gh-86296), and a busy stream then never stops.
                    async with asyncio.timeout(max(0.0, min(deadlines) - now)):
                        message = await ws.recv()
                except TimeoutError:
                    now = loop.time()
                    if keepalive_at is not None and now >= keepalive_at:
                        keepalive_at = now + (provider.keepalive_seconds or 0.0)
                        await self._perform(ws, provider.keepalive(), state)
                    self._check_silence(state, now)
                    continue
                self.stats.messages += 1
                await self._perform(ws, provider.received(message), state)
                self._check_silence(state, loop.time())

    def _silence_deadline(self, state: _Connection, now: float) -> float:
        limits = self.limits
        if not state.subscribed:
            return state.opened_at + limits.handshake_seconds
        if not state.in_gap:
            return state.last_tick_at + limits.gap_seconds
        if limits.stale_seconds is not None:
            return state.last_tick_at + limits.stale_seconds
        return now + 3600.0

    def _check_silence(self, state: _Connection, now: float) -> None:
        limits = self.limits
        if not state.subscribed:
            if now - state.opened_at >= limits.handshake_seconds:
                raise _Reconnect(
                    f"no subscription confirmed {limits.handshake_seconds:g} s after connecting"
                )
            return
        silent = now - state.last_tick_at
        if not state.in_gap and silent >= limits.gap_seconds:
            state.in_gap = True
            self.stats.gaps += 1
            self.log.warning(
                "gap: no ticks for %.0f s (since %s; last tick's event time %s); "
                "expected outside trading hours",
                silent,
                _clock(time.time() - silent),
                _event_time(self.stats.last_tick_ts),
            )
        if limits.stale_seconds is not None and silent >= limits.stale_seconds:
            raise _Reconnect(f"no ticks for {silent:.0f} s: replacing the connection")

    async def _perform(self, ws: ClientConnection, events: list[Event], state: _Connection) -> None:
        for event in events:
            if isinstance(event, Ticks):
                self._deliver(list(event.ticks), state)
            elif isinstance(event, Send):
                await ws.send(event.text)
                self.log.debug("sent %s", event.what)
            elif isinstance(event, Subscribed):
                self.log.info("subscribed: %s", event.detail)
                if not state.subscribed:
                    state.subscribed = True
                    state.last_tick_at = asyncio.get_running_loop().time()
                    self._end_reconnect_window()
            elif isinstance(event, Notice):
                self.log.log(event.level, "%s", event.text)
            elif isinstance(event, ProviderError):
                self.stats.provider_errors += 1
                self.log.error("the provider reported an error: %s", event.text)
            elif isinstance(event, Fatal):
                self.log.error("%s", event.text)
                raise (AuthenticationFailed if event.auth else ProviderRejected)(event.text)

    def _deliver(self, ticks: list[Tick], state: _Connection) -> None:
        good = []
        for tick in ticks:
            reason = rejection(tick)
            if reason is None:
                good.append(tick)
                continue
            self.stats.rejected += 1
            if tick.symbol not in self.stats.rejected_symbols:
                self.stats.rejected_symbols.add(tick.symbol)
                self.log.warning(
                    "skipped a tick the worker would reject (%s): %s; further rejected "
                    "ticks of this symbol are only counted",
                    reason,
                    tick,
                )
        if not good:
            return
        now = asyncio.get_running_loop().time()
        if state.in_gap:
            self.log.warning(
                "gap ended: ticks again after %.0f s without",
                now - state.last_tick_at,
            )
            state.in_gap = False
        if not state.delivered:
            state.delivered = True
            self.backoff.reset()
        state.last_tick_at = now
        self.stats.ticks += len(good)
        self.stats.last_tick_ts = max(self.stats.last_tick_ts or 0, max(t.ts for t in good))
        self.on_ticks(good)

    def _end_reconnect_window(self) -> None:
        if self._down_since is None:
            return
        now = time.time()
        self.stats.gaps += 1
        self.log.warning(
            "gap: the stream was down %.1f s, from %s to %s; ticks of that window are "
            "missing (the provider does not replay them); last tick's event time before it %s",
            now - self._down_since,
            _clock(self._down_since),
            _clock(now),
            _event_time(self.stats.last_tick_ts),
        )
        self._down_since = None


@dataclass
class _Connection:
    opened_at: float
    last_tick_at: float
    subscribed: bool = False
    delivered: bool = False
    in_gap: bool = False


def _failure(session: asyncio.Future[None]) -> str:
    """Why a session ended; re-raise what reconnecting cannot fix."""
    if session.cancelled():
        return "connection cancelled"
    exc = session.exception()
    if exc is None:
        return "connection ended"
    if isinstance(exc, FeedError):
        raise exc
    if isinstance(exc, InvalidStatus) and exc.response.status_code == 401:
        raise AuthenticationFailed(f"the server refused the connection: {exc}")
    if isinstance(exc, InvalidURI):
        raise ProviderRejected(f"bad websocket URL: {exc}")
    if isinstance(exc, _Reconnect):
        return str(exc)
    if isinstance(exc, (OSError, TimeoutError, InvalidHandshake, WebSocketException, EOFError)):
        return f"connection lost or refused ({type(exc).__name__}: {exc or 'no detail'})"
    raise exc


# Provider + shell + Kafka.


@dataclass
class FeedResult:
    stats: StreamStats
    ticks_sent: int
    frames_sent: int


async def run_live(
    provider: Provider,
    bootstrap: str,
    stop: asyncio.Event,
    *,
    limits: Limits | None = None,
    max_ticks: int = 2000,
    duration: float | None = None,
    topic: TopicSpec = DEFAULT_TOPICS.ticks,
    security: KafkaSecurity | None = None,
    flush_seconds: float = FLUSH_SECONDS,
    compression: str | None = None,
) -> FeedResult:
    """Stream ``provider`` into ``quotes.ticks`` until ``stop`` is set or ``duration``
    seconds passed; every tick received is written before this returns."""
    producer = FrameProducer(
        bootstrap,
        max_ticks=max_ticks,
        topic=topic,
        security=security,
        flush_seconds=flush_seconds,
        compression=compression,
    )
    await producer.start()
    shell = Shell(provider, producer.add, limits)
    streaming = asyncio.ensure_future(shell.run(stop))
    flushing = asyncio.ensure_future(producer.run())
    try:
        await asyncio.wait(
            {streaming, flushing}, timeout=duration, return_when=asyncio.FIRST_COMPLETED
        )
        stop.set()
        await asyncio.wait({streaming})
        for task in (streaming, flushing):
            if task.done() and not task.cancelled() and (failure := task.exception()):
                raise failure
    finally:
        stop.set()
        for task in (streaming, flushing):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(streaming, flushing, return_exceptions=True)
        await producer.stop()
    return FeedResult(shell.stats, producer.ticks_sent, producer.frames_sent)
