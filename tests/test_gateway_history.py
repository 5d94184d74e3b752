"""The gateway's protocol core without I/O: numbering, resume, sessions, outbox, limits."""

from __future__ import annotations

import json

import msgspec

from gateway.history import History, epoch_of
from gateway.messages import Position
from gateway.outbox import Outbox
from gateway.ratelimit import RateLimiter
from gateway.server import frame_size
from gateway.session import Session, bearer_token_ok
from gateway.settings import GatewaySettings
from tests.helpers import assert_valid
from tests.test_gateway_server import make_metrics, make_signal


def feed(history: History, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        history.add_signal(make_signal(i), emit_ts=i)
        history.add_metrics(make_metrics(i), emit_ts=i)


def decoded(payloads: list[bytes]) -> list[dict]:
    return [json.loads(p) for p in payloads]


def test_every_channel_counts_gaplessly_and_copies_are_dropped():
    history = History()
    feed(history, 3)
    history.add_signal(make_signal(2), emit_ts=9)  # Kafka delivered it twice
    history.add_metrics(make_metrics(1), emit_ts=9)  # an older snapshot, replayed
    history.add_signal(make_signal(4, subject="pair:RSP/SPY"), emit_ts=9)
    assert history.head("signals").seq == 4
    assert history.head("signals:pair:IWM/QQQ").seq == 3
    assert history.head("signals:pair:RSP/SPY").seq == 1
    assert history.head("metrics").seq == 3
    assert history.duplicates == {"signals": 1, "metrics": 1}


def test_the_same_records_give_the_same_messages_after_a_rebuild():
    first, second = History(), History()
    for history in (first, second):
        history.epochs["signals"] = epoch_of("rotation.signals", 0, 0, 1_000, b"{}")
        feed(history, 5)
    a = [e.payload for e in first.channels["signals"].retained]
    b = [e.payload for e in second.channels["signals"].retained]
    assert a == b and json.loads(a[0])["epoch"] == first.epochs["signals"]
    assert epoch_of("rotation.signals", 0, 0, 1_001, b"{}") != first.epochs["signals"]


def test_recover_replays_exactly_the_missed_messages_or_says_why_not():
    history = History(keep_signals=5)
    history.epochs["signals"] = "e"
    feed(history, 10)
    header, payloads = history.recover("signals", Position("e", 7))
    assert (header.from_seq, header.to_seq, header.count) == (8, 10, 3)
    assert [m["seq"] for m in decoded(payloads)] == [8, 9, 10]
    header, payloads = history.recover("signals", Position("e", 5))  # oldest kept is 6
    assert header.count == 5 and [m["seq"] for m in decoded(payloads)] == [6, 7, 8, 9, 10]
    header, payloads = history.recover("signals", Position("e", 4))  # 5 is gone
    assert header.reason is not None and "starts at 6" in header.reason
    assert [m["seq"] for m in decoded(payloads)] == [6, 7, 8, 9, 10]
    header, _ = history.recover("signals", Position("other", 9))
    assert "epoch" in (header.reason or "")
    header, _ = history.recover("signals", Position("e", 11))
    assert "ahead" in (header.reason or "")
    header, payloads = history.recover("signals", Position("", 0))  # from the start
    assert "older" in (header.reason or "")  # seq 1 is no longer kept


def test_snapshot_of_metrics_is_the_latest_per_subject():
    history = History()
    feed(history, 3)
    history.add_metrics(make_metrics(1, "pair:RSP/SPY"), emit_ts=1)
    header, payloads = history.recover("metrics", None)
    messages = decoded(payloads)
    assert header.reason is None and header.seq == 4 and header.count == 2
    assert [(m["data"]["subject"], m["seq"]) for m in messages] == [
        ("pair:IWM/QQQ", 3),
        ("pair:RSP/SPY", 4),
    ]
    for message in messages:
        assert_valid("ws.server.metrics.json", message)
    header, payloads = history.recover("metrics:pair:RSP/SPY", None)
    assert [m["seq"] for m in decoded(payloads)] == [1]
    header, payloads = history.recover("signals:pair:NOT/SEEN", None)
    assert (header.seq, header.count, payloads) == (0, 0, [])


def test_snapshot_of_metrics_keeps_the_order_subjects_first_appeared_in():
    """A client joining while an interval is half delivered still gets the subjects in
    the engine's order (the monitor's tables follow it), not newest-first."""
    history = History()
    for i, subject in enumerate(("pair:IWM/QQQ", "pair:SMALL/MEGA", "pair:RSP/SPY")):
        history.add_metrics(make_metrics(1, subject), emit_ts=i)
    history.add_metrics(make_metrics(2, "pair:IWM/QQQ"), emit_ts=9)  # next interval begins
    header, payloads = history.recover("metrics", None)
    assert header.seq == 4
    assert [(m["data"]["subject"], m["data"]["bars"]) for m in decoded(payloads)] == [
        ("pair:IWM/QQQ", 2),
        ("pair:SMALL/MEGA", 1),
        ("pair:RSP/SPY", 1),
    ]


def test_outbox_conflates_metrics_and_names_what_it_dropped():
    box = Outbox(max_queue=3)
    assert box.push(b"m1", ("metrics", "pair:A"), 1)
    assert box.push(b"s1")
    assert box.push(b"m2", ("metrics", "pair:A"), 2)
    assert box.push(b"m3", ("metrics", "pair:A"), 3)
    assert len(box) == 2 and box.conflated == 2
    assert box.pop() == [b"s1"]
    notice, frame = box.pop()
    assert json.loads(notice) == {
        "type": "conflated",
        "channel": "metrics",
        "seqs": [1, 2],
    }
    assert frame == b"m3" and box.pop() == []
    for i in range(3):
        assert box.push(f"s{i}".encode())
    assert not box.push(b"one too many")


def test_bytes_sent_count_the_frames_websockets_itself_sends():
    from websockets.frames import Frame, Opcode

    for size in (0, 125, 126, 65535, 65536):
        payload = b"x" * size
        frame = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
        assert frame_size(size) == len(frame)


def test_rate_limiter_allows_bursts_then_the_rate_and_spots_a_flood():
    limiter = RateLimiter(rate=10, burst=5, flood_limit=3)
    assert all(limiter.allow(0.0) for _ in range(5))
    assert not limiter.allow(0.0)
    assert limiter.allow(0.1)  # one token back after 1/rate seconds
    assert not any(limiter.allow(0.1) for _ in range(3))
    assert limiter.flooding
    limiter.allow(10.0)  # a calm client gets its full bucket back
    assert not limiter.flooding


def test_bearer_header_parsing():
    assert bearer_token_ok("Bearer abc", "abc")
    assert bearer_token_ok("bearer   abc ", "abc")
    assert not bearer_token_ok("Basic abc", "abc")
    assert not bearer_token_ok("Bearer abd", "abc")
    assert not bearer_token_ok(None, "abc")
    assert not bearer_token_ok("Bearer ä", "abc") and bearer_token_ok("Bearer ä", "ä")


def test_session_subscribe_answers_ack_then_header_then_state():
    history = History()
    feed(history, 2)
    session = Session(history, GatewaySettings(), authenticated=True)
    request = {"op": "subscribe", "channels": ["signals"], "filter": {"min_score": 0.1}, "id": 3}
    outcome = session.receive(msgspec.json.encode(request), now=0.0, now_us=1)
    ack, header, *data = decoded(outcome.messages)
    assert ack == {
        "type": "subscribed",
        "channels": ["signals"],
        "filters": {"signals": {"min_score": 0.1}},
        "id": 3,
    }
    assert header["type"] == "snapshot" and header["count"] == 2 and len(data) == 2
    assert outcome.close is None
