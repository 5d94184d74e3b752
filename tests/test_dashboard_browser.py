"""The dashboard in real headless Chromium against the real system.

``rotation up --headless`` runs broker, worker, gateway and simulator feed; the page
is opened on its gateway. A second ``rotation gateway`` process on the same broker,
with a token, is restarted under a page to show the resume. The screenshots are of
the Great Rotation replayed from the real daily closes (examples/great_rotation_2026.py),
so that they are the same on every run; they are skipped, with the reason, where that
market data is absent. Every wait has a generous limit that only stops a hung test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from confluent_kafka import Consumer, TopicPartition
from playwright.async_api import Page

from gateway.server import Gateway
from streams.probe import free_port
from streams.records import Signal
from streams.topics import DEFAULT_TOPICS
from tests.browser import ARTIFACTS, Watch, check_screenshot, launched, open_page
from tests.test_gateway_restart import gateway_process
from tests.test_gateway_server import make_signal, produce

WAIT = 120_000  # ms; a guard against a hung test on a busy machine, not a speed requirement
TOKEN = "dashboard-token"


# The system ----------------------------------------------------------------------------


@dataclass
class Up:
    proc: subprocess.Popen[str]
    bootstrap: str
    dashboard: str
    lines: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """``rotation up --headless`` on free ports, the simulator's story at full speed and
    then a 15-minute bar per 2 wall seconds, so that signals keep coming."""
    log_dir = tmp_path_factory.mktemp("up")
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rotation.cli",
            "up",
            "--headless",
            "--gateway-port",
            "0",
            "--then-speed",
            "450",
            "--duration",
            "1800",
            "--log-dir",
            str(log_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if m := re.search(r"\[up\] broker (\S+) ready", line):
                found["bootstrap"] = m.group(1)
            if m := re.search(r"\[up\] dashboard at (http://\S+/)", line):
                found["dashboard"] = m.group(1)
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ready.wait(180)
        assert "dashboard" in found, "rotation up printed no dashboard URL:\n" + "".join(lines)
        yield Up(proc, found["bootstrap"], found["dashboard"], lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(10)


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        return json.loads(r.read())


def signal_ids_on_topic(bootstrap: str) -> list[str]:
    """Every signal on the topic, in order, read with another client than the code's."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"dashboard-test-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        topic = DEFAULT_TOPICS.signals.name
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        assert len(partitions) == 1, "the order below assumes one partition"
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        consumer.assign([TopicPartition(topic, 0, 0)])
        ids: list[str] = []
        deadline = time.monotonic() + 120
        offset = 0
        while offset < high and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            offset = message.offset() + 1
            ids.append(msgspec.json.decode(message.value(), type=Signal).id)
        assert offset >= high, f"read {offset} of {high} signals"
        return ids
    finally:
        consumer.close()


# The page -----------------------------------------------------------------------------


async def wait_for(page: Page, script: str, arg: Any = None) -> Any:
    handle = await page.wait_for_function(script, arg=arg, timeout=WAIT)
    return await handle.json_value()


async def rows(page: Page) -> list[dict[str, str]]:
    return await page.eval_on_selector_all(
        "#signal-log tbody tr.signal",
        "rows => rows.map(r => ({id: r.dataset.id, kind: r.dataset.kind, "
        "level: r.dataset.level, text: r.textContent}))",
    )


async def received(page: Page) -> list[dict[str, Any]]:
    return await page.evaluate("() => window.Rotation.received.slice()")


async def record_notices(page: Page) -> None:
    """Keep every notice the page shows, in ``window.noticesSeen``: a later one (a
    reconnect refused while the gateway is down) may replace it before a test looks."""
    await page.evaluate(
        """() => {
            const notice = document.getElementById("notice");
            window.noticesSeen = [];
            new MutationObserver(() => window.noticesSeen.push(
                {kind: notice.dataset.kind, text: notice.textContent}
            )).observe(notice, {attributes: true, childList: true, characterData: true,
                                subtree: true});
        }"""
    )


async def notice_seen(page: Page, kind: str) -> str:
    """The text of the first notice of ``kind`` since :func:`record_notices`."""
    return await wait_for(
        page,
        "k => { const n = window.noticesSeen.find(n => n.kind === k); return n && n.text; }",
        kind,
    )


