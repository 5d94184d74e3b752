"""`rotation up --headless`: the whole system from one command, and nothing left after it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time

import psutil
from websockets.asyncio.client import connect

from streams.broker import free_port
from tests.helpers import assert_valid, wait_for_port


async def first_signal(url: str, timeout: float) -> dict:
    async with connect(url) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["signals", "metrics"]}))
        deadline = time.monotonic() + timeout
        kinds = set()
        while True:
            assert time.monotonic() < deadline, "no signal reached the websocket client"
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message["type"] in ("signal", "metrics"):
                assert_valid(f"ws.server.{message['type']}.json", message)
                kinds.add(message["type"])
            if kinds == {"signal", "metrics"}:
                return message


def test_up_headless_delivers_a_signal_then_stops_with_no_process_left(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "up",
            "--headless",
            "--duration",
            "60",
            "--gateway-port",
            str(port),
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for_port(port, timeout=60)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "tansu" in names and "worker" in names and "gateway" in names and "feed" in names
        signal = asyncio.run(first_signal(f"ws://127.0.0.1:{port}/ws", timeout=55))
        assert signal["data"]["subject"].startswith(("pair:", "group:"))
        assert proc.wait(timeout=90) == 0
    finally:
        proc.kill()
        reader.join(timeout=5)
    output = "".join(lines)
    assert re.search(r"worker ready in \d+\.\d+ s", output), output[-2000:]
    assert re.search(r"\[up\] first signal \d+\.\d+ s after start", output), output[-2000:]
    assert re.search(r"SIGNAL \w+ (pair|group):\S+ \w+ score=", output), output[-2000:]
    assert "Traceback" not in output
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left behind: {alive}"
    assert (tmp_path / "logs" / "worker.log").read_text()
