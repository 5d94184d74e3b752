"""Client requests: each malformed one is answered with an error that names the problem."""

from __future__ import annotations

import pytest

from gateway.messages import Auth, Error, Filter, Ping, Position, Subscribe, Unsubscribe
from gateway.requests import MAX_REQUEST_BYTES, parse_request


def test_requests_parse():
    request = parse_request('{"op": "subscribe", "channels": ["signals", "metrics"], "id": 7}')
    assert request == Subscribe("subscribe", ["signals", "metrics"], id=7)
    assert isinstance(parse_request('{"op": "unsubscribe", "channels": ["metrics"]}'), Unsubscribe)
    assert parse_request('{"op": "auth", "token": "t"}') == Auth("auth", "t")
    assert parse_request('{"op": "ping", "id": "x"}') == Ping("ping", "x")


def test_subscribe_with_subject_channel_filter_and_since():
    request = parse_request(
        '{"op": "subscribe", "channels": ["signals:pair:IWM/QQQ"],'
        ' "filter": {"kinds": ["rs_breakout"], "min_score": 0.5},'
        ' "since": {"signals:pair:IWM/QQQ": {"epoch": "ab", "seq": 41}}}'
    )
    assert isinstance(request, Subscribe)
    assert request.filter == Filter(kinds=["rs_breakout"], min_score=0.5)
    assert request.since == {"signals:pair:IWM/QQQ": Position("ab", 41)}


@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("{not json", "bad_json", "not valid JSON"),
        ("[1, 2]", "bad_request", "expected a JSON object"),
        ('{"op": "dance"}', "unknown_op", "unknown op 'dance'"),
        ('{"channels": ["signals"]}', "unknown_op", "unknown op None"),
        ('{"op": "subscribe", "channels": ["gossip"]}', "unknown_channel", "['gossip']"),
        ('{"op": "subscribe", "channels": ["signals:IWM"]}', "unknown_channel", "signals:IWM"),
        ('{"op": "subscribe", "channels": [3]}', "unknown_channel", "[3]"),
        ('{"op": "subscribe", "channels": "signals"}', "bad_request", "Expected `array`"),
        ('{"op": "subscribe", "channels": []}', "bad_request", "length >= 1"),
        ('{"op": "subscribe"}', "bad_request", "missing required field `channels`"),
        ('{"op": "subscribe", "channels": ["signals"], "x": 1}', "bad_request", "unknown field"),
        (
            '{"op": "subscribe", "channels": ["signals"], "since": {"metrics": {"epoch": "", '
            '"seq": 0}}}',
            "bad_request",
            "does not subscribe to",
        ),
        (
            '{"op": "subscribe", "channels": ["metrics"], "filter": {"kinds": ["rs_breakout"]}}',
            "bad_request",
            "metrics kinds are ['group', 'pair']",
        ),
        (
            '{"op": "subscribe", "channels": ["signals"], "filter": {"min_score": -1}}',
            "bad_request",
            ">= 0",
        ),
        ('{"op": "auth"}', "bad_request", "missing required field `token`"),
        ("x" * (MAX_REQUEST_BYTES + 1), "too_large", "limit"),
    ],
)
def test_malformed_requests_get_a_named_error(frame, code, fragment):
    answer = parse_request(frame)
    assert isinstance(answer, Error)
    assert answer.code == code
    assert fragment in answer.message


def test_error_echoes_the_request_id():
    answer = parse_request('{"op": "dance", "id": "abc"}')
    assert isinstance(answer, Error) and answer.id == "abc"


def test_the_size_limit_is_a_parameter():
    assert isinstance(parse_request('{"op": "ping"}', max_bytes=8), Error)