def assert_clean(watch: Watch, gateway_down_at: str | None = None) -> None:
    """No console error, but Chromium's own line for each connection attempt while the
    gateway at ``gateway_down_at`` was down (the page cannot silence it)."""
    errors = [
        e
        for e in watch.errors
        if not (
            gateway_down_at
            and f"WebSocket connection to '{gateway_down_at}' failed" in e
            and "ERR_CONNECTION_REFUSED" in e
        )
    ]
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


# The live system ----------------------------------------------------------------------


async def test_the_page_draws_the_live_system_and_its_filter_narrows_the_log(up: Up) -> None:
    async with launched() as browser:
        page, watch = await open_page(browser, up.dashboard)
        await page.wait_for_selector("#status[data-state=live]", timeout=WAIT)
        await wait_for(page, "() => document.querySelectorAll('#rrg-pairs .rrg-point').length >= 3")
        await wait_for(
            page,
            "() => [...document.querySelectorAll('.rrg-tail')]"
            ".some(t => t.points.numberOfItems >= 2)",
        )
        await wait_for(
            page, "() => document.querySelectorAll('#rrg-sectors .rrg-point').length >= 5"
        )
        await page.wait_for_selector("#signal-log tbody tr.signal", timeout=WAIT)
        await page.wait_for_selector("#headline .regime[data-pair='IWM/QQQ']", timeout=WAIT)
        await page.wait_for_selector("#breadth tbody tr[data-group]", timeout=WAIT)
        await page.wait_for_selector(".rs-chart[data-pair='IWM/QQQ'] canvas", timeout=WAIT)
        first_point_ms = await page.evaluate(
            "() => performance.getEntriesByName('rotation:first-rrg-point')[0].startTime"
        )

        # Details on hover: the point's figures.
        point = page.locator("#rrg-pairs .rrg-point").first
        subject = await point.get_attribute("data-subject")
        await point.hover()
        details = page.locator("#details")
        await details.wait_for(state="visible", timeout=WAIT)
        assert subject is not None and subject.removeprefix("pair:") in await details.inner_text()
        assert "RS-Ratio" in await details.inner_text()

        # The filters narrow the log, and only to what they name.
        await page.select_option("#filter-level", "all")
        await wait_for(page, "() => document.querySelectorAll('#signal-log tbody tr').length >= 2")
        before = await rows(page)
        kinds = sorted(
            {r["kind"] for r in before}, key=lambda k: sum(r["kind"] == k for r in before)
        )
        if len(kinds) > 1:
            await page.select_option("#filter-kind", kinds[0])
            after = await rows(page)
            assert after and {r["kind"] for r in after} == {kinds[0]}
            assert len(after) < len(before)
            await page.select_option("#filter-kind", "")
        word = before[0]["text"].split("/")[0].split()[-1]
        await page.fill("#filter-text", word)
        await wait_for(
            page,
            "w => [...document.querySelectorAll('#signal-log tbody tr.signal')]"
            ".every(r => r.textContent.toLowerCase().includes(w.toLowerCase()))",
            word,
        )
        await page.fill("#filter-text", "no-such-subject-anywhere")
        await wait_for(page, "() => !document.querySelector('#signal-log tbody tr.signal')")
        await page.fill("#filter-text", "")

        weight = await watch.bytes_transferred()
        assert_clean(watch)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "measurements.json").write_text(
        json.dumps(
            {"first_rrg_point_ms": round(first_point_ms), "first_load_bytes": weight}, indent=2
        )
        + "\n"
    )
    print(f"first RRG point {first_point_ms:.0f} ms after opening; first load {weight} bytes")
    assert first_point_ms > 0 and weight > 0


