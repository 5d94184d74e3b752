"""The pure checks of incoming ticks (agents.analytics.tick_checks) and the pure parts of
`rotation deadletter` (rotation.deadletter_report): no broker needed."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.analytics.tick_checks import (
    MAX_EVENT_TIME,
    TickGate,
    TickRules,
    decode_message,
    when,
)
from agents.bar_agent import produced_at_us, producer_of
from agents.deadletters import dead_letter
from rotation.deadletter_report import Report, preview, to_entry
from streams.codec import columnar_frame, decode_deadletter, encode, frames_for
from streams.partitioning import partition_for, partitioner
from streams.records import Tick
from streams.units import MICROS

DAY = 86_400 * MICROS
NOW = 1_795_000_000_000_000  # 2026-11-18, a fixed "produced at" time: the checks use no clock
PARTITIONS = 4
P = partition_for("IWM", PARTITIONS)
OTHER = next(s for s in ("QQQ", "SPY", "AAPL", "MSFT", "NVDA") if partition_for(s, 4) != P)
UNIVERSE = {"IWM", OTHER}


def gate(**rules: float) -> TickGate:
    return TickGate(P, partitioner(PARTITIONS), UNIVERSE, TickRules(**rules))


def tick(ts: int = NOW, price: float = 10.0, symbol: str = "IWM", source: str = "feed") -> Tick:
    return Tick(symbol=symbol, ts=ts, price=price, source=source)


def verdict(data: bytes | None, g: TickGate | None = None, producer: str = "hdr"):
    message = decode_message(data, producer)
    passed, refused = (g or gate()).check(message, NOW)
    return used(message, passed), message.rejected + refused


def used(message, passed) -> list[Tick]:
    """The ticks that passed, as records with their own sources."""
    return [message.tick(int(row)) for row in passed.row]


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (None, "malformed", "empty message"),
        (b"", "malformed", "empty message"),
        (b"\x00\xff", "malformed", "not JSON"),
        (b'{"symbol": "IWM", "ts": 1, "pri', "malformed", "not JSON: Input data was truncated"),
        (b"[" * 100_000, "invalid", "Expected `object`"),
        (b'{"a":' * 50_000, "malformed", "nested too deeply"),
        (b"[1, 2]", "invalid", "not a tick frame"),
        (b'"IWM"', "invalid", "not a tick frame"),
        (b'{"ticks": []}', "invalid", "no ticks"),
        (b'{"ticks": 5}', "invalid", "not a tick frame"),
        (b'{"v": 2, "ticks": [{"symbol": "IWM", "ts": 1, "price": 1}]}', "invalid", "v=2"),
        (b'{"symbol": "IWM", "ts": 1}', "invalid", "missing required field `price`"),
        (b'{"symbol": "IWM", "ts": "1", "price": 1}', "invalid", "`$.ts`"),
        (b'{"symbol": "IWM", "ts": 1.5, "price": 1}', "invalid", "`$.ts`"),
        (b'{"symbol": "IWM", "ts": -1, "price": 1}', "invalid", "`$.ts`"),
        (b'{"symbol": "IWM", "ts": 1, "price": NaN}', "invalid", "NaN is not a JSON number"),
        (b'{"symbol": "IWM", "ts": 1, "price": -Infinity}', "invalid", "Infinity"),
        (b'{"symbol": "IWM", "ts": 1, "price": 1e999}', "invalid", "`$.price`"),
        (b'{"symbol": "IWM", "ts": 1, "price": null}', "invalid", "`$.price`"),
        (b'{"symbol": "IWM", "ts": 1, "price": 0}', "invalid", "`$.price`"),
        (b'{"symbol": "IWM", "ts": 1, "price": 1, "size": -1}', "invalid", "`$.size`"),
        (b'{"symbol": "IWM", "ts": 1, "price": 1, "bid": 0}', "invalid", "`$.bid`"),
        (b'{"symbol": "", "ts": 1, "price": 1}', "invalid", "`$.symbol`"),
        (b'{"symbol": "iwm", "ts": 1, "price": 1}', "invalid", "`$.symbol`"),
    ],
)
def test_a_message_that_is_no_tick_is_refused_whole_with_a_reason(data, reason, words):
    passed, rejected = verdict(data)
    assert passed == []
    assert [r.reason for r in rejected] == [reason]
    assert words in rejected[0].detail
    assert rejected[0].original == (data or b"")


def test_the_source_is_the_ticks_own_else_the_producers():
    _, [named] = verdict(b'{"symbol": "IWM", "ts": 1, "price": -1, "source": "feedX"}')
    assert named.source == "feedX"
    _, [nan] = verdict(b'{"symbol": "IWM", "ts": 1, "price": NaN, "source": "feedY"}')
    assert nan.source == "feedY"
    _, [anonymous] = verdict(b'{"symbol": "IWM", "ts": 1, "price": -1, "source": 5}')
    assert anonymous.source == "hdr"
    _, [frame] = verdict(b'{"ticks": [{"symbol": "IWM", "source": "f"}]}')
    assert frame.source == "f"
    _, [unknown] = verdict(encode(Tick(symbol="ZZZ", ts=NOW, price=1.0)))  # source defaults
    assert unknown.source == "hdr"


def test_one_bad_tick_of_a_frame_is_refused_with_its_own_bytes_and_the_others_go_on():
    good = b'{"symbol":"IWM","ts":%d,"price":10}' % NOW
    bad = b'{ "symbol" : "IWM", "ts": %d, "price": -1, "source": "b" }' % NOW
    unknown = b'{"symbol":"ZZZ","ts":%d,"price":10,"source":"u"}' % NOW
    frame = b'{"ticks": [' + good + b",\n  " + bad + b",  " + unknown + b"]}"
    passed, rejected = verdict(frame)
    assert [t.symbol for t in passed] == ["IWM"]
    assert [(r.reason, r.original, r.source) for r in rejected] == [
        ("invalid", bad, "b"),
        ("unknown_symbol", unknown, "u"),
    ]
    assert rejected[0].detail.startswith("tick 2 of 3:")


def test_a_valid_frame_gives_each_refused_tick_its_own_bytes():
    ticks = [tick(NOW, 10.0), tick(NOW, 11.0, OTHER), tick(NOW, 12.0, "ZZZ")]
    frame = encode({"v": 1, "ticks": ticks})
    message = decode_message(frame)
    passed, refused = gate().check(message, NOW)
    assert used(message, passed) == ticks[:1]
    assert [r.original for r in refused] == [encode(t) for t in ticks[1:]]
    assert [r.reason for r in refused] == ["wrong_partition", "unknown_symbol"]


def test_a_bare_ticks_original_is_the_whole_message():
    data = b'{"symbol": "ZZZ", "ts": %d, "price": 10}' % NOW
    _, [rejection] = verdict(data)
    assert rejection.original == data and rejection.reason == "unknown_symbol"


def test_unknown_symbol_is_named_before_wrong_partition():
    g = TickGate(P, partitioner(PARTITIONS), {"IWM"}, TickRules())  # OTHER is not in this universe
    _, [rejection] = verdict(encode(tick(symbol=OTHER)), g)
    assert rejection.reason == "unknown_symbol"


def test_future_is_relative_to_the_newest_event_time_or_the_production_time():
    g = gate(max_ahead_seconds=86_400)
    assert verdict(encode(tick(NOW + DAY - 1)), g)[0]  # a day ahead of the clock: fine
    _, [ahead] = verdict(encode(tick(NOW + 3 * DAY)), g)
    assert ahead.reason == "future" and "max_ahead_seconds" in ahead.detail
    # A simulator or a fast replay runs ahead of the wall clock one step at a time.
    for day in range(1, 30):
        assert verdict(encode(tick(NOW + day * DAY // 2)), g)[0]
    assert g.newest == NOW + 29 * DAY // 2
    # A live feed that resumes after a long pause is near its production time.
    later = gate(max_ahead_seconds=86_400)
    later.restore(NOW - 90 * DAY)
    assert verdict(encode(tick(NOW)), later)[0]


def test_ticks_in_nanoseconds_or_beyond_2_to_the_53_are_future_even_without_a_bound():
    _, [nanos] = verdict(encode(tick(NOW * 1000)))
    assert nanos.reason == "future"
    _, [huge] = verdict(encode(tick(MAX_EVENT_TIME + 1)), gate(max_ahead_seconds=0))
    assert huge.reason == "future" and "2**53" in huge.detail
    assert verdict(encode(tick(NOW + 3650 * DAY)), gate(max_ahead_seconds=0))[0]


def test_past_is_off_by_default_and_relative_to_the_production_time():
    assert verdict(encode(tick(1)))[0]  # 1970: a replay of history is old on purpose
    g = gate(max_age_seconds=86_400)
    _, [old] = verdict(encode(tick(NOW - 2 * DAY)), g)
    assert old.reason == "past" and "max_age_seconds" in old.detail
    assert verdict(encode(tick(NOW - DAY + 1)), g)[0]


def test_rules_refuse_negative_bounds():
    with pytest.raises(ValueError, match="max_age_seconds"):
        TickRules(max_age_seconds=-1)
    with pytest.raises(ValueError, match="max_ahead_seconds"):
        TickRules(max_ahead_seconds=float("inf"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_no_bytes_make_the_checks_raise(data):
    message = decode_message(data)
    passed, refused = gate(max_age_seconds=1).check(message, NOW)
    for rejection in message.rejected + refused:
        assert rejection.reason in {
            "malformed",
            "invalid",
            "unknown_symbol",
            "wrong_partition",
            "future",
            "past",
        }
        assert isinstance(rejection.original, bytes)
    assert all(isinstance(t, Tick) for t in used(message, passed))


def test_event_times_read_as_iso_utc():
    assert when(1_795_594_593_569_752) == "2026-11-25T08:16:33.569752Z (1795594593569752)"
    assert "beyond the year 9999" in when(10**20)


def test_producer_header_and_kafka_timestamp():
    assert producer_of([("source", b"feed-1"), ("x", b"y")]) == "feed-1"
    assert producer_of({"source": b"feed-2"}) == "feed-2"
    assert producer_of(None) == producer_of([]) == "unknown"
    assert produced_at_us(1_795_000_000_123) == 1_795_000_000_123_000
    assert produced_at_us(1_795_000_000_123.0004) == 1_795_000_000_123_000  # Faust: s * 1000
    assert produced_at_us(-1) > 1_700_000_000_000_000  # none: this worker's clock


def test_dead_letter_record_keeps_bytes_and_bounds_text():
    letter = decode_deadletter(dead_letter("invalid", "x" * 900, "t", 1, 2, b"\xff\x00", "s" * 99))
    assert letter.original == b"\xff\x00"
    assert len(letter.detail) == 500 and len(letter.source) == 64
    assert letter.source == "s" * 64


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"", "(empty)"),
        (b"plain", "plain"),
        (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # no terminal escape gets through
        (b"a\nb\tc\x00", "a\\nb\\tc\\x00"),
        (b"\xff\xfe", "\\xff\\xfe"),
        ("caf\u00e9 \u202eevil".encode(), "caf\u00e9 \\u202eevil"),  # bidi override escaped
        (b"x" * 500, "x" * 79 + "\u2026"),
    ],
)
def test_preview_is_one_safe_line(data, shown):
    assert preview(data) == shown


def test_report_counts_every_entry_and_keeps_the_latest_that_match():
    report = Report("rotation.deadletter", limit=2, reason="late")
    for offset, reason in enumerate(["late", "invalid", "late", "late", "invalid"]):
        value = dead_letter(reason, "d", "quotes.ticks", 0, offset, b"x", f"src{offset % 2}")
        report.add(to_entry(0, offset, value))
    report.add(to_entry(0, 5, b"not a dead letter"))
    document = report.to_json()
    assert document["counts"] == {"(undecodable)": 1, "invalid": 2, "late": 3}
    assert document["total"] == 6
    assert [e["offset"] for e in document["latest"]] == [3, 2]  # newest first, late only
    assert base64.b64decode(document["latest"][0]["original"]) == b"x"
    assert report.sources["late"] == {"src0": 2, "src1": 1}


def test_a_columnar_frame_decodes_to_the_ticks_it_was_made_of():
    ticks = [tick(NOW, 10.0), tick(NOW + 1, 10.5), tick(NOW + 2, 11.0, "ZZZ")]
    ticks[1] = Tick(symbol="IWM", ts=NOW + 1, price=10.5, size=300.0, bid=10.4, source="feed")
    message = decode_message(encode(columnar_frame(ticks)))
    assert message.rejected == []
    assert message.ticks == ticks
    passed, refused = gate().check(message, NOW)
    assert used(message, passed) == ticks[:2]
    [unknown] = refused
    assert (unknown.reason, unknown.source) == ("unknown_symbol", "feed")
    assert unknown.original == encode(ticks[2])  # the tick as a version 1 object


def test_a_bad_tick_of_a_columnar_frame_is_refused_alone():
    frame = {
        "v": 2,
        "symbols": ["IWM", "iwm"],
        "symbol": [0, 0, 1, 5, 0],
        "ts": [NOW, -1, NOW, NOW, NOW + 5],
        "price": [10.0, 10.0, 10.0, 10.0, -2.0],
        "size": [1.0, 1.0, 1.0, 1.0, 1.0],
        "source": "feed",
    }
    passed, rejected = verdict(encode(frame))
    assert [t.ts for t in passed] == [NOW]
    assert [r.reason for r in rejected] == ["invalid"] * 4
    details = [r.detail for r in rejected]
    assert details[0].startswith("tick 2 of 5: ts -1 must be >= 0")
    assert "symbol 'iwm' is not a ticker symbol" in details[1]
    assert "symbol index 5 is not an index of symbols (0..1)" in details[2]
    assert "price -2.0 must be a finite number > 0" in details[3]
    assert rejected[3].original == encode(
        {"symbol": "IWM", "ts": NOW + 5, "price": -2.0, "size": 1.0, "source": "feed"}
    )


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ({"symbols": ["IWM"], "symbol": [0, 0], "ts": [NOW], "price": [1.0, 2.0]}, "lengths"),
        ({"symbols": ["IWM"], "symbol": [], "ts": [], "price": []}, "no ticks"),
        ({"symbols": ["IWM"], "symbol": [0], "ts": [2**70], "price": [1.0]}, "out of range"),
        ({"symbols": ["IWM"], "symbol": [0], "ts": [NOW], "price": ["1"]}, "(v=2)"),
        ({"symbols": ["IWM"], "symbol": [0], "ts": [NOW], "price": [1.0], "v": 3}, "v=3"),
    ],
)
def test_a_columnar_frame_that_does_not_hold_together_is_refused_whole(frame, words):
    passed, rejected = verdict(encode({"v": 2, **frame}))
    assert passed == []
    [rejection] = rejected
    assert rejection.reason == "invalid" and words in rejection.detail, rejection.detail


def test_frames_keep_each_source_and_split_at_the_limit():
    ticks = [tick(NOW + i, source="a" if i < 3 else "b") for i in range(5)]
    frames = frames_for(ticks, 2, {"IWM": P})
    decoded = [decode_message(data) for _, data in frames]
    assert [(m.source, len(m.columns)) for m in decoded] == [("a", 2), ("a", 1), ("b", 2)]
    assert [t for m in decoded for t in m.ticks] == ticks
