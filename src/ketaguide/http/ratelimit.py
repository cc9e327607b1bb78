"""Anti-automation (OWASP ASVS 5.0 2.4.1): failed authentications per client address and a request budget per API
token, counted with the `limits` library; a spent limit is 429 with `Retry-After` (`ketaguide.http.errors`).

- **Failed authentication.** A bearer token that is malformed, unknown or revoked, and a refused web sign-in, count
  against the client's address: `KETAGUIDE_RATE_LIMIT_AUTH_FAILURES` (default 30 a minute; a moving window, so
  never more than that in any minute). Once an address has spent it, its requests that present a token and its
  sign-ins are refused with 429 until its oldest failure leaves the window: *before* the token or password is
  checked, so a refused guess costs no database read and tells nothing. Requests with no token guess nothing and
  are not counted (they stay 401). The limit is per address: behind one NAT, a client that keeps failing holds up
  the others' token requests for at most the window.
- **Budget per token.** Every authenticated API request spends one of its token's `KETAGUIDE_RATE_LIMIT_TOKEN`
  (default 100,000 an hour; a fixed window). A person or an EHR integration never comes near it; a runaway script
  or a stolen token cannot hold the server for hours. Keys are a prefix of the token's SHA-256, never the token.
- **Where the counts live.** With `KETAGUIDE_REDIS_URL`, in Redis, shared by every worker and host. Without it, in
  each worker's memory: a worker counts only what it serves, so with N workers an address may fail up to N times
  the limit before every worker refuses it (still a bounded rate). If Redis does not answer, requests go through
  and the error is logged: the limits guard availability and must not take it away.
- **The client's address** is the TCP peer. Behind a reverse proxy every client has the proxy's address, so list
  the proxy in `KETAGUIDE_TRUSTED_PROXIES`: for a request from it, the address is the right-most `X-Forwarded-For`
  entry that is not itself a trusted proxy (the proxy must set the header, overwriting what the client sent).

`KETAGUIDE_RATE_LIMIT=false` turns every limit off (`rate_limits_for` gives None), for load tests on loopback.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from ketaguide.http.errors import TooManyRequests

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from ketaguide.settings import Settings

log = logging.getLogger("ketaguide.http.ratelimit")
KEY_PREFIX = "ketaguide-rate"
SWEEP_SECONDS = 1.0
_T = TypeVar("_T")


def storage_url(redis_url: str | None) -> str:
    """The `limits` storage for a KETAGUIDE_REDIS_URL (its `unix://` scheme is `redis+unix://` there)."""
    if redis_url is None:
        return "memory://"
    return "redis+unix://" + redis_url.removeprefix("unix://") if redis_url.startswith("unix://") else redis_url


class SweptMemoryStorage(MemoryStorage):
    """`limits`' memory storage, sweeping out expired counts at most once a second.

    Its own schedule starts a `threading.Timer` thread 10 ms after any count once the last sweep has ended: under
    load a worker started a thread every few requests, and `Thread.start()` waits for the new thread to run (issue
    #10). The sweep only frees memory: every count is read with its expiry, so the limits do not change.
    """

    def __init__(self, *, wrap_exceptions: bool = False) -> None:
        super().__init__(wrap_exceptions=wrap_exceptions)
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # overrides `MemoryStorage.__schedule_expiry`
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]  # mypy does not mangle private names


class RateLimits:
    """The two limits of one application, on one storage (memory, or Redis shared by workers)."""

    def __init__(self, auth_failures: str, per_token: str, storage: Storage, trusted_proxies: frozenset[str]) -> None:
        self.auth_failures: RateLimitItem = parse(auth_failures)
        self.per_token: RateLimitItem = parse(per_token)
        self.trusted_proxies = trusted_proxies
        self._failures = MovingWindowRateLimiter(storage)
        self._requests = FixedWindowRateLimiter(storage)

    # Failed authentication, per client address ----------------------------------------------------------------

    def check_address(self, address: str) -> None:
        """Refuse (429) an address that has spent its failed authentications."""
        if not self._safely(lambda: self._failures.test(self.auth_failures, "auth-failures", address), True):
            reset = self._safely(lambda: self._failures.get_window_stats(self.auth_failures, "auth-failures", address))
            raise TooManyRequests(
                "too many failed authentications from this address; wait before trying again", _seconds_to(reset)
            )

    def failed(self, address: str) -> None:
        """Count one failed authentication (a wrong token, a refused sign-in) against `address`."""
        self._safely(lambda: self._failures.hit(self.auth_failures, "auth-failures", address))

    # Requests, per API token ------------------------------------------------------------------------------------

    def spend(self, token: str) -> None:
        """Spend one request of the token's budget; 429 when it is spent."""
        key = hashlib.sha256(token.encode("ascii", "replace")).hexdigest()[:32]
        if not self._safely(lambda: self._requests.hit(self.per_token, "token", key), True):
            reset = self._safely(lambda: self._requests.get_window_stats(self.per_token, "token", key))
            raise TooManyRequests("this token's request budget is spent; wait before sending more", _seconds_to(reset))

    # The client ----------------------------------------------------------------------------------------------------

    def address_of(self, connection: HTTPConnection) -> str:
        """The client's address: the TCP peer, or behind a trusted proxy the address the proxy saw."""
        peer = connection.client.host if connection.client is not None else "unknown"
        if peer not in self.trusted_proxies:
            return peer
        forwarded = connection.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        return next((hop for hop in reversed(hops) if hop not in self.trusted_proxies), peer)[:64]

    def _safely(self, call: Callable[[], _T], fallback: _T | None = None) -> _T | None:
        try:
            return call()
        except StorageError as error:  # Redis down: let the request through (see the module's docstring)
            kind = type(error.storage_error).__name__
            log.warning("rate-limit storage failed (%s); the request is not limited", kind)
            return fallback


def _seconds_to(stats: object) -> int:
    reset = getattr(stats, "reset_time", None)
    return math.ceil(reset - time.time()) if isinstance(reset, int | float) else 1  # noqa: TID251  # as `limits` does


def rate_limits_for(settings: Settings) -> RateLimits | None:
    """The limits `settings` ask for, or None when KETAGUIDE_RATE_LIMIT is false."""
    if not settings.rate_limit:
        return None
    return RateLimits(
        settings.rate_limit_auth_failures,
        settings.rate_limit_token,
        _storage(settings.redis_url),
        settings.trusted_proxy_addresses(),
    )


def _storage(redis_url: str | None) -> Storage:
    if redis_url is None:
        return SweptMemoryStorage(wrap_exceptions=True)
    storage = storage_from_string(storage_url(redis_url), wrap_exceptions=True, key_prefix=KEY_PREFIX)
    assert isinstance(storage, Storage), "a synchronous storage: the checks run in the request's worker thread"
    return storage


def rate_limits_of(connection: HTTPConnection) -> RateLimits | None:
    """The application's limits (None: off, or an app built without `create_app`)."""
    limits: RateLimits | None = getattr(connection.app.state, "rate_limits", None)
    return limits
