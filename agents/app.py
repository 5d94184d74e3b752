"""The Faust application: broker settings tuned for fast group joins, and our agents.

Values on the wire are raw bytes (``value_serializer="raw"``): the agents decode them
with msgspec themselves, so undecodable bytes reach the dead-letter topic instead of
being dropped by a codec error inside Faust.
"""

from __future__ import annotations

import time

import faust

from agents import bar_agent, rotation_agent
from agents.analytics.universe import Universe
from agents.kafka_transport import App
from agents.snapshot_store import SnapshotStore
from streams.broker_watch import BrokerWatch
from streams.kafka import Settings, faust_broker_credentials

# One interval's metrics (38 snapshots of ~0.7 kB with the shipped universe) or a bar
# frame of a partition fit in one batch; aiokafka's 16 kB default split them. Below
# Faust's producer_max_request_size (1,000,000 bytes), which bounds a request.
PRODUCER_BATCH_BYTES = 512 * 1024


def create_app(settings: Settings, universe: Universe, started: float | None = None) -> faust.App:
    """Build the Faust app with every agent registered."""
    started = time.monotonic() if started is None else started
    app = App(
        settings.app_id,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        broker=[f"kafka://{host}" for host in settings.bootstrap.split(",")],
        broker_credentials=faust_broker_credentials(settings.security),
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
        broker_commit_interval=settings.commit_interval,
        broker_rebalance_timeout=max(settings.session_timeout * 2, 4.0),
        topic_allow_declare=True,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # Few, large batches: the broker keeps every batch, and its cost grows with them.
        producer_linger=settings.producer_linger_ms / 1000,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        producer_compression_type=settings.worker_compression_type,
        # Frames hold thousands of ticks: a short buffer bounds memory under a backlog.
        stream_buffer_maxsize=64,
    )
    topics = {
        spec.name: app.topic(
            spec.name,
            partitions=spec.partitions,
            value_type=bytes,
            key_type=bytes,
            internal=False,
        )
        for spec in universe.topics
    }
    store = SnapshotStore(
        settings.kafka_kwargs(),
        settings.app_id,
        universe.topics.ticks.partitions,
        universe.snapshots.local_dir,
    )
    closing = [
        bar_agent.register(app, universe, topics, settings, store),
        rotation_agent.register(app, universe, topics, settings, store),
    ]

    @app.on_before_shutdown.connect
    async def _close_snapshots(sender: faust.App, **kwargs: object) -> None:
        for snapshots in closing:
            await snapshots.close()

    ready = {"done": False}

    @app.on_rebalance_complete.connect
    async def _report_ready(sender: faust.App, **kwargs: object) -> None:
        if not ready["done"]:
            ready["done"] = True
            print(f"worker ready in {time.monotonic() - started:.2f} s", flush=True)

    @app.task
    async def _watch_broker() -> None:
        await BrokerWatch(settings.bootstrap, "worker", settings.security).run()

    return app
