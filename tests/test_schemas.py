"""schemas/ is generated from the records; the files validate what the code writes."""

from __future__ import annotations

import json

import msgspec

from agents.analytics.rotation import signal_id
from gateway.messages import MetricsMessage, SignalMessage
from rotation.schemagen import check_schemas, generate
from streams.records import MetricsSnapshot, PairStats, Signal, Tick, TickFrame
from tests.helpers import SCHEMAS, assert_valid, validator


def test_schema_files_match_the_code():
    assert check_schemas(SCHEMAS) == []


def test_drift_is_detected(tmp_path):
    for name, schema in generate().items():
        (tmp_path / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert check_schemas(tmp_path) == []
    target = tmp_path / "topic.rotation.signals.json"
    target.write_text(target.read_text().replace('"score"', '"points"'))
    (tmp_path / "topic.gone.json").write_text("{}")
    problems = check_schemas(tmp_path)
    assert any("topic.rotation.signals.json: differs" in p for p in problems)
    assert any("topic.gone.json: no record generates it" in p for p in problems)


def test_layout_and_docstring_indentation_are_not_drift(tmp_path):
    """Older msgspec releases keep a docstring's indentation in ``description``."""

    def indent_descriptions(node):
        if isinstance(node, dict):
            return {
                k: v.replace("\n", "\n    ")
                if k == "description" and isinstance(v, str)
                else indent_descriptions(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [indent_descriptions(item) for item in node]
        return node

    generated = generate()
    assert any("\n" in s["description"] for s in generated.values())
    for name, schema in generated.items():
        (tmp_path / name).write_text(json.dumps(indent_descriptions(schema), indent=4))
    assert check_schemas(tmp_path) == []
    target = tmp_path / "topic.rotation.signals.json"
    target.write_text(target.read_text().replace('"score"', '"points"'))
    assert check_schemas(tmp_path) == [f"{target}: differs from the code (run `rotation schemas`)"]


def test_every_schema_file_is_a_valid_2020_12_schema():
    for path in SCHEMAS.glob("*.json"):
        validator(path.name)


def test_ticks_topic_accepts_a_frame_or_a_bare_tick_and_rejects_garbage():
    tick = Tick(symbol="IWM", ts=1_790_000_000_000_000, price=300.1, size=10, source="test")
    as_json = lambda r: json.loads(msgspec.json.encode(r))  # noqa: E731
    assert_valid("topic.quotes.ticks.json", as_json(TickFrame(ticks=[tick, tick])))
    assert_valid("topic.quotes.ticks.json", as_json(tick))
    bad = validator("topic.quotes.ticks.json")
    assert not bad.is_valid({"ticks": []})
    assert not bad.is_valid({"symbol": "IWM", "ts": 1, "price": -2.0})
    assert not bad.is_valid({"symbol": "iwm lower", "ts": 1, "price": 2.0})


def test_gateway_messages_validate():
    signal = Signal(
        id=signal_id("rs_crossover", "IWM/QQQ", "up", 5),
        kind="rs_crossover",
        subject="IWM/QQQ",
        direction="up",
        score=0.5,
        window_start=1,
        window_end=5,
        ts=5,
        summary="x",
        evidence={"rs": 0.42, "leader": "IWM", "previous": None},
    )
    snapshot = MetricsSnapshot(
        subject="pair:IWM/QQQ",
        kind="pair",
        ts=5,
        bar_seconds=900,
        bars=1,
        pair=PairStats("IWM", "QQQ", "configured", 0.42),
    )
    assert_valid(
        "ws.server.signal.json",
        json.loads(msgspec.json.encode(SignalMessage("signals", 1, signal))),
    )
    assert_valid(
        "ws.server.metrics.json",
        json.loads(msgspec.json.encode(MetricsMessage("metrics", 1, snapshot))),
    )
    assert not validator("ws.server.signal.json").is_valid(
        {"type": "signal", "channel": "signals", "seq": 0, "data": {}}
    )
