"""One client's conversation with the gateway, without any I/O (like websockets'
``protocol.py``): frames in, encoded messages out, and when to close.

The server feeds every received frame to :meth:`Session.receive` and writes what it
returns; the snapshot or replay of a subscribe is computed in the same call as the
subscription changes, so no live message can fall between them or arrive twice.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

import msgspec

from gateway.history import History
from gateway.messages import (
    CLOSE_POLICY_VIOLATION,
    FAMILIES,
    PROTOCOL_VERSION,
    Auth,
    Authenticated,
    Error,
    Limits,
    Ping,
    Pong,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Welcome,
)
from gateway.ratelimit import RateLimiter
from gateway.requests import parse_request
from gateway.settings import GatewaySettings
from gateway.subscriptions import Subscriptions, TooManySubscriptions

_encoder = msgspec.json.Encoder()


@dataclass
class Outcome:
    """What the server does after a frame: send ``messages``, then maybe close."""

    messages: list[bytes] = field(default_factory=list)
    close: tuple[int, str] | None = None


def bearer_token_ok(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header value carries ``token`` (RFC 6750)."""
    if header is None:
        return False
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower() == "bearer" and same_token(value.strip(), token)


def same_token(given: str, token: str) -> bool:
    """Constant-time comparison (any characters: compare_digest takes only ASCII str)."""
    return hmac.compare_digest(given.encode(), token.encode())


class Session:
    def __init__(
        self,
        history: History,
        settings: GatewaySettings,
        *,
        authenticated: bool,
        errors: dict[str, int] | None = None,
    ) -> None:
        self.history = history
        self.settings = settings
        self.authenticated = authenticated or settings.token is None
        self.subscriptions = Subscriptions(settings.max_subscriptions)
        self.rate = RateLimiter(
            settings.max_requests_per_second, settings.request_burst, settings.flood_limit
        )
        self.errors = errors if errors is not None else {}

    def welcome(self, now_us: int) -> bytes:
        s = self.settings
        limits = Limits(
            s.max_message_bytes,
            s.max_frame_bytes,
            s.max_requests_per_second,
            s.max_subscriptions,
            s.max_queue,
        )
        return _encoder.encode(
            Welcome(
                PROTOCOL_VERSION,
                now_us,
                s.heartbeat_interval,
                list(FAMILIES),
                not self.authenticated,
                limits,
            )
        )

    def auth_timed_out(self) -> Outcome:
        return self._refuse(None, "no auth request within the auth timeout")

    def receive(self, frame: str | bytes, now: float, now_us: int) -> Outcome:
        """Handle one frame; ``now`` is a monotonic clock in seconds."""
        if not self.rate.allow(now):
            error = Error(
                "rate_limited",
                f"more than {self.settings.max_requests_per_second:g} requests per second "
                f"(bursts of {self.settings.request_burst}); this request was dropped",
            )
            outcome = self._error(error)
            if self.rate.flooding:
                outcome.close = (CLOSE_POLICY_VIOLATION, "request flood")
            return outcome
        request = parse_request(frame, self.settings.max_message_bytes)
        if not self.authenticated:
            if isinstance(request, Auth):
                return self._authenticate(request)
            request_id = getattr(request, "id", None)
            return self._refuse(request_id, 'authenticate first: send {"op": "auth", ...}')
        if isinstance(request, Error):
            return self._error(request)
        if isinstance(request, Subscribe):
            return self._subscribe(request)
        if isinstance(request, Unsubscribe):
            self.subscriptions.remove(request.channels)
            return Outcome([self._ack(request.id)])
        if isinstance(request, Ping):
            return Outcome([_encoder.encode(Pong(now_us, request.id))])
        return self._authenticate(request)

    def _authenticate(self, request: Auth) -> Outcome:
        token = self.settings.token
        if token is not None and not same_token(request.token, token):
            return self._refuse(request.id, "wrong token")
        self.authenticated = True
        return Outcome([_encoder.encode(Authenticated(request.id))])

    def _refuse(self, request_id: str | int | None, why: str) -> Outcome:
        outcome = self._error(Error("unauthorized", why, request_id))
        outcome.close = (CLOSE_POLICY_VIOLATION, "unauthorized")
        return outcome

    def _subscribe(self, request: Subscribe) -> Outcome:
        try:
            self.subscriptions.add(request.channels, request.filter)
        except TooManySubscriptions as exc:
            return self._error(Error("too_many_subscriptions", str(exc), request.id))
        messages = [self._ack(request.id)]
        since = request.since or {}
        for channel in dict.fromkeys(request.channels):
            header, payloads = self.history.recover(
                channel, since.get(channel), self.subscriptions.channels[channel]
            )
            messages.append(_encoder.encode(header))
            messages.extend(payloads)
        return Outcome(messages)

    def _ack(self, request_id: str | int | None) -> bytes:
        subscribed = Subscribed(
            sorted(self.subscriptions.channels), self.subscriptions.filters(), request_id
        )
        return _encoder.encode(subscribed)

    def _error(self, error: Error) -> Outcome:
        self.errors[error.code] = self.errors.get(error.code, 0) + 1
        return Outcome([_encoder.encode(error)])
