"""The fetch wait and producer batching are settings that reach the real clients.

The worker's consumer is built by Faust's own code path (the app's transport, its
consumer, its consumer thread) and started against the session's embedded broker; what
is checked is the started aiokafka consumer's fetcher, the object that puts the wait
into every Fetch request. Bad values are one-line errors naming the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agents.app import create_app
from rotation.config import load_universe
from rotation.environment import settings_from_env
from streams.kafka import SettingsError


def _worker_consumer(app):
    """The aiokafka consumer Faust's consumer thread builds for the worker."""
    thread = app.consumer._new_consumer_thread()
    return thread._create_worker_consumer(app.transport)


@pytest.mark.parametrize(("env", "expected"), [({}, 10), ({"ROTATION_FETCH_MAX_WAIT_MS": "7"}, 7)])
async def test_the_worker_consumer_fetches_with_the_configured_wait(broker, env, expected):
    settings = settings_from_env(broker, {**env, "ROTATION_APP_ID": f"fetch-wait-{expected}"})
    app = create_app(settings, load_universe())
    consumer = _worker_consumer(app)
    await consumer.start()
    try:
        assert consumer._fetcher._fetch_max_wait_ms == expected
        assert consumer._group_id == f"fetch-wait-{expected}"  # still Faust's worker consumer
    finally:
        await consumer.stop()


async def test_faust_would_wait_1500_ms_without_it(broker):
    """The reason for the transport: Faust's own consumer thread hard-codes 1500 ms."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    app = create_app(
        settings_from_env(broker, {"ROTATION_APP_ID": "fetch-wait-faust"}), load_universe()
    )
    consumer = AIOKafkaConsumerThread._create_worker_consumer(
        app.consumer._new_consumer_thread(), app.transport
    )
    await consumer.start()
    try:
        assert consumer._fetcher._fetch_max_wait_ms == 1500
    finally:
        await consumer.stop()


def test_the_producer_settings_reach_faust():
    settings = settings_from_env("127.0.0.1:9", {"ROTATION_PRODUCER_LINGER_MS": "20"})
    app = create_app(settings, load_universe())
    assert app.conf.producer_linger == pytest.approx(0.020)
    assert app.conf.producer_max_batch_size >= 256 * 1024


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROTATION_FETCH_MAX_WAIT_MS": "fast"}, "ROTATION_FETCH_MAX_WAIT_MS='fast': expected"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "2.5"}, "expected a number of whole milliseconds"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "0"}, "from 1 to 60000"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "600000"}, "from 1 to 60000"),
        ({"ROTATION_PRODUCER_LINGER_MS": "-1"}, "ROTATION_PRODUCER_LINGER_MS=-1.0: expected"),
        ({"ROTATION_PRODUCER_LINGER_MS": "soon"}, "expected a number of milliseconds"),
    ],
)
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_env("127.0.0.1:9", env)


def test_a_bad_value_stops_the_worker_with_one_line(broker):
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker, "ROTATION_FETCH_MAX_WAIT_MS": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "rotation.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "rotation worker: error: ROTATION_FETCH_MAX_WAIT_MS='soon': expected a number of "
        "whole milliseconds"
    ], done.stderr
