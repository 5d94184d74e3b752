"""The gateway process: the Kafka reader, the websocket server and HTTP on one port.

``/ws`` is the websocket protocol of :mod:`gateway.messages` (one
:class:`gateway.session.Session` per connection); ``/healthz`` and ``/metrics``
(Prometheus text) answer plain HTTP on the same port, and so does the browser
dashboard at ``/`` (:mod:`gateway.static`) unless the settings turn it off.

Fan-out: each message is encoded once, as JSON; for each subscriber whose filter
keeps it, the message is handed to the connection's protocol and written at once, as
``websockets.asyncio.connection.broadcast`` does (``protocol.send_text`` then
``send_data``: websockets builds each frame; permessage-deflate stays off, it would
cost about 64 KiB per connection),
while the connection's write buffer holds less than ``write_limit`` bytes (a
:class:`gateway.settings.GatewaySettings` field); otherwise it waits in the client's
bounded :class:`gateway.outbox.Outbox`, drained with ``await send()`` by a task of
that client only. A client whose outbox is full is sent ``slow_client`` and closed
with 1013; nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import time
from collections import Counter
from typing import Any

import msgspec
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from gateway.history import History
from gateway.kafka_reader import KafkaReader
from gateway.messages import (
    CLOSE_GOING_AWAY,
    CLOSE_SERVICE_RESTART,
    CLOSE_TRY_AGAIN_LATER,
    Error,
    Heartbeat,
    Shutdown,
)
from gateway.origins import origin_allowed
from gateway.outbox import Outbox
from gateway.session import Session, bearer_token_ok
from gateway.settings import GatewaySettings
from gateway.static import Dashboard
from gateway.stats import CONTENT_TYPE, Stats
from gateway.subscriptions import Entry, Matcher
from streams.kafka import KafkaSecurity
from streams.probe import api_versions_probe
from streams.topics import DEFAULT_TOPICS, Topics

log = logging.getLogger("rotation.gateway")
_encoder = msgspec.json.Encoder()

HEALTH_PROBE_INTERVAL = 2.0


class Client:
    """One websocket connection: its session, its outbox and its drain task."""

    __slots__ = ("address", "closing", "drainer", "outbox", "session", "ws")

    def __init__(self, ws: ServerConnection, session: Session, max_queue: int) -> None:
        self.ws = ws
        self.session = session
        self.outbox = Outbox(max_queue)
        self.address = ws.remote_address[0] if ws.remote_address else "?"
        self.closing = False
        self.drainer: asyncio.Task[None] | None = None


class Gateway:
    def __init__(
        self,
        bootstrap: str,
        settings: GatewaySettings | None = None,
        *,
        topics: Topics = DEFAULT_TOPICS,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.settings = settings or GatewaySettings()
        s = self.settings
        self.bootstrap = bootstrap
        self.port = s.port
        self.stats = Stats()
        self.history = History(
            keep_signals=s.keep_signals,
            keep_metrics=s.keep_metrics,
            keep_subject=s.keep_subject,
            snapshot_signals=s.snapshot_signals,
        )
        self.reader = KafkaReader(
            bootstrap,
            self.history,
            self.stats,
            self.publish,
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            signals=topics.signals,
            metrics=topics.metrics,
            security=security,
        )
        self.dashboard = Dashboard.load() if s.dashboard else None
        self.clients: set[Client] = set()
        self.per_address: Counter[str] = Counter()
        self.subscribers: dict[str, dict[Client, Matcher | None]] = {}
        self.broker_reachable: bool | None = None
        self.accepting = True
        self.heartbeats = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # Fan-out --------------------------------------------------------------------------

    def publish(self, published: list[tuple[str, Entry]]) -> None:
        """Deliver new messages to every subscriber whose filter keeps them."""
        for channel, entry in published:
            subscribers = self.subscribers.get(channel)
            if not subscribers:
                continue
            key = (channel, entry.subject) if channel.startswith("metrics") else None
            for client, matcher in list(subscribers.items()):
                if matcher is None or matcher(entry):
                    self.deliver(client, entry.payload, key, entry.seq)

    def send(self, client: Client, payload: bytes) -> None:
        """Deliver one message made for this client alone (an answer, a notice)."""
        self.deliver(client, payload)

    def deliver(
        self, client: Client, payload: bytes, key: tuple[str, str] | None = None, seq: int = 0
    ) -> None:
        """Write ``payload`` (JSON) now if the connection takes it, else queue it
        (``key``: conflate with a waiting message of the same channel and subject)."""
        if client.closing:
            return
        ws = client.ws
        if (
            client.drainer is None
            and ws.protocol.state is State.OPEN
            and ws.send_in_progress is None  # no fragmented message is under way
            and ws.transport.get_write_buffer_size() < self.settings.write_limit
        ):
            try:
                ws.protocol.send_text(payload)
                ws.send_data()
            except Exception as exc:  # the connection broke; its handler cleans up
                log.debug("write to %s failed: %s", client.address, exc)
                client.closing = True
                return
            self._count_sent(payload)
            return
        if not client.outbox.push(payload, key, seq):
            self._close_slow(client)
        elif client.drainer is None:
            client.drainer = asyncio.create_task(self._drain(client))

    def _count_sent(self, payload: bytes) -> None:
        self.stats.messages_sent += 1
        self.stats.bytes_sent += frame_size(len(payload))

    async def _drain(self, client: Client) -> None:
        try:
            while len(client.outbox) and not client.closing:
                for payload in client.outbox.pop():
                    # send() waits while the connection's write buffer is full.
                    await client.ws.send(payload, text=True)
                    self._count_sent(payload)
        except ConnectionClosed:
            client.closing = True
        finally:
            self.stats.conflated += client.outbox.conflated
            client.outbox.conflated = 0
            client.drainer = None

    def _close_slow(self, client: Client) -> None:
        client.closing = True
        self.stats.slow_client_closes += 1
        log.warning(
            "client %s fell %d messages behind: closing", client.address, len(client.outbox)
        )
        error = Error(
            "slow_client",
            f"more than {client.outbox.max_queue} messages waited for this connection; "
            "reconnect and resume with since",
        )
        self.stats.errors["slow_client"] += 1
        self._spawn(
            self._close(client, [_encoder.encode(error)], CLOSE_TRY_AGAIN_LATER, "slow client")
        )

    async def _close(self, client: Client, last: list[bytes], code: int, reason: str) -> None:
        """Write ``last`` after whatever is already buffered, then close with ``code``."""
        client.closing = True
        client.outbox.clear()
        if client.drainer is not None:
            client.drainer.cancel()
        ws = client.ws
        with contextlib.suppress(Exception):
            for payload in last:
                if ws.protocol.state is State.OPEN:
                    ws.protocol.send_text(payload)
                    ws.send_data()
        with contextlib.suppress(Exception):
            await ws.close(code, reason)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Connections ----------------------------------------------------------------------

    def http_route(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if path == "/ws":
            return self._admit(connection, request)
        if path == "/healthz":
            status, body = self.health()
            response = connection.respond(status, _encoder.encode(body).decode() + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        if path == "/metrics":
            response = connection.respond(http.HTTPStatus.OK, self.prometheus())
            response.headers["Content-Type"] = CONTENT_TYPE
            return response
        if self.dashboard is not None and (answer := self.dashboard.answer(request)):
            return answer
        where = "the dashboard at /, " if self.dashboard is not None else ""
        return connection.respond(
            http.HTTPStatus.NOT_FOUND,
            f"not found; {where}websocket at /ws, also /healthz and /metrics\n",
        )

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        s = self.settings
        address = connection.remote_address[0] if connection.remote_address else "?"
        refusal: tuple[http.HTTPStatus, str, str] | None = None
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.headers.get("Host"), s.allowed_origins):
            refusal = (
                http.HTTPStatus.FORBIDDEN,
                "origin",
                f"pages of {origin} may not open this websocket (see allowed_origins)\n",
            )
        elif not self.accepting:
            refusal = (http.HTTPStatus.SERVICE_UNAVAILABLE, "shutting_down", "shutting down\n")
        elif len(self.clients) >= s.max_connections:
            refusal = (
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                "max_connections",
                f"the gateway serves at most {s.max_connections} connections\n",
            )
        elif s.max_connections_per_address and (
            self.per_address[address] >= s.max_connections_per_address
        ):
            refusal = (
                http.HTTPStatus.TOO_MANY_REQUESTS,
                "per_address",
                f"at most {s.max_connections_per_address} connections per address\n",
            )
        elif s.token is not None:
            header = request.headers.get("Authorization")
            if header is not None and not bearer_token_ok(header, s.token):
                refusal = (http.HTTPStatus.UNAUTHORIZED, "unauthorized", "invalid bearer token\n")
        if refusal is None:
            return None
        status, reason, text = refusal
        self.stats.connections_rejected[reason] += 1
        response = connection.respond(status, text)
        if status == http.HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Bearer realm="rotation"'
        return response

    async def handle(self, ws: ServerConnection) -> None:
        s = self.settings
        header_ok = s.token is not None and bearer_token_ok(
            ws.request.headers.get("Authorization") if ws.request else None, s.token
        )
        session = Session(self.history, s, authenticated=header_ok, errors=self.stats.errors)
        client = Client(ws, session, s.max_queue)
        self.clients.add(client)
        self.per_address[client.address] += 1
        self.stats.connections_accepted += 1
        try:
            limit = s.max_connections_per_address
            if limit and self.per_address[client.address] > limit:
                error = Error("too_many_connections", f"at most {limit} connections per address")
                self.stats.errors["too_many_connections"] += 1
                await self._close(client, [_encoder.encode(error)], CLOSE_TRY_AGAIN_LATER, "limit")
                return
            self.send(client, session.welcome(_now_us()))
            await self.reader.caught_up.wait()
            await self._converse(client)
        except ConnectionClosed:
            pass
        finally:
            self._forget(client)

    async def _converse(self, client: Client) -> None:
        session, ws = client.session, client.ws
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.auth_timeout
        while not client.closing:
            try:
                if session.authenticated:
                    frame = await ws.recv()
                else:
                    async with asyncio.timeout_at(deadline):
                        frame = await ws.recv()
            except TimeoutError:
                outcome = session.auth_timed_out()
            else:
                before = set(session.subscriptions.channels)
                outcome = session.receive(frame, time.monotonic(), _now_us())
                self._route(client, before)
            if outcome.close is not None:
                code, reason = outcome.close
                await self._close(client, outcome.messages, code, reason)
                return
            for payload in outcome.messages:
                self.send(client, payload)

    def _route(self, client: Client, before: set[str]) -> None:
        now = client.session.subscriptions.channels
        for channel in before - now.keys():
            subscribers = self.subscribers.get(channel)
            if subscribers is not None:
                subscribers.pop(client, None)
                if not subscribers:
                    del self.subscribers[channel]
        for channel, matcher in now.items():
            self.subscribers.setdefault(channel, {})[client] = matcher

    def _forget(self, client: Client) -> None:
        client.closing = True
        if client.drainer is not None:
            client.drainer.cancel()
        for channel in list(client.session.subscriptions.channels):
            subscribers = self.subscribers.get(channel)
            if subscribers is not None:
                subscribers.pop(client, None)
                if not subscribers:
                    del self.subscribers[channel]
        self.clients.discard(client)
        self.per_address[client.address] -= 1
        if self.per_address[client.address] <= 0:
            del self.per_address[client.address]

    # Periodic work --------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            self.heartbeats += 1
            payload = _encoder.encode(Heartbeat(self.heartbeats, _now_us()))
            for client in list(self.clients):
                if client.session.authenticated:
                    self.deliver(client, payload)

    async def _probe_broker(self) -> None:
        while True:
            try:
                await asyncio.to_thread(api_versions_probe, self.bootstrap, 1.0)
                self.broker_reachable = True
            except OSError as exc:
                if self.broker_reachable is not False:
                    log.warning("Kafka broker %s unreachable: %s", self.bootstrap, exc)
                self.broker_reachable = False
            await asyncio.sleep(HEALTH_PROBE_INTERVAL)

    # Health and metrics ---------------------------------------------------------------

    def health(self) -> tuple[http.HTTPStatus, dict]:
        kafka = bool(self.reader.running and self.broker_reachable is not False)
        caught_up = self.reader.caught_up.is_set()
        lag = {f"{tp.topic}[{tp.partition}]": n for tp, n in self.reader.lag().items()}
        last = self.reader.last_record_at
        status = "ok" if kafka and caught_up else "catching_up" if kafka else "kafka_unreachable"
        body = {
            "status": status,
            "kafka": kafka,
            "caught_up": caught_up,
            "lag_records": sum(lag.values()),
            "lag": lag,
            "last_record_age_s": None if last is None else round(time.time() - last, 3),
            "clients": len(self.clients),
            "channels": {
                family: msgspec.to_builtins(self.history.head(family))
                for family in ("signals", "metrics")
            },
        }
        code = http.HTTPStatus.OK if status == "ok" else http.HTTPStatus.SERVICE_UNAVAILABLE
        return code, body

    def prometheus(self) -> str:
        lag = [
            ({"topic": tp.topic, "partition": str(tp.partition)}, float(n))
            for tp, n in self.reader.lag().items()
        ]
        last = self.reader.last_record_at
        queued = sum(len(c.outbox) for c in self.clients)
        gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]] = {
            "connections": ("Open websocket connections.", [({}, len(self.clients))]),
            "subscriptions": (
                "Channel subscriptions over all connections.",
                [({}, sum(len(s) for s in self.subscribers.values()))],
            ),
            "queued_messages": ("Messages waiting in client outboxes.", [({}, queued)]),
            "kafka_lag_records": ("Records behind the high watermark.", lag),
            "kafka_reachable": (
                "1 when the last broker probe answered.",
                [({}, 1.0 if self.broker_reachable else 0.0)],
            ),
            "caught_up": (
                "1 once the history is rebuilt from Kafka.",
                [({}, 1.0 if self.reader.caught_up.is_set() else 0.0)],
            ),
            "last_record_age_seconds": (
                "Seconds since the last Kafka record was read.",
                [({}, time.time() - last)] if last is not None else [],
            ),
            "channel_seq": (
                "Head seq of each family channel.",
                [({"channel": f}, self.history.head(f).seq) for f in ("signals", "metrics")],
            ),
            "duplicates_dropped": (
                "Kafka copies dropped (signal id or metrics subject and ts seen).",
                [({"channel": f}, n) for f, n in self.history.duplicates.items()],
            ),
        }
        return self.stats.render(gauges)

    @property
    def dashboard_url(self) -> str:
        host = self.settings.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    # Lifecycle ------------------------------------------------------------------------

    async def serve(self, stop: asyncio.Future[int | None]) -> None:
        """Serve until ``stop`` resolves (to the close code for the clients: 1012
        restarting, the default, or 1001 going away) or the Kafka reader fails."""
        s = self.settings
        reader = asyncio.create_task(self.reader.run())
        background = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._probe_broker()),
        ]
        try:
            async with serve(
                self.handle,
                s.host,
                s.port,
                process_request=self.http_route,
                max_size=s.max_frame_bytes,
                compression=None,
                ping_interval=s.ping_interval,
                ping_timeout=s.ping_timeout,
                write_limit=s.write_limit,
                close_timeout=s.shutdown_timeout,
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                log.info("gateway listening on ws://%s:%d/ws", s.host, self.port)
                print(f"gateway listening on ws://{s.host}:{self.port}/ws", flush=True)
                if self.dashboard is not None:
                    print(f"dashboard at {self.dashboard_url}", flush=True)
                either: set[asyncio.Future[Any]] = {reader, stop}
                done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    reader.result()
                    return
                await self.shutdown(stop.result() or CLOSE_SERVICE_RESTART)
        finally:
            for task in (reader, *background):
                task.cancel()
            for task in (reader, *background):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def shutdown(self, code: int = CLOSE_SERVICE_RESTART) -> None:
        """Tell every client, then close them all with ``code`` (1001 or 1012)."""
        self.accepting = False
        what = (
            "restarting: reconnect and resume with since"
            if code != CLOSE_GOING_AWAY
            else ("going away")
        )
        notice = _encoder.encode(Shutdown(code, f"gateway {what}"))  # type: ignore[arg-type]  # code is 1001 or 1012 (the two callers)
        closing = [self._close(c, [notice], code, what[:100]) for c in list(self.clients)]
        if closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.shutdown_timeout):
                    await asyncio.gather(*closing)
        log.info("gateway stopped: %d clients told (%d)", len(closing), code)


def frame_size(payload_length: int) -> int:
    """Bytes of an unmasked, uncompressed server frame of ``payload_length`` bytes: a 2-byte
    header, plus a 16- or 64-bit extended length (RFC 6455, section 5.2)."""
    if payload_length < 126:
        return 2 + payload_length
    return (4 if payload_length < 1 << 16 else 10) + payload_length


def _now_us() -> int:
    return time.time_ns() // 1000
