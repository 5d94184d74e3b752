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

from rotation.processes import STOP_GRACE_SECONDS
from tests.helpers import assert_valid, wait_gone, wait_until


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


DURATION = 60


def test_up_headless_delivers_a_signal_then_stops_with_no_process_left(tmp_path):
    """With ``--gateway-port 0`` the gateway takes a free port and ``up`` prints it; at
    ``--duration`` every process stops within the grace periods, however busy."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rotation.cli",
            "up",
            "--headless",
            "--duration",
            str(DURATION),
            "--gateway-port",
            "0",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    started = time.monotonic()
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        printed = wait_until(
            lambda: re.search(r"\[up\] gateway at ws://127\.0\.0\.1:(\d+)/ws\n", "".join(lines)),
            "`up` to print the gateway's address",
            120,
            log=tmp_path / "logs" / "gateway.log",
        )
        port = int(printed.group(1))
        assert port != 0
        descendants = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "tansu" in names and "worker" in names and "gateway" in names and "feed" in names
        signal = asyncio.run(first_signal(f"ws://127.0.0.1:{port}/ws", timeout=DURATION))
        assert signal["data"]["subject"].startswith(("pair:", "group:"))
        # The stop is bounded: the headless log ends at once, then each child has
        # STOP_GRACE_SECONDS and the broker 5 s before SIGKILL.
        bound = DURATION + STOP_GRACE_SECONDS + 5 + 30
        assert proc.wait(timeout=max(1.0, started + bound - time.monotonic())) == 0
    finally:
        proc.kill()
        reader.join(timeout=5)
    output = "".join(lines)
    assert re.search(r"worker ready in \d+\.\d+ s", output), output[-2000:]
    assert re.search(r"\[up\] first signal \d+\.\d+ s after start", output), output[-2000:]
    assert re.search(r"SIGNAL \w+ (pair|group):\S+ \w+ score=", output), output[-2000:]
    assert "Traceback" not in output
    wait_gone(descendants, timeout=30)
    assert (tmp_path / "logs" / "worker.log").read_text()
