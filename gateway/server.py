"""The gateway process: a Kafka reader feeding a websocket server.

One aiokafka consumer (no consumer group: the gateway reads every partition from
the beginning, which rebuilds its history on restart) turns ``rotation.metrics`` and
``rotation.signals`` into data messages; each websocket client has a bounded queue
drained by its own writer task, so a slow client never delays the others: when its
queue is full it is told and closed with 1013 (try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import time

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from gateway.history import ChannelHistory
from gateway.messages import CHANNELS, PROTOCOL_VERSION, Error, Subscribe, Subscribed, Welcome
from gateway.requests import MAX_REQUEST_BYTES, parse_request
from streams.codec import decode_metrics, decode_signal
from streams.topics import METRICS, SIGNALS

log = logging.getLogger("rotation.gateway")
_encoder = msgspec.json.Encoder()

DEFAULT_PORT = 8765
CLIENT_QUEUE = 1024
CLOSE_TRY_AGAIN_LATER = 1013


class Client:
    """One websocket connection, its subscription and its outgoing queue."""

    def __init__(self, ws: ServerConnection, max_queue: int) -> None:
        self.ws = ws
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self.overflowed = False

    def offer(self, message: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            log.warning(
                "client %s fell %d messages behind: closing",
                self.ws.remote_address,
                self.queue.qsize(),
            )


class Gateway:
    def __init__(
        self,
        bootstrap: str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        max_queue: int = CLIENT_QUEUE,
    ) -> None:
        self.bootstrap = bootstrap
        self.host = host
        self.port = port
        self.max_queue = max_queue
        self.history = ChannelHistory()
        self.clients: set[Client] = set()
        self.kafka_ok = False
        self.sent = 0

    # Kafka side ---------------------------------------------------------------

    async def consume(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="rotation-gateway",
        )
        await consumer.start()
        try:
            parts = [
                TopicPartition(spec.name, p)
                for spec in (METRICS, SIGNALS)
                for p in range(spec.partitions)
            ]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            self.kafka_ok = True
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for tp, records in batches.items():
                    for record in records:
                        self.on_record(tp.topic, record.value)
        finally:
            self.kafka_ok = False
            await consumer.stop()

    def on_record(self, topic: str, value: bytes) -> None:
        try:
            if topic == SIGNALS.name:
                message = self.history.add_signal(decode_signal(value))
                channel = "signals"
            else:
                message = self.history.add_metrics(decode_metrics(value))
                channel = "metrics"
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("skipping an undecodable record on %s: %s", topic, exc)
            return
        if message is None:
            return
        for client in self.clients:
            if channel in client.channels:
                client.offer(message)

    # Websocket side -------------------------------------------------------------

    def http_route(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/ws":
            return None
        if request.path == "/healthz":
            status = http.HTTPStatus.OK if self.kafka_ok else http.HTTPStatus.SERVICE_UNAVAILABLE
            body = _encoder.encode({"kafka": self.kafka_ok, "clients": len(self.clients)})
            response = connection.respond(status, body.decode() + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found; websocket at /ws\n")

    async def handle(self, ws: ServerConnection) -> None:
        client = Client(ws, self.max_queue)
        writer = asyncio.create_task(self._write(client))
        self.clients.add(client)
        client.offer(
            _encoder.encode(Welcome(PROTOCOL_VERSION, time.time_ns() // 1000, list(CHANNELS)))
        )
        try:
            async for frame in ws:
                self.on_request(client, frame)
                if writer.done():
                    break
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await writer

    def on_request(self, client: Client, frame: str | bytes) -> None:
        request = parse_request(frame)
        if isinstance(request, Error):
            client.offer(_encoder.encode(request))
            return
        if isinstance(request, Subscribe):
            new = [c for c in request.channels if c not in client.channels]
            client.channels.update(request.channels)
            client.offer(_encoder.encode(Subscribed(sorted(client.channels), request.id)))
            # Snapshot and registration happen in one step of the event loop, so no
            # live message falls between them or arrives twice.
            for channel in new:
                for message in self.history.snapshot(channel):
                    client.offer(message)
        else:
            client.channels.difference_update(request.channels)
            client.offer(_encoder.encode(Subscribed(sorted(client.channels), request.id)))

    async def _write(self, client: Client) -> None:
        while True:
            if client.overflowed:
                with contextlib.suppress(ConnectionClosed):
                    await client.ws.send(
                        _encoder.encode(
                            Error(
                                "slow_client",
                                f"more than {self.max_queue} messages behind; closing",
                            )
                        ).decode()
                    )
                    await client.ws.close(CLOSE_TRY_AGAIN_LATER, "slow client")
                return
            message = await client.queue.get()
            await client.ws.send(message.decode())
            self.sent += 1

    async def serve(self, stop: asyncio.Future[None]) -> None:
        consumer = asyncio.create_task(self.consume())
        try:
            async with serve(
                self.handle,
                self.host,
                self.port,
                process_request=self.http_route,
                max_size=MAX_REQUEST_BYTES * 4,
                compression=None,
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                log.info("gateway listening on ws://%s:%d/ws", self.host, self.port)
                print(f"gateway listening on ws://{self.host}:{self.port}/ws", flush=True)
                done, _ = await asyncio.wait({consumer, stop}, return_when=asyncio.FIRST_COMPLETED)
                if consumer in done:
                    consumer.result()
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
