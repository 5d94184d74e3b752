"""What `rotation up` says at its defaults: how soon the headline comes and how few signals.

Runs ``rotation up --headless --duration N`` from this checkout, subscribes to the
gateway's ``signals`` and ``metrics`` channels as soon as it is up, and prints:

- seconds from start to the first metrics and to the first headline (a
  ``rotation_regime`` signal), with what it said;
- signals by level and kind;
- simulated trading days covered (distinct New York dates of the metrics' event times)
  and the pairs that published metrics;
- headline and supporting signals per simulated trading day per pair (the average over
  every pair, and the most any one pair sent on one day).

Run: ``python -m benchmarks.story_signals [--duration 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
NEW_YORK = ZoneInfo("America/New_York")


def session_date(micros: int) -> str:
    """The New York date of a bar that ends at ``micros`` (its last microsecond's date)."""
    last = dt.datetime.fromtimestamp((micros - 1) / 1e6, dt.UTC)
    return last.astimezone(NEW_YORK).date().isoformat()


class Story:
    """Everything the subscriber saw, with arrival times since the start of `rotation up`."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_metrics: float | None = None
        self.signals: list[tuple[float, dict]] = []
        self.days: set[str] = set()
        self.pairs: set[str] = set()

    def take(self, message: dict) -> None:
        now = time.monotonic() - self.started
        kind, data = message.get("type"), message.get("data") or {}
        if kind == "metrics":
            if self.first_metrics is None:
                self.first_metrics = now
            self.days.add(session_date(data["ts"]))
            if data.get("kind") == "pair":
                self.pairs.add(data["subject"])
        elif kind == "signal":
            self.signals.append((now, data))


async def subscribe(url: str, story: Story, stop: asyncio.Event) -> None:
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["signals", "metrics"]}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:  # the gateway's shutdown notice at the end of the run
                return
            story.take(json.loads(raw))


async def run(duration: float) -> Story:
    command = [sys.executable, "-m", "rotation.cli", "up", "--headless"]
    command += ["--duration", str(duration)]
    started = time.monotonic()
    story = Story(started)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    stop = asyncio.Event()
    reader: asyncio.Task[None] | None = None
    async for line in process.stdout:
        text = line.decode(errors="replace").rstrip()
        if reader is None and text.startswith("[up] gateway at "):
            url = text.removeprefix("[up] gateway at ").strip()
            reader = asyncio.create_task(subscribe(url, story, stop))
    await process.wait()
    stop.set()
    if reader is not None:
        await reader
    return story


def report(story: Story) -> str:
    lines = []
    if story.first_metrics is not None:
        lines.append(f"first metrics           {story.first_metrics:6.1f} s after start")
    headline = next((s for s in story.signals if s[1]["kind"] == "rotation_regime"), None)
    if headline:
        at, data = headline
        lines.append(f"first headline          {at:6.1f} s after start: {data['summary']}")
    else:
        lines.append("first headline          none")
    by_level = collections.Counter(s[1].get("level", "?") for s in story.signals)
    by_kind = collections.Counter(s[1]["kind"] for s in story.signals)
    lines.append(
        f"signals                 {len(story.signals)}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_level.items()))
    )
    lines.append("  by kind               " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    days, pairs = len(story.days), len(story.pairs)
    lines.append(f"simulated trading days  {days}; pairs {pairs}")
    counted = [s for _, s in story.signals if s.get("level") in ("headline", "supporting")]
    per_pair_day = collections.Counter(
        (s["subject"], session_date(s["window_end"]))
        for s in counted
        if s["subject"].startswith("pair:")
    )
    if days and pairs:
        pair_signals = sum(per_pair_day.values())
        lines.append(
            f"headline + supporting per pair per day: {pair_signals / (days * pairs):.3f} "
            f"on average ({pair_signals} pair signals); at most "
            f"{max(per_pair_day.values(), default=0)} for one pair on one day"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args()
    story = asyncio.run(run(args.duration))
    print(report(story))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
