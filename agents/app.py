"""The Faust application: broker settings tuned for fast group joins, and our agents.

Values on the wire are raw bytes (``value_serializer="raw"``): the agents decode them
with msgspec themselves, so undecodable bytes reach the dead-letter topic instead of
being dropped by a codec error inside Faust.
"""

from __future__ import annotations

import time

import faust

from streams.broker_watch import BrokerWatch
from streams.config import Universe
from streams.settings import Settings, faust_broker_credentials
from streams.topics import BARS, DEADLETTER, METRICS, SIGNALS, TICKS


def create_app(settings: Settings, universe: Universe, started: float | None = None) -> faust.App:
    """Build the Faust app with every agent registered."""
    from agents import bar_agent, rotation_agent  # agents import this module's helpers

    started = time.monotonic() if started is None else started
    app = faust.App(
        settings.app_id,
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
        producer_linger=0.005,
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
        for spec in (TICKS, BARS, METRICS, SIGNALS, DEADLETTER)
    }
    bar_agent.register(app, universe, topics, settings.bootstrap)
    rotation_agent.register(app, universe, topics, settings.bootstrap)

    ready = {"done": False}

    @app.on_rebalance_complete.connect
    async def _report_ready(sender: faust.App, **kwargs: object) -> None:
        if not ready["done"]:
            ready["done"] = True
            print(f"worker ready in {time.monotonic() - started:.2f} s", flush=True)

    @app.task
    async def _watch_broker() -> None:
        await BrokerWatch(settings.bootstrap, "worker").run()

    return app
