"""The live feeds' pure parts: provider message in, events and ticks out (no socket, no Kafka).

Message sources are cited where the messages are defined, in ``tests/test_feed_adapters.py``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from rotation.cli import build_parser
from streams.feeds import alpaca, polygon, yahoo
from streams.feeds.errors import MissingExtra
from streams.feeds.protocol import (
    Fatal,
    Notice,
    ProviderError,
    Send,
    Subscribed,
    Ticks,
    micros_from_millis,
    micros_from_rfc3339,
    rejection,
)
from streams.feeds.shell import Backoff
from streams.records import Tick
from tests.test_feed_adapters import (
    ALPACA_CONNECTED,
    ALPACA_QUOTE,
    ALPACA_TRADE,
    POLYGON_QUOTE,
    POLYGON_TRADE,
    YAHOO_FRAMES,
)


def ticks_of(events: list) -> list[Tick]:
    return [tick for event in events if isinstance(event, Ticks) for tick in event.ticks]


# Timestamps.


def test_rfc3339_nanoseconds_truncate_to_the_microsecond():
    assert micros_from_rfc3339("2021-02-22T15:51:45.335689322Z") == 1_614_009_105_335_689
    assert micros_from_rfc3339("2021-02-22T15:51:44.208Z") == 1_614_009_104_208_000
    assert micros_from_rfc3339("2021-02-22T15:51:44Z") == 1_614_009_104_000_000
    assert micros_from_rfc3339("2021-02-22T10:51:44.5-05:00") == 1_614_009_104_500_000


@pytest.mark.parametrize(
    "text", ["2021-02-22", "2021-02-22T15:51:44", "2021-13-22T15:51:44Z", "yesterday"]
)
def test_rfc3339_rejects_what_is_not_a_full_time(text):
    with pytest.raises(ValueError, match="RFC 3339"):
        micros_from_rfc3339(text)


def test_millis_become_micros_exactly():
    assert micros_from_millis(1536036818784) == 1_536_036_818_784_000


# Alpaca.


def test_alpaca_handshake_answers_connected_with_auth_then_authenticated_with_subscribe():
    stream = alpaca.AlpacaStream(["AAPL", "AMD"], "key-id", "secret", feed="sip")
    assert stream.url == "wss://stream.data.alpaca.markets/v2/sip"
    assert stream.opened() == []
    sent = [e for e in stream.received(json.dumps(ALPACA_CONNECTED)) if isinstance(e, Send)]
    assert [json.loads(s.text) for s in sent] == [
        {"action": "auth", "key": "key-id", "secret": "secret"}
    ]
    sent = [
        e for e in stream.received('[{"T":"success","msg":"authenticated"}]') if isinstance(e, Send)
    ]
    assert [json.loads(s.text) for s in sent] == [
        {"action": "subscribe", "trades": ["AAPL", "AMD"], "quotes": ["AAPL", "AMD"]}
    ]


def test_alpaca_trade_and_quote_map_to_ticks():
    events = alpaca.AlpacaStream(["AAPL"], "k", "s").received(
        json.dumps([ALPACA_TRADE, ALPACA_QUOTE])
    )
    assert ticks_of(events) == [
        Tick("AAPL", 1_614_009_104_208_000, 126.55, 1.0, source="alpaca"),
        Tick("AMD", 1_614_009_105_335_689, (87.66 + 87.68) / 2, 0.0, 87.66, 87.68, "alpaca"),
    ]


@pytest.mark.parametrize(
    ("message", "kind", "auth"),
    [
        ({"T": "error", "code": 402, "msg": "auth failed"}, Fatal, True),
        ({"T": "error", "code": 409, "msg": "insufficient subscription"}, Fatal, True),
        ({"T": "error", "code": 405, "msg": "symbol limit exceeded"}, Fatal, False),
        ({"T": "error", "code": 406, "msg": "connection limit exceeded"}, ProviderError, None),
        ({"T": "error", "code": 407, "msg": "slow client"}, ProviderError, None),
    ],
)
def test_alpaca_errors_stop_the_feed_only_when_retrying_cannot_help(message, kind, auth):
    (event,) = alpaca.AlpacaStream(["AAPL"], "k", "s").received(json.dumps([message]))
    assert isinstance(event, kind)
    if kind is Fatal:
        assert event.auth is auth
    assert message["msg"] in event.text


def test_alpaca_one_sided_quote_and_unknown_types_are_skipped_not_ticks():
    one_sided = {**ALPACA_QUOTE, "bp": 0}
    events = alpaca.AlpacaStream(["AMD"], "k", "s").received(
        json.dumps([one_sided, {"T": "newtype", "S": "AMD"}])
    )
    assert ticks_of(events) == [] and all(isinstance(e, Notice) for e in events)


def test_alpaca_malformed_trade_is_a_warning_not_a_crash():
    (event,) = alpaca.AlpacaStream(["AAPL"], "k", "s").received(
        json.dumps([{**ALPACA_TRADE, "t": "not a time"}])
    )
    assert isinstance(event, Notice) and event.level == logging.WARNING


# Polygon.


def test_polygon_handshake_and_subscription_topics():
    stream = polygon.PolygonStream(["AAPL", "MSFT"], "api-key", quotes=False)
    (_, auth) = stream.received(
        '[{"ev":"status","status":"connected","message":"Connected Successfully"}]'
    )
    assert json.loads(auth.text) == {"action": "auth", "params": "api-key"}
    (_, subscribe) = stream.received(
        '[{"ev":"status","status":"auth_success","message":"authenticated"}]'
    )
    assert json.loads(subscribe.text) == {"action": "subscribe", "params": "T.AAPL,T.MSFT"}
    (confirmed,) = stream.received(
        '[{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]'
    )
    assert confirmed == Subscribed("T.AAPL")


def test_polygon_trade_and_quote_map_to_ticks():
    events = polygon.PolygonStream(["MSFT"], "k").received(
        json.dumps([POLYGON_TRADE, POLYGON_QUOTE])
    )
    assert ticks_of(events) == [
        Tick("MSFT", 1_536_036_818_784_000, 114.125, 100.0, source="polygon"),
        Tick(
            "MSFT", 1_536_036_818_784_000, (114.125 + 114.128) / 2, 0.0, 114.125, 114.128, "polygon"
        ),
    ]


@pytest.mark.parametrize(
    "status",
    [
        {"ev": "status", "status": "auth_failed", "message": "authentication failed"},
        {"ev": "status", "status": "error", "message": "authentication failed"},
        {"ev": "status", "status": "error", "message": "not authorized"},
    ],
)
def test_polygon_auth_failures_are_fatal(status):
    (event,) = polygon.PolygonStream(["AAPL"], "k").received(json.dumps([status]))
    assert isinstance(event, Fatal) and event.auth


def test_polygon_sequence_that_does_not_increase_is_reported():
    stream = polygon.PolygonStream(["MSFT"], "k")
    stream.received(json.dumps([POLYGON_TRADE]))
    events = stream.received(json.dumps([{**POLYGON_TRADE, "q": POLYGON_TRADE["q"] - 1}]))
    warnings = [e for e in events if isinstance(e, Notice) and e.level == logging.WARNING]
    assert len(ticks_of(events)) == 1 and "sequence" in warnings[0].text


# Yahoo.


@pytest.fixture
def yahoo_stream():
    pytest.importorskip("yfinance", reason="the yahoo feed needs pip install 'rotation[yahoo]'")
    return yahoo.YahooStream(["AAPL", "MSFT", "SPY", "TSLA", "BRK.B"])


def test_yahoo_float32_prices_become_the_decimal_that_was_sent():
    assert yahoo.float32_decimal(307.20001220703125) == 307.2
    assert yahoo.float32_decimal(407.4804992675781) == 407.4805
    assert yahoo.float32_decimal(94745.078125) == 94745.08


def test_yahoo_size_is_last_size_or_the_days_volume_increase():
    day = yahoo.trading_day(1589820933000)
    size, seen = yahoo.tick_size(0, 17557274, day, None)
    assert size == 0.0 and seen == yahoo.DayVolume(day, 17557274)
    size, seen = yahoo.tick_size(0, 17557426, day, seen)
    assert size == 152.0
    size, kept = yahoo.tick_size(0, 17000000, day, seen)  # late message: no negative size
    assert size == 0.0 and kept == seen
    assert yahoo.tick_size(49, 17557500, day, seen)[0] == 49.0
    next_day = yahoo.trading_day(1589820933000 + 86_400_000)
    assert yahoo.tick_size(0, 100, next_day, seen) == (0.0, yahoo.DayVolume(next_day, 100))


def test_yahoo_decodes_every_recorded_frame_like_the_independent_decoder(yahoo_stream):
    if not YAHOO_FRAMES.is_file():
        pytest.skip(f"recorded Yahoo frames not present: {YAHOO_FRAMES}")
    for frame in json.loads(YAHOO_FRAMES.read_text())["frames"]:
        expected = frame["decoded_by_tools/yahoo_pb_decode.py"]
        for message in (
            json.dumps({"type": "pricing", "message": frame["base64"]}),
            frame["base64"],
        ):
            (tick,) = ticks_of(yahoo_stream.received(message))
            assert tick.symbol == expected["id"]
            assert tick.ts == expected["time"] * 1000
            assert tick.price == yahoo.float32_decimal(expected["price"])


def test_yahoo_subscribes_on_open_and_as_heartbeat_with_yahoo_names(yahoo_stream):
    send, subscribed = yahoo_stream.opened()
    assert json.loads(send.text) == {"subscribe": ["AAPL", "MSFT", "SPY", "TSLA", "BRK-B"]}
    assert isinstance(subscribed, Subscribed)
    assert yahoo_stream.keepalive()[0].text == send.text
    assert yahoo_stream.keepalive_seconds == 15.0


def test_yahoo_garbage_is_skipped_with_a_warning(yahoo_stream):
    for message in ("not base64 !", '{"type":"pricing"}', "[1, 2]"):
        (event,) = yahoo_stream.received(message)
        assert isinstance(event, Notice) and event.level == logging.WARNING


def test_yahoo_without_yfinance_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance.pricing_pb2", None)
    with pytest.raises(MissingExtra, match=r"pip install 'rotation\[yahoo\]'"):
        yahoo.YahooStream(["AAPL"])


# Shared.


def test_backoff_is_full_jitter_exponential_with_a_cap():
    ceilings: list[float] = []
    backoff = Backoff(1.0, 10.0, uniform=lambda low, high: ceilings.append(high) or high)
    delays = [backoff.next() for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next() == 1.0


def test_ticks_the_worker_would_reject_are_recognised():
    assert rejection(Tick("AAPL", 1, 1.0)) is None
    assert rejection(Tick("aapl", 1, 1.0)) is not None
    assert rejection(Tick("AAPL", 1, 0.0)) is not None
    assert rejection(Tick("AAPL", 1, float("nan"))) is not None


# Command line.


@pytest.mark.parametrize(
    ("argv", "handler"),
    [
        (["feed"], "cmd_feed"),
        (["feed", "sim", "--seed", "3"], "cmd_feed_sim"),
        (["feed", "replay", "f.csv", "--speed", "60", "--resume"], "cmd_feed_replay"),
        (["feed", "yahoo"], "cmd_feed_yahoo"),
        (["feed", "alpaca", "IWM", "QQQ", "--feed", "sip"], "cmd_feed_alpaca"),
        (["feed", "polygon", "IWM", "--delayed"], "cmd_feed_polygon"),
    ],
)
def test_feed_subcommands_parse(argv, handler):
    args = build_parser().parse_args(argv)
    assert args.func.__name__ == handler


def test_feed_sim_keeps_its_flags_and_defaults():
    args = build_parser().parse_args(["feed", "sim"])
    assert (args.seed, args.speed, args.days, args.duration) == (7, 11_700.0, None, None)
    args = build_parser().parse_args(
        ["feed", "sim", "--seed", "3", "--speed", "60000", "--days", "2", "--duration", "5"]
    )
    assert (args.seed, args.speed, args.days, args.duration) == (3, 60000.0, 2, 5.0)


def test_the_feeds_package_documents_every_source():
    readme = (Path(__file__).resolve().parents[1] / "streams" / "feeds" / "README.md").read_text()
    for source in ("feed sim", "feed replay", "feed yahoo", "feed alpaca", "feed polygon"):
        assert f"rotation {source}" in readme
