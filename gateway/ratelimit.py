"""Requests per second per connection: a token bucket (sans-I/O, the caller gives the time)."""

from __future__ import annotations


class RateLimiter:
    """Allows ``rate`` requests per second on average and bursts of ``burst``.

    ``rejected`` counts the requests refused since the bucket was last full: a client
    that keeps sending while limited passes ``flood_limit`` and is closed (1008).
    """

    def __init__(self, rate: float, burst: int, flood_limit: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.flood_limit = flood_limit
        self.tokens = float(self.burst)
        self.rejected = 0
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        if self._last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= self.burst:
            self.rejected = 0
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.rejected += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.rejected > self.flood_limit
