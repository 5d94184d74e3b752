"""``rotation replay``: historical files through the analytics, offline and through Kafka."""

from __future__ import annotations

import asyncio
import csv
import json
import random
import signal
import subprocess
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agents.analytics.bars import PartitionBars
from agents.analytics.tick_checks import decode_message
from rotation import processes
from rotation.broker import embedded_broker
from rotation.replay import ReplayPlan
from rotation.replay_plan import SOURCE
from rotation.tabular import read_table
from rotation.up import Child
from streams.admin import ensure_topics
from streams.codec import decode_signal
from streams.topics import DEFAULT_TOPICS
from tests.helpers import ROOT, assert_valid

MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
ETF_DAILY = MARKETDATA / "etf_daily" / "kittycapital_etf-seasonality"
EXAMPLE_CONFIG = ROOT / "examples" / "etf_daily.toml"
DAY_US = 86_400 * 1_000_000
WAIT = 120.0

SMALL_UNIVERSE = """
# Synthetic weekdays (holidays too): bars on the epoch grid, no exchange calendar.
[calendar]
exchange = "24/7"

[bars]
seconds = 86400

[relative_strength]
sma_bars = 5
change_bars = 5
hysteresis_pct = 0.5
cooldown_bars = 3

[signals]
min_score = 0.0          # every crossover, those just clear of the band too

[groups]

[[pairs]]
name = "IWM/QQQ"
numerator = "IWM"
denominator = "QQQ"

[[pairs]]
name = "IWM/SPY"
numerator = "IWM"
denominator = "SPY"

[[pairs]]
name = "QQQ/SPY"
numerator = "QQQ"
denominator = "SPY"

[symbols]
IWM = {}
QQQ = {}
SPY = {}
"""