async def test_the_page_resumes_across_a_gateway_restart_with_every_signal_once(
    up: Up, tmp_path: Path
) -> None:
    """A gateway with a token on the system's broker: the page asks for the token once,
    then the gateway is stopped (1012) and started again under it; signals written
    meanwhile come in the resume, none twice, none missing."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    async with launched() as browser:
        async with gateway_process(up.bootstrap, port, tmp_path / "gateway-1.log", TOKEN):
            page, watch = await open_page(browser, url)
            await page.wait_for_selector("#status[data-state=auth]", timeout=WAIT)
            await page.fill("#auth-token", "wrong")
            await page.press("#auth-token", "Enter")
            await record_notices(page)
            await page.wait_for_selector("#notice[data-kind=unauthorized]", timeout=WAIT)
            await page.wait_for_selector("#status[data-state=auth]", timeout=WAIT)
            await page.fill("#auth-token", TOKEN)
            await page.press("#auth-token", "Enter")
            await page.wait_for_selector("#status[data-state=live]", timeout=WAIT)
            await wait_for(page, "() => window.Rotation.received.length >= 1")
        await notice_seen(page, "shutdown")
        # While the gateway is down: a signal the page has not seen (and the worker's).
        missed = make_signal(int(time.time()), subject="pair:XLI/SPY", summary="missed")
        await produce(up.bootstrap, [missed])
        async with gateway_process(up.bootstrap, port, tmp_path / "gateway-2.log", TOKEN):
            await page.wait_for_selector(f"tr.signal[data-id='{missed.id}']", timeout=WAIT)
            assert await page.is_hidden("#auth-form") or not await page.query_selector(
                "#status[data-state=auth]"
            )
            topic = await asyncio.to_thread(signal_ids_on_topic, up.bootstrap)
            # Until the page holds everything the gateway has read, at least that.
            deadline = time.monotonic() + WAIT / 1000
            while True:
                state = await asyncio.to_thread(health, port)
                head = state["channels"]["signals"]["seq"]
                log = await received(page)
                if state["lag_records"] == 0 and log and log[-1]["seq"] == head:
                    break
                assert time.monotonic() < deadline, f"page at {log[-1:]} of head {head}"
                await asyncio.sleep(0.2)
            later = await asyncio.to_thread(signal_ids_on_topic, up.bootstrap)
        assert_clean(watch, gateway_down_at=f"ws://127.0.0.1:{port}/ws")
    signals = [m for m in log if m["channel"] == "signals"]
    ids = [m["id"] for m in signals]
    assert len(ids) == len(set(ids)), "a signal reached the page twice"
    assert len({m["epoch"] for m in signals}) == 1
    seqs = [m["seq"] for m in signals]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in the signals"
    assert next(m for m in signals if m["id"] == missed.id)["catchUp"], "not in the resume"
    # Every distinct signal on the topic from the page's first one on, in order (the
    # gateway numbers them in the order of the one partition; later ones may follow).
    distinct = list(dict.fromkeys(topic))
    expected = distinct[distinct.index(ids[0]) :]
    assert ids[: len(expected)] == expected
    assert set(ids) <= set(later), "the page showed a signal that is not on the topic"


# Screenshots of the Great Rotation ----------------------------------------------------

MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
SHOWN_FROM = "2025-10-01"
SHOWN_TO = "2026-01-26"  # the peak of the rotation in the closes
FROZEN_AT = "2026-01-26T16:30:00-05:00"  # the page's clock: the evening of that day


@pytest.fixture(scope="module")
def great_rotation(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    """The replay's metrics and signals from ``SHOWN_FROM`` to ``SHOWN_TO`` (New York
    days of the bars' ends), as (topic, record) in the replay's order."""
    from tests.test_great_rotation_example import example, new_york_day

    why_not = example.missing_data(MARKETDATA)
    if why_not is not None:
        pytest.skip(f"the screenshots show the real market data beside the repository: {why_not}")
    _, _ = example.run(MARKETDATA, out := tmp_path_factory.mktemp("great_rotation"))
    records = []
    with open(out / "results.jsonl", "rb") as lines:
        for line in lines:
            message = json.loads(line)
            body = message["data"]
            end = body["ts"] if message["type"] == "metrics" else body["window_end"]
            if SHOWN_FROM <= new_york_day(end) <= SHOWN_TO:
                topic = (
                    DEFAULT_TOPICS.metrics.name
                    if message["type"] == "metrics"
                    else DEFAULT_TOPICS.signals.name
                )
                records.append((topic, msgspec.json.encode(body)))
    return records


async def produce_raw(bootstrap: str, records: list[tuple[str, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for topic, value in records:
            subject = msgspec.json.decode(value)["subject"]
            await producer.send(topic, value, key=subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def holds_heads(page: Page, gateway: Gateway) -> None:
    """Wait until the page holds each channel up to the gateway's head at this moment."""
    heads = {f: gateway.history.head(f).seq for f in ("signals", "metrics")}
    await wait_for(
        page,
        "h => window.Rotation.position('metrics').seq >= h.metrics"
        " && window.Rotation.position('signals').seq >= h.signals",
        heads,
    )


