"""The fixed-window rate limit with its X-RateLimit figures read by the hit itself.

Flask-Limiter counts a request with one Redis script, then asks Redis again for the window
(GET and TTL) to write the X-RateLimit headers: three round trips per limited request where
one does (bench/RESULTS.md, "What one lead costs").
"""

from __future__ import annotations

import time

from flask import has_request_context, request
from limits.storage import RedisStorage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from limits.util import WindowStats

STRATEGY = "leadrouter-fixed-window"
_WINDOWS = "leadrouter_rate_limit_windows"

# limits' own incr_expire script, returning the count and the window's remaining seconds too.
_HIT_AND_READ = """
local amount = tonumber(ARGV[2])
local current = redis.call("incrby", KEYS[1], amount)
if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("ttl", KEYS[1])}
"""


class FixedWindowReadOnHit(FixedWindowRateLimiter):
    """limits' fixed window; on Redis, a hit keeps its window for the same request's headers."""

    def __init__(self, storage):
        super().__init__(storage)
        self._script = None
        if isinstance(storage, RedisStorage):
            self._script = storage.get_connection().register_script(_HIT_AND_READ)

    def hit(self, item, *identifiers: str, cost: int = 1) -> bool:
        if self._script is None or not has_request_context():
            return super().hit(item, *identifiers, cost=cost)
        key = item.key_for(*identifiers)
        count, ttl = self._script([self.storage.prefixed_key(key)], [item.get_expiry(), cost])
        # Kept with this request only (its WSGI environ): another request must read its own.
        windows = request.environ.setdefault(_WINDOWS, {})
        windows[key] = WindowStats(time.time() + max(0, int(ttl)), max(0, item.amount - int(count)))
        return int(count) <= item.amount

    def get_window_stats(self, item, *identifiers: str) -> WindowStats:
        if has_request_context():
            window = request.environ.get(_WINDOWS, {}).get(item.key_for(*identifiers))
            if window is not None:
                return window
        return super().get_window_stats(item, *identifiers)


STRATEGIES.setdefault(STRATEGY, FixedWindowReadOnHit)
