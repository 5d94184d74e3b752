"""The broker unreachable for a while, then back: feed, worker and gateway reconnect by
themselves, say so in their logs, and the data flows again; nothing crashes."""

from __future__ import annotations

import asyncio
import json
import time

from websockets.asyncio.client import connect

from rotation.broker import embedded_broker
from rotation.up import Child
from streams.admin import ensure_topics
from streams.probe import free_port
from tests.helpers import log_contains, wait_for_port, wait_until
from tests.tcp_proxy import Proxy

OUTAGE_S = 8.0


async def metrics_times(
    url: str, count: int, timeout: float = 120.0, newer_than: int | None = None
) -> list[int]:
    """Event times of ``count`` live metrics messages (after the snapshot), or with
    ``newer_than``, of those up to the first one later than it (a bar of the shipped
    universe publishes dozens of metrics messages with one event time)."""
    stamps: list[int] = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["metrics"]}))
        deadline = time.monotonic() + timeout
        while len(stamps) < count or (newer_than is not None and max(stamps) <= newer_than):
            assert time.monotonic() < deadline, f"only {len(stamps)} metrics arrived"
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message.get("type") == "metrics":
                stamps.append(message["data"]["ts"])
    return stamps


def test_everything_reconnects_after_a_broker_outage(tmp_path):
    proxy_port = free_port()
    with embedded_broker(log_path=tmp_path / "broker.log", advertised_port=proxy_port) as (
        direct,
        _,
    ):
        target = int(direct.rsplit(":", 1)[1])
        with Proxy(target, proxy_port) as proxy:
            bootstrap = f"127.0.0.1:{proxy_port}"
            asyncio.run(ensure_topics(bootstrap))
            env = {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
            started = time.monotonic()
            port = free_port()
            children = [
                Child("gateway", ["gateway", "--port", str(port)], env, tmp_path, None, started),
                Child("worker", ["worker"], env, tmp_path, None, started),
                Child("feed", ["feed", "sim", "--speed", "6000"], env, tmp_path, None, started),
            ]
            try:
                wait_for_port(port, log=children[0].log_path)
                url = f"ws://127.0.0.1:{port}/ws"
                before = asyncio.run(metrics_times(url, 5))
                proxy.cut()
                cut_at = time.monotonic()
                # The outage lasts OUTAGE_S, and at least until every process noticed it.
                wait_until(
                    lambda: all(log_contains(c.log_path, "unreachable") for c in children),
                    "every process to log that the broker is unreachable",
                    120,
                    log=children[1].log_path,
                )
                while time.monotonic() - cut_at < OUTAGE_S:
                    assert all(c.failed() is None for c in children), [c.failed() for c in children]
                    time.sleep(0.2)
                proxy.restore()
                after = asyncio.run(metrics_times(url, 30, newer_than=max(before)))
                assert max(after) > max(before)  # event time moves on after the outage
                # The broker watch probes every 2 s: wait for its "back" line.
                wait_until(
                    lambda: all(
                        log_contains(tmp_path / f"{n}.log", "reachable again")
                        for n in ("feed", "worker")
                    ),
                    "the feed and the worker to log that the broker is back",
                    60,
                    log=tmp_path / "worker.log",
                )
                assert all(c.failed() is None for c in children), [c.failed() for c in children]
            finally:
                for child in reversed(children):
                    child.stop()
    for name in ("feed", "worker", "gateway"):
        log = (tmp_path / f"{name}.log").read_text()
        assert "Traceback" not in log, f"{name}: {log[-2000:]}"
        assert "unreachable" in log, name
    for name in ("feed", "worker"):
        assert "reachable again" in (tmp_path / f"{name}.log").read_text(), name