def trading_days(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def rotation_closes(d: int) -> dict[str, float]:
    """Days 0-19 QQQ leads (IWM flat), 20-29 IWM leads (QQQ flat), 30-39 QQQ leads again."""
    return {
        "IWM": 200.0 + 5 * min(max(0, d - 19), 10),
        "QQQ": 400.0 + 4 * min(d, 19) + 6 * max(0, d - 29),
        "SPY": 500.0 + d,
    }


DAYS = trading_days(date(2026, 1, 5), 40)


def end_of(day: str) -> int:
    """Event time of the snapshot of a daily bar: the end of its UTC day, in microseconds."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000 + DAY_US


@pytest.fixture
def universe_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_UNIVERSE)
    return path


@pytest.fixture
def rotation_csv(tmp_path: Path) -> Path:
    """Daily bars of IWM, QQQ and SPY with an obvious rotation, rows shuffled."""
    rows = []
    previous: dict[str, float] = {}
    for d, day in enumerate(DAYS):
        for symbol, close in rotation_closes(d).items():
            open_ = previous.get(symbol, close)
            rows.append(
                {
                    "Timestamp": day.isoformat(),
                    "SYMBOL": symbol,
                    "Open": open_,
                    "High": max(open_, close) + 1,
                    "Low": min(open_, close) - 1,
                    "Close": close,
                    "Volume": 1_000_000 + d,
                }
            )
            previous[symbol] = close
    random.Random(3).shuffle(rows)
    path = tmp_path / "rotation.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def replay(*args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        processes.rotation_command("replay", *map(str, args)),
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=ROOT,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def pair_metrics(lines: list[dict], name: str) -> dict[int, dict]:
    """The pair section of every snapshot of pair ``name``, by interval end."""
    return {
        line["data"]["ts"]: line["data"]["pair"]
        for line in lines
        if line["type"] == "metrics" and line["data"]["subject"] == f"pair:{name}"
    }


def test_replayed_rs_is_the_ratio_of_the_days_closes_and_rotation_signals(
    rotation_csv, universe_file, tmp_path
):
    out = tmp_path / "out.jsonl"
    done = replay(rotation_csv, "--config", universe_file, "--out", out)
    # 40 days x 3 pairs (no groups, no benchmark in this universe)
    assert "120 rows, 480 ticks, 120 bars, 120 snapshots" in done.stderr
    lines = lines_of(out)
    assert {line["type"] for line in lines} == {"metrics", "signal"}
    assert all(line["data"]["bar_seconds"] == 86_400 for line in lines if line["type"] == "metrics")
    iwm_qqq_rs = pair_metrics(lines, "IWM/QQQ")
    assert len(iwm_qqq_rs) == 40
    by_hand = {"2026-01-05": 200 / 400, "2026-01-30": 200 / 476, "2026-02-27": 250 / 536}
    for day, rs in by_hand.items():
        assert iwm_qqq_rs[end_of(day)]["rs"] == pytest.approx(rs, rel=1e-12)
    for name in ("IWM/QQQ", "IWM/SPY", "QQQ/SPY"):
        num, den = name.split("/")
        rs_by_day = pair_metrics(lines, name)
        for d, day in enumerate(DAYS):
            closes = rotation_closes(d)
            assert rs_by_day[end_of(day.isoformat())]["rs"] == closes[num] / closes[den]
    signals = [line["data"] for line in lines if line["type"] == "signal"]
    iwm_qqq = [s for s in signals if s["subject"] == "pair:IWM/QQQ" and s["kind"] == "rs_crossover"]
    assert iwm_qqq
    # IWM takes the lead on the first day of the second phase (2026-02-02), QQQ takes
    # it back in the third.
    assert iwm_qqq[0]["direction"] == "up"
    assert iwm_qqq[0]["window_end"] == end_of("2026-02-02")
    assert iwm_qqq[1]["direction"] == "down"
    assert iwm_qqq[1]["window_end"] > end_of("2026-02-16")


def test_parquet_gives_the_same_output_as_csv(rotation_csv, universe_file, tmp_path):
    import pandas as pd

    frame = pd.read_csv(rotation_csv)
    frame["Timestamp"] = pd.to_datetime(frame["Timestamp"])  # a native timestamp column
    parquet = tmp_path / "rotation.parquet"
    frame.to_parquet(parquet)
    replay(rotation_csv, "--config", universe_file, "--out", tmp_path / "csv.jsonl")
    replay(parquet, "--config", universe_file, "--out", tmp_path / "parquet.jsonl")
    expected = (tmp_path / "csv.jsonl").read_bytes()
    assert expected and (tmp_path / "parquet.jsonl").read_bytes() == expected


def test_bar_ticks_rebuild_the_same_bars(rotation_csv):
    table = read_table(rotation_csv).sorted_by_time()
    plan = ReplayPlan(table, np.ones(len(table), dtype=bool), 86_400)
    bars = PartitionBars.every(86_400)
    closed = bars.apply(plan.ticks(0, len(table))).closed + bars.flush().closed
    rebuilt = {(b.symbol, b.start): (b.open, b.high, b.low, b.close, b.volume) for b in closed}
    v = table.values
    expected = {
        (s, int(t)): (v["open"][i], v["high"][i], v["low"][i], v["close"][i], v["volume"][i])
        for i, (s, t) in enumerate(zip(table.symbols, table.ts, strict=True))
    }
    assert rebuilt == expected


def test_the_tick_sequence_does_not_depend_on_block_size(rotation_csv):
    """What resuming relies on: ticks from any block split are the same, in time order."""
    table = read_table(rotation_csv).sorted_by_time()
    plan = ReplayPlan(table, np.ones(len(table), dtype=bool), 86_400)
    whole = plan.ticks(0, len(table))
    assert [t.ts for t in whole] == sorted(t.ts for t in whole)
    for target in (1, 7, 50, 10_000):
        split = [t for lo, hi in plan.blocks(0, target) for t in plan.ticks(lo, hi)]
        assert split == whole
    assert plan.tick_count() == len(whole) == 480


@pytest.mark.skipif(not ETF_DAILY.is_dir(), reason=f"real market data not present: {ETF_DAILY}")
def test_real_etf_history_gives_valid_metrics_and_signals(tmp_path):
    source = tmp_path / "etf_daily.csv"
    columns = ("Open", "High", "Low", "Close", "Volume")
    last_close: dict[str, str] = {}
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "timestamp", *(c.lower() for c in columns)])
        for symbol in ("IWM", "QQQ", "SPY", "DIA"):
            with (ETF_DAILY / f"{symbol}.csv").open(newline="") as f:
                for row in csv.DictReader(f):
                    if row["Date"] >= "2024-01-01":
                        writer.writerow([symbol, row["Date"], *(row[c] for c in columns)])
                        last_close[symbol] = row["Close"]
    out = tmp_path / "out.jsonl"
    replay(source, "--config", EXAMPLE_CONFIG, "--out", out)
    lines = lines_of(out)
    for line in lines:
        schema = "metrics" if line["type"] == "metrics" else "signals"
        assert_valid(f"topic.rotation.{schema}.json", line["data"])
    assert [line for line in lines if line["type"] == "signal"]
    rs_by_day = pair_metrics(lines, "IWM/QQQ")
    rs = rs_by_day[max(rs_by_day)]["rs"]
    assert rs == float(last_close["IWM"]) / float(last_close["QQQ"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("symbol,timestamp,open\nIWM,2026-01-05,1\n", ["missing column 'close'", "'price'"]),
        (
            "timestamp,close\n2026-01-05,1\n",
            ["none of its symbols (BAD)", "no 'symbol' column", "--symbol"],
        ),
        (
            "symbol,timestamp,close\nIWM,2026-01-05,1\nQQQ,2026-01-3x,2\n",
            ["row 2 (line 3), column 'timestamp'", "'2026-01-3x'"],
        ),
        (
            "Symbol,Timestamp,Close\nIWM,2026-01-05,1\nQQQ,2026-01-05,abc\n",
            ["row 2 (line 3), column 'Close'", "'abc' is not a number"],
        ),
        ("symbol,timestamp,price\nIWM,2026-01-05,-3\n", ["row 1 (line 2), column 'price'"]),
        ("", ["the file is empty"]),
        ("symbol,timestamp,close\n", ["no data rows"]),
    ],
    ids=["no-price-column", "no-symbol", "bad-time", "bad-number", "negative", "empty", "header"],
)
def test_bad_input_gets_one_clear_line_and_exit_2(content, expected, universe_file, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    done = replay(path, "--config", universe_file, "--out", tmp_path / "o.jsonl", check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("rotation replay: error: ") and str(path) in message
    for part in expected:
        assert part in message


def test_bars_off_the_interval_grid_are_rejected(universe_file, tmp_path):
    path = tmp_path / "hourly.csv"
    path.write_text(
        "symbol,timestamp,close\n"
        + "".join(f"IWM,2026-01-05T{h:02d}:30:00Z,{100 + h}\n" for h in range(10, 15))
    )
    done = replay(path, "--config", universe_file, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "row 1 (line 2), column 'timestamp'" in done.stderr and "3600 s grid" in done.stderr


def confluent_consumer(bootstrap: str, topic: str, partitions: int):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return consumer


def read_until(consumer, done, timeout: float = WAIT, settle: float = 2.0) -> list[bytes]:
    """Poll until ``done(values)``, then ``settle`` seconds more to catch extra messages."""
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    settled_at: float | None = None
    while time.monotonic() < (settled_at or deadline):
        message = consumer.poll(0.2)
        if message is not None:
            assert message.error() is None, message.error()
            values.append(message.value())
        if settled_at is None and done(values):
            settled_at = time.monotonic() + settle
    assert settled_at is not None, f"timed out after {timeout} s with {len(values)} messages"
    return values


def test_kafka_replay_interrupted_and_resumed_gives_the_offline_signals(
    rotation_csv, universe_file, tmp_path
):
    out = tmp_path / "offline.jsonl"
    replay(rotation_csv, "--config", universe_file, "--out", out)
    last_end = end_of(DAYS[-1].isoformat())
    offline = {
        line["data"]["id"]
        for line in lines_of(out)
        if line["type"] == "signal" and line["data"]["window_end"] < last_end
    }
    assert offline
    table = read_table(rotation_csv).sorted_by_time()
    plan = ReplayPlan(table, np.ones(len(table), dtype=bool), 86_400)
    expected_ticks = sorted((t.symbol, t.ts, t.price, t.size) for t in plan.ticks(0, len(table)))

    checkpoint = tmp_path / "replay.checkpoint.json"
    with embedded_broker(log_path=tmp_path / "broker.log") as (bootstrap, _proc):
        asyncio.run(ensure_topics(bootstrap))
        env = {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
        worker = Child(
            "worker",
            ["worker", "--config", str(universe_file)],
            env,
            tmp_path,
            None,
            time.monotonic(),
        )
        running: subprocess.Popen[bytes] | None = None
        try:
            deadline = time.monotonic() + WAIT
            while worker.ready_after is None:
                assert worker.failed() is None, worker.failed()
                assert time.monotonic() < deadline, "the worker did not get ready"
                time.sleep(0.1)

            # About ten wall seconds for the 54 days of the file; interrupted early.
            command = [rotation_csv, "--kafka", "--config", universe_file, "--bootstrap", bootstrap]
            command += ["--checkpoint", checkpoint]
            running = processes.spawn(
                processes.rotation_command("replay", *map(str, command), "--speed", "500000"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            while True:
                assert running.poll() is None, running.communicate()
                assert time.monotonic() < deadline, "the replay sent nothing"
                if checkpoint.exists():
                    state = json.loads(checkpoint.read_text())
                    if state["next_row"] or state["skip_ticks"]:
                        break
                time.sleep(0.05)
            running.send_signal(signal.SIGINT)
            _, err = running.communicate(timeout=WAIT)
            assert running.returncode == 130, err.decode()
            assert "--resume" in err.decode(), err.decode()
            state = json.loads(checkpoint.read_text())
            assert not state["done"] and state["next_row"] < len(table)

            # Without --resume a second run refuses to send the file again.
            again = replay(*command, check=False)
            assert again.returncode == 2 and "--resume" in again.stderr

            resumed = replay(*command, "--resume", "--quiet")
            assert "sent " in resumed.stderr
            assert json.loads(checkpoint.read_text())["done"]

            # Every tick of the file reached quotes.ticks exactly once.
            consumer = confluent_consumer(
                bootstrap, DEFAULT_TOPICS.ticks.name, DEFAULT_TOPICS.ticks.partitions
            )
            try:
                frames = read_until(
                    consumer,
                    lambda v: sum(len(decode_message(m).ticks) for m in v) >= len(expected_ticks),
                )
            finally:
                consumer.close()
            sent = sorted(
                (t.symbol, t.ts, t.price, t.size) for m in frames for t in decode_message(m).ticks
            )
            assert sent == expected_ticks

            consumer = confluent_consumer(
                bootstrap, DEFAULT_TOPICS.signals.name, DEFAULT_TOPICS.signals.partitions
            )
            try:
                values = read_until(consumer, lambda v: offline <= {decode_signal(m).id for m in v})
            finally:
                consumer.close()
            streamed = {s.id for s in map(decode_signal, values) if s.window_end < last_end}
            assert streamed == offline
            assert worker.failed() is None
        finally:
            if running is not None:
                processes.stop(running)
            worker.stop()


def test_flags_of_the_other_mode_are_refused(rotation_csv, universe_file):
    done = replay(rotation_csv, "--config", universe_file, "--speed", "10", check=False)
    assert done.returncode == 2 and "--speed applies to --kafka replays only" in done.stderr
    done = replay(rotation_csv, "--kafka", "--out", "x.jsonl", check=False)
    assert done.returncode == 2 and "--out is for offline replays" in done.stderr


def test_kafka_replay_without_a_broker_says_so(rotation_csv, universe_file, tmp_path):
    from streams.probe import free_port

    done = replay(
        rotation_csv,
        "--kafka",
        "--config",
        universe_file,
        "--bootstrap",
        f"127.0.0.1:{free_port()}",
        "--checkpoint",
        tmp_path / "c.json",
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no Kafka broker answers at 127.0.0.1:" in done.stderr


def test_the_example_universe_is_loadable():
    from rotation.config import load_universe

    universe = load_universe(EXAMPLE_CONFIG)
    assert universe.bar_seconds == 86_400
    assert set(universe.symbols) == {"IWM", "QQQ", "SPY", "DIA"}
    assert [p.name for p in universe.pairs] == ["IWM/QQQ", "IWM/SPY", "QQQ/SPY", "DIA/SPY"]


def sorted_copy(path: Path, out: Path) -> Path:
    """The CSV ``path`` with its rows in time order (stable), as ``out``."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.sort_values("Timestamp", kind="stable").to_csv(out, index=False)
    return out


def summary(stderr: str) -> str:
    """The replay's summary line without its duration."""
    line = next(line for line in stderr.splitlines() if line.startswith("replayed"))
    return line.rsplit(" in ", 1)[0]


def test_reading_in_chunks_gives_the_output_of_reading_whole(rotation_csv, universe_file, tmp_path):
    ordered = sorted_copy(rotation_csv, tmp_path / "ordered.csv")
    runs = {
        "shuffled": (rotation_csv,),
        "whole": (ordered, "--sort"),
        "chunks": (ordered, "--chunk-rows", 7),
        "rows": (ordered, "--chunk-rows", 1),
    }
    outputs, summaries = {}, {}
    for name, args in runs.items():
        out = tmp_path / f"{name}.jsonl"
        done = replay(*args, "--config", universe_file, "--out", out)
        outputs[name] = out.read_bytes()
        summaries[name] = summary(done.stderr).split(": ", 1)[1]
        # A shuffled file is sorted in memory, and says so; a time-ordered one is not.
        assert ("not in time order" in done.stderr) == (name == "shuffled"), done.stderr
    assert outputs["whole"] and len(lines_of(tmp_path / "whole.jsonl")) == 125
    assert all(output == outputs["whole"] for output in outputs.values())
    assert set(summaries.values()) == {
        "120 rows, 480 ticks, 120 bars, 120 snapshots, 5 signals, 0 late ticks, 0 bad bars"
    }


def test_parquet_read_by_batches_gives_the_output_of_csv(rotation_csv, universe_file, tmp_path):
    import pandas as pd

    ordered = sorted_copy(rotation_csv, tmp_path / "ordered.csv")
    frame = pd.read_csv(ordered)
    frame["Timestamp"] = pd.to_datetime(frame["Timestamp"])
    parquet = tmp_path / "ordered.parquet"
    frame.to_parquet(parquet)
    replay(ordered, "--config", universe_file, "--out", tmp_path / "csv.jsonl")
    replay(parquet, "--config", universe_file, "--out", tmp_path / "pq.jsonl", "--chunk-rows", 5)
    expected = (tmp_path / "csv.jsonl").read_bytes()
    assert expected and (tmp_path / "pq.jsonl").read_bytes() == expected


def test_ticks_of_one_bar_across_chunks_count_as_one_bar(universe_file, tmp_path):
    path = tmp_path / "ticks.csv"
    start = 1_767_571_200  # 2026-01-05 00:00 UTC, on the minute grid
    rows = [
        f"{s},{start + 7 * i + k},{100 + i + k}"
        for i in range(60)
        for k, s in enumerate(("IWM", "QQQ", "SPY"))
    ]
    path.write_text("symbol,timestamp,price\n" + "\n".join(rows) + "\n")
    args = (path, "--config", universe_file, "--bar-seconds", 60)
    whole = replay(*args, "--sort", "--out", tmp_path / "whole.jsonl")
    chunks = replay(*args, "--chunk-rows", 4, "--out", tmp_path / "chunks.jsonl")
    # 420 s of ticks: 7 one-minute bars per symbol, 21 bars.
    assert "180 rows, 180 ticks, 21 bars" in summary(whole.stderr)
    assert summary(chunks.stderr) == summary(whole.stderr)
    assert (tmp_path / "chunks.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_a_file_going_back_in_time_after_its_first_chunk_stops_at_that_row(
    rotation_csv, universe_file, tmp_path
):
    ordered = sorted_copy(rotation_csv, tmp_path / "ordered.csv")
    lines = ordered.read_text().splitlines()
    # Row 100 (line 101) moves to the end: later rows are in time order, it is not.
    moved = lines[:100] + lines[101:] + [lines[100]]
    path = tmp_path / "late_row.csv"
    path.write_text("\n".join(moved) + "\n")
    out = tmp_path / "o.jsonl"
    done = replay(path, "--config", universe_file, "--chunk-rows", 30, "--out", out, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("rotation replay: error: ")
    assert f"{path}, row 120 (line 121), column 'Timestamp'" in message
    assert "is earlier than" in message and "--sort" in message
    # Read whole and sorted in memory, the same file replays as the ordered one.
    replay(path, "--config", universe_file, "--sort", "--out", out)
    replay(ordered, "--config", universe_file, "--out", tmp_path / "ordered.jsonl")
    assert out.read_bytes() == (tmp_path / "ordered.jsonl").read_bytes()


def ticks_table(tmp_path: Path):
    """A time-ordered ticks table with sizes and bids/asks, some cells empty."""
    rng = random.Random(11)
    path = tmp_path / "quotes.csv"
    lines = ["symbol,timestamp,price,size,bid,ask"]
    ts = 1_767_619_800_000_000
    for _ in range(400):
        ts += rng.randint(0, 2_000_000)
        price = round(100 + 10 * rng.random(), 2)
        quoted = rng.random() < 0.6
        bid, ask = (f"{price - 0.01:.2f}", f"{price + 0.01:.2f}") if quoted else ("", "")
        size = rng.choice(["", "0", str(rng.randint(1, 500))])
        lines.append(f"{rng.choice(['IWM', 'QQQ', 'SPY', 'DIA'])},{ts},{price},{size},{bid},{ask}")
    path.write_text("\n".join(lines) + "\n")
    return read_table(path)


def test_columns_are_the_ticks_of_the_rows(rotation_csv, tmp_path):
    bars = read_table(rotation_csv).sorted_by_time()
    quotes = ticks_table(tmp_path)
    for table, seconds in ((bars, 86_400), (quotes, 60)):
        fed = np.array([s != "DIA" for s in table.symbols], dtype=bool)
        plan = ReplayPlan(table, fed, seconds)
        for lo, hi in [(0, len(table)), *plan.blocks(0, 37)]:
            assert plan.columns(lo, hi).ticks(SOURCE) == plan.ticks(lo, hi)
    assert any(t.bid is None for t in plan.ticks(0, len(quotes)))
    assert any(t.bid is not None for t in plan.ticks(0, len(quotes)))


def test_columns_through_the_pipeline_give_what_ticks_give(rotation_csv, universe_file):
    from agents.analytics.pipeline import Pipeline
    from rotation.config import load_universe
    from streams.partitioning import partitioner

    universe = load_universe(universe_file)
    table = read_table(rotation_csv).sorted_by_time()
    plan = ReplayPlan(table, np.ones(len(table), dtype=bool), 86_400)
    by_ticks, by_columns = (Pipeline(universe, partitioner(4)) for _ in range(2))
    for lo, hi in plan.blocks(0, 40):
        by_ticks.apply_batch(plan.ticks(lo, hi))
        by_columns.apply_columns(plan.columns(lo, hi))
    for pipeline in (by_ticks, by_columns):
        pipeline.finish()
    assert len(by_ticks.snapshots) == 120 and by_ticks.signals
    assert by_columns.snapshots == by_ticks.snapshots
    assert by_columns.signals == by_ticks.signals


def test_frames_from_columns_are_the_frames_of_the_ticks(rotation_csv, tmp_path):
    from rotation.replay_frames import frames_from_columns
    from streams.codec import frames_for
    from streams.partitioning import partitioner

    home = partitioner(4)
    for table in (read_table(rotation_csv).sorted_by_time(), ticks_table(tmp_path)):
        plan = ReplayPlan(table, np.ones(len(table), dtype=bool), 86_400)
        ticks = plan.ticks(0, len(table))
        for max_ticks in (1, 7, 2000):
            expected = frames_for(ticks, max_ticks, {t.symbol: home(t.symbol) for t in ticks})
            got = frames_from_columns(plan.columns(0, len(table)), max_ticks, home, SOURCE)
            assert got == expected


# Daily bars as vendors stamp them, on the XNYS sessions of the default [calendar].


def stamped_copies(tmp_path: Path, since: str = "2015-01-01") -> dict[str, Path]:
    """The real daily ETF closes in three files that differ only in the stamp of each
    row: the date alone, the close (21:00 UTC, as vendors stamp daily aggregates) and
    midnight New York (04:00 or 05:00 UTC)."""
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    columns = ("Open", "High", "Low", "Close", "Volume")
    stamps = {
        "date": lambda day: day,
        "close": lambda day: f"{day}T21:00:00Z",
        "midnight_new_york": lambda day: (
            datetime.fromisoformat(day).replace(tzinfo=new_york).isoformat()
        ),
    }
    files = {name: tmp_path / f"etf_{name}.csv" for name in stamps}
    handles = {name: path.open("w", newline="") for name, path in files.items()}
    try:
        writers = {name: csv.writer(handle) for name, handle in handles.items()}
        for writer in writers.values():
            writer.writerow(["symbol", "timestamp", *(c.lower() for c in columns)])
        for symbol in ("IWM", "QQQ", "SPY", "DIA"):
            with (ETF_DAILY / f"{symbol}.csv").open(newline="") as f:
                for row in csv.DictReader(f):
                    if row["Date"] >= since:
                        for name, writer in writers.items():
                            stamp = stamps[name](row["Date"])
                            writer.writerow([symbol, stamp, *(row[c] for c in columns)])
    finally:
        for handle in handles.values():
            handle.close()
    return files


@pytest.mark.skipif(not ETF_DAILY.is_dir(), reason=f"real market data not present: {ETF_DAILY}")
def test_daily_bars_stamped_at_the_close_or_midnight_new_york_give_the_date_only_metrics(
    tmp_path,
):
    files = stamped_copies(tmp_path)
    assert "2025-11-28T21:00:00Z" in files["close"].read_text()  # an early close (13:00)
    assert "2015-07-01T00:00:00-04:00" in files["midnight_new_york"].read_text()
    outputs = {}
    for name, path in files.items():
        out = tmp_path / f"{name}.jsonl"
        done = replay(path, "--config", EXAMPLE_CONFIG, "--out", out)
        assert "0 late ticks" in done.stderr
        outputs[name] = out.read_bytes()
    assert outputs["date"]
    assert outputs["close"] == outputs["date"]
    assert outputs["midnight_new_york"] == outputs["date"]
    lines = [json.loads(line) for line in outputs["date"].splitlines()]
    ends = sorted({line["data"]["ts"] for line in lines if line["type"] == "metrics"})
    # Each daily bar is its session's: it ends at that session's close.
    assert datetime.fromtimestamp(ends[0] / 1e6, UTC).isoformat() == "2015-01-02T21:00:00+00:00"
    early = datetime.fromisoformat("2025-11-28T18:00:00+00:00").timestamp() * 1_000_000
    assert int(early) in ends


XNYS_UNIVERSE = SMALL_UNIVERSE.replace('exchange = "24/7"', 'exchange = "XNYS"')


@pytest.mark.parametrize(
    ("content", "seconds", "expected"),
    [
        (
            "symbol,timestamp,close\nIWM,2025-12-24,1\nIWM,2025-12-25,2\nIWM,2025-12-26,3\n",
            None,
            ["row 2 (line 3)", "2025-12-25T00:00:00Z is on a date without a session of XNYS"],
        ),
        (
            "symbol,timestamp,close\nIWM,2025-12-24,1\nIWM,2025-12-24T21:00:00Z,2\n"
            "IWM,2025-12-26,3\n",
            86_400,
            ["a second IWM bar of the XNYS session", "the first is row 1"],
        ),
        (
            "symbol,timestamp,close\n"
            + "".join(f"IWM,2026-01-05T{h:02d}:00:00-05:00,{h}\n" for h in range(10, 15)),
            3600,
            ["row 1 (line 2)", "3600 s bars from each XNYS session's open", "14:30:00Z"],
        ),
    ],
    ids=["holiday", "two-stamps-one-session", "intraday-off-the-session-grid"],
)
def test_bars_off_the_sessions_are_refused_with_file_row_and_what_to_do(
    content, seconds, expected, tmp_path
):
    config = tmp_path / "xnys.toml"
    config.write_text(XNYS_UNIVERSE)
    path = tmp_path / "bars.csv"
    path.write_text(content)
    flags = [] if seconds is None else ["--bar-seconds", seconds]
    done = replay(path, "--config", config, *flags, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("rotation replay: error: ") and str(path) in message
    for part in expected:
        assert part in message, message
