"""`rotation up` warns once when the embedded broker passes its envelope (memory or CPU).

Against the real embedded broker: its RSS and CPU are read from /proc, and low thresholds
make the warning come at once; `rotation up --headless` prints it once and writes it to
its log folder. Bad threshold values stop `up` with a one-line error.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from rotation.broker import embedded_broker
from rotation.broker_envelope import (
    EnvelopeWatch,
    Thresholds,
    cpu_seconds,
    rss_mb,
)
from streams.probe import api_versions_probe
from tests.helpers import wait_until

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")


def test_the_broker_process_is_measured_from_proc():
    with embedded_broker() as (_bootstrap, proc):
        rss, cpu = rss_mb(proc.pid), cpu_seconds(proc.pid)
        assert rss is not None and 1 < rss < 10_000
        assert cpu is not None and cpu >= 0
    assert rss_mb(proc.pid) is None  # gone: unreadable, not an error


def test_memory_past_the_threshold_warns_once():
    with embedded_broker() as (_bootstrap, proc):
        quiet = EnvelopeWatch(proc.pid, Thresholds(rss_mb=100_000, cpu_cores=64), print)
        assert quiet.check() is None
        watch = EnvelopeWatch(proc.pid, Thresholds(rss_mb=1, cpu_cores=64), print)
        message = watch.check()
        assert message is not None
        assert re.search(r"the embedded broker holds \d+ MB \(threshold 1 MB\)", message)
        assert "docker-compose.yml" in message and "KAFKA_BOOTSTRAP" in message
        assert watch.check() is None  # once


def test_cpu_past_the_threshold_warns():
    with embedded_broker() as (bootstrap, proc):
        watch = EnvelopeWatch(
            proc.pid, Thresholds(rss_mb=100_000, cpu_cores=0.0001), print, window=0.4
        )

        def busy_broker_seen() -> str | None:
            for _ in range(50):  # requests cost the broker CPU
                api_versions_probe(bootstrap)
            return watch.check()

        message = wait_until(busy_broker_seen, "the broker's CPU to pass the threshold", 60)
        assert re.search(r"uses \d+\.\d\d of a core \(threshold 0.0001\)", message)


def _up(tmp_path, env: dict[str, str]) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "rotation.cli", "up", "--headless", "--duration", "120"),
            *("--gateway-port", "0", "--log-dir", str(tmp_path / "logs")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**clean, "PYTHONUNBUFFERED": "1", **env},
    )


def test_up_warns_once_when_the_embedded_broker_passes_the_threshold(tmp_path):
    proc = _up(tmp_path, {"ROTATION_BROKER_WARN_RSS_MB": "1"})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: any("[up] first metrics" in line for line in lines),
            "`up` to deliver its first metrics",
            120,
            log=tmp_path / "logs" / "worker.log",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        reader.join(timeout=5)
    warnings = [line for line in lines if "warning: the embedded broker" in line]
    assert len(warnings) == 1, "".join(lines)[-3000:]
    assert warnings[0].startswith("[up] warning: the embedded broker holds")
    assert "docker-compose.yml" in warnings[0] and "KAFKA_BOOTSTRAP" in warnings[0]
    logged = (tmp_path / "logs" / "broker-envelope.log").read_text()
    assert logged.strip() == warnings[0].removeprefix("[up] ").strip()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROTATION_BROKER_WARN_RSS_MB": "lots"}, "ROTATION_BROKER_WARN_RSS_MB='lots': expected"),
        ({"ROTATION_BROKER_WARN_CPU": "0"}, "ROTATION_BROKER_WARN_CPU='0': must be > 0"),
    ],
)
def test_a_bad_threshold_is_a_one_line_error(tmp_path, env, message):
    started = time.monotonic()
    proc = _up(tmp_path, env)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"rotation up: error: {message}" in output
    assert "Traceback" not in output
    assert time.monotonic() - started < 60


def test_a_raised_fetch_wait_reported_by_a_process_warns_once():
    from rotation.up import _FETCH_WAIT_RAISED

    lines = [
        "[2026-12-05 12:12:00,517] [25853] [WARNING] worker consumer: fetch wait raised from "
        "10 to 20 ms: rotation.bars[0] is 100 records behind and the broker answered no fetch",
        "2026-12-05 12:13:12,630 WARNING rotation.kafka: gateway consumer: fetch wait raised "
        "from 20 to 40 ms: rotation.metrics[0] is 125 records behind and the broker answered",
    ]
    found = [m.group(0) for line in lines if (m := _FETCH_WAIT_RAISED.search(line))]
    assert found == [
        "worker consumer: fetch wait raised from 10 to 20 ms",
        "gateway consumer: fetch wait raised from 20 to 40 ms",
    ]
    said: list[str] = []
    with embedded_broker() as (_bootstrap, proc):
        watch = EnvelopeWatch(proc.pid, Thresholds(rss_mb=100_000, cpu_cores=64), said.append)
        assert watch.note(found[0]) is not None
        assert watch.note(found[1]) is None and watch.check() is None
    assert len(said) == 1
    assert said[0].startswith(
        "warning: the embedded broker could not answer a fetch within its wait "
        "(worker consumer: fetch wait raised from 10 to 20 ms) after 0.0 min"
    )
    assert "docker-compose.yml" in said[0] and "KAFKA_BOOTSTRAP" in said[0]