async def test_screenshots_of_the_great_rotation_match_the_stored_ones(
    great_rotation: list[tuple[str, bytes]],
) -> None:
    """Both pages open before the data flows, so each draws every interval of the RS
    lines and tails; then 1280x800 in the dark scheme and 390x844 (a phone) in the light
    one are compared with tests/snapshots/dashboard_*.png."""
    from rotation.broker import embedded_broker
    from streams.admin import ensure_topics
    from tests.test_gateway_server import running_gateway

    with embedded_broker() as (bootstrap, _proc):
        await ensure_topics(bootstrap)
        async with running_gateway(bootstrap) as gateway, launched() as browser:
            url = f"http://127.0.0.1:{gateway.port}/"
            pages: list[tuple[str, Page, Watch]] = []
            for name, width, height, scheme, mobile in (
                ("dashboard_1280x800", 1280, 800, "dark", False),
                ("dashboard_390x844", 390, 844, "light", True),
            ):
                page, watch = await open_page(
                    browser, url, width=width, height=height, scheme=scheme, mobile=mobile
                )
                pages.append((name, page, watch))
            for _, page, _ in pages:
                await page.clock.set_fixed_time(FROZEN_AT)
                await page.wait_for_selector("#status[data-state=live]", timeout=WAIT)
            for start in range(0, len(great_rotation), 400):
                await produce_raw(bootstrap, great_rotation[start : start + 400])
                for _, page, _ in pages:
                    await holds_heads(page, gateway)
            async with asyncio.timeout(WAIT / 1000):
                while gateway.history.head("metrics").seq < sum(
                    t == DEFAULT_TOPICS.metrics.name for t, _ in great_rotation
                ):
                    await asyncio.sleep(0.05)
            for name, page, watch in pages:
                await holds_heads(page, gateway)
                await page.wait_for_selector("#rrg-sectors .rrg-point", timeout=WAIT)
                await page.evaluate("() => window.Rotation.settled()")
                png = await page.screenshot(
                    full_page=False,
                    animations="disabled",
                    caret="hide",
                    mask=[page.locator("[data-volatile]")],
                    mask_color="#7f7f7f",
                )
                path = check_screenshot(name, png)
                print(f"{name}: {path}")
                assert_clean(watch)


async def test_a_refused_resume_is_told_and_no_signal_shows_twice(tmp_path: Path) -> None:
    """The gateway goes away (1001); the one that comes back keeps only the last two
    signals, so it cannot resume the page: the page says so, takes the fresh snapshot
    and still shows each signal once."""
    from rotation.broker import embedded_broker
    from streams.admin import ensure_topics
    from tests.test_gateway_server import running_gateway

    port = free_port()
    with embedded_broker() as (bootstrap, _proc):
        await ensure_topics(bootstrap)
        await produce(bootstrap, [make_signal(i) for i in range(1, 4)])
        async with launched() as browser:
            async with running_gateway(bootstrap, port=port) as gateway:
                page, watch = await open_page(browser, f"http://127.0.0.1:{gateway.port}/")
                await wait_for(
                    page, "() => document.querySelectorAll('#signal-log tr.signal').length == 3"
                )
                await record_notices(page)
            assert "went away" in await notice_seen(page, "shutdown")
            await produce(bootstrap, [make_signal(i) for i in range(4, 11)])
            async with running_gateway(bootstrap, port=port, keep_signals=2):
                await notice_seen(page, "resume_refused")
                await page.wait_for_selector("#status[data-state=live]", timeout=WAIT)
                await wait_for(
                    page, "() => document.querySelectorAll('#signal-log tr.signal').length == 5"
                )
                shown = [r["id"] for r in await rows(page)]
                assert_clean(watch, gateway_down_at=f"ws://127.0.0.1:{port}/ws")
    expected = {make_signal(i).id for i in (1, 2, 3, 9, 10)}
    assert len(shown) == len(set(shown)) and set(shown) == expected
