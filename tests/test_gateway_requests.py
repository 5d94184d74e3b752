"""Client requests: each malformed one is answered with an error that names the problem."""

from __future__ import annotations

import pytest

from gateway.messages import Error, Subscribe, Unsubscribe
from gateway.requests import MAX_REQUEST_BYTES, parse_request


def test_subscribe_and_unsubscribe_parse():
    request = parse_request('{"op": "subscribe", "channels": ["signals", "metrics"], "id": 7}')
    assert request == Subscribe("subscribe", ["signals", "metrics"], 7)
    assert isinstance(parse_request('{"op": "unsubscribe", "channels": ["metrics"]}'), Unsubscribe)


@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("{not json", "bad_json", "not valid JSON"),
        ("[1, 2]", "bad_request", "expected a JSON object"),
        ('{"op": "dance"}', "unknown_op", "unknown op 'dance'"),
        ('{"channels": ["signals"]}', "unknown_op", "unknown op None"),
        ('{"op": "subscribe", "channels": ["gossip"]}', "unknown_channel", "['gossip']"),
        ('{"op": "subscribe", "channels": "signals"}', "bad_request", "Expected `array`"),
        ('{"op": "subscribe", "channels": []}', "bad_request", "length >= 1"),
        ('{"op": "subscribe"}', "bad_request", "missing required field `channels`"),
        ('{"op": "subscribe", "channels": ["signals"], "x": 1}', "bad_request", "unknown field"),
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
