"""A real ``rotation gateway`` process restarted under the Python client: the client's
user sees every signal exactly once, in order, and nothing else but a pause."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.client import GatewayClient
from gateway.messages import Resumed, Shutdown, SignalMessage
from rotation import processes
from streams.probe import free_port
from tests.helpers import wait_for_port
from tests.test_gateway_server import WAIT, kafka, make_signal, produce  # noqa: F401

TOKEN = "restart-token"


@contextlib.asynccontextmanager
async def gateway_process(
    bootstrap: str, port: int, log: Path, token: str = TOKEN
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """The gateway as a process, with ``token``; stopped with SIGTERM (1012, restarting).
    Waiting for it (its port, its exit) happens in a thread: the client in this event
    loop must go on answering, above all the close handshake of the gateway's shutdown."""
    with open(log, "ab") as out:
        proc = processes.spawn(
            processes.rotation_command("gateway", "--port", str(port), "--heartbeat-interval", "1"),
            env={"KAFKA_BOOTSTRAP": bootstrap, "ROTATION_GATEWAY_TOKEN": token},
            stdout=out,
            stderr=out,
        )
        try:
            await asyncio.to_thread(wait_for_port, port, log=log)
            yield proc
        finally:
            await asyncio.to_thread(processes.stop, proc)


async def test_python_client_resumes_across_a_gateway_restart(kafka, tmp_path):  # noqa: F811
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    events: list[tuple[str, Any]] = []
    signals: list[SignalMessage] = []
    arrived = asyncio.Condition()

    async def listen(client: GatewayClient) -> None:
        async for kind, payload in client.events():
            events.append((kind, payload))
            if kind in ("message", "catch_up") and isinstance(payload, SignalMessage):
                signals.append(payload)
            async with arrived:
                arrived.notify_all()

    async def until(predicate) -> None:
        async with asyncio.timeout(WAIT), arrived:
            await arrived.wait_for(predicate)

    await produce(kafka, [make_signal(i) for i in range(1, 4)])
    client = GatewayClient(url, ("signals",), token=TOKEN, header_auth=False, max_backoff=0.5)
    listener: asyncio.Task[None] | None = None
    try:
        async with gateway_process(kafka, port, tmp_path / "gateway-1.log"):
            listener = asyncio.create_task(listen(client))
            await until(lambda: len(signals) == 3)
            await produce(kafka, [make_signal(4)])
            await until(lambda: len(signals) == 4)
        # SIGTERM: the gateway said it is restarting and closed with 1012.
        await until(lambda: any(k == "status" and "1012" in p for k, p in events))
        notices = [p for k, p in events if k == "message" and isinstance(p, Shutdown)]
        assert notices and notices[0].code == 1012
        await produce(kafka, [make_signal(i) for i in (5, 5, 6)])  # 5 delivered twice by Kafka
        async with gateway_process(kafka, port, tmp_path / "gateway-2.log"):
            await until(lambda: len(signals) == 6)
            await produce(kafka, [make_signal(7)])
            await until(lambda: len(signals) == 7)
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    assert [s.data.id for s in signals] == [make_signal(i).id for i in range(1, 8)]
    assert [s.seq for s in signals] == list(range(1, 8))
    assert len({s.epoch for s in signals}) == 1
    resumed = [p for k, p in events if k == "message" and isinstance(p, Resumed)]
    assert [(r.from_seq, r.to_seq, r.count) for r in resumed] == [(5, 6, 2)]
    # The first snapshot (1-3) and the resume (5, 6) catch up; 4 and 7 flowed live.
    caught_up = [p.data.id for k, p in events if k == "catch_up"]
    assert caught_up == [make_signal(i).id for i in (1, 2, 3, 5, 6)]
    statuses = [p for k, p in events if k == "status"]
    assert any("resuming" in s for s in statuses)
