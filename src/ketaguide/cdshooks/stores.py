"""What the CDS services keep between calls, behind small protocols: the JWT replay guard, the cards issued, the
feedback received, and the audit of every call.

Each protocol has an in-memory twin (one process: tests, a single worker) and, for the first three, a Redis one
(`KETAGUIDE_REDIS_URL`) and a database one (`ketaguide.cdshooks.database`, on the server's tables `cds_jti`,
`cds_issued_cards` and `cds_feedback`) that several workers share. `HookAudit` is implemented by the server's audit
trail. `stores_from_settings` picks Redis when configured, else the server's database, else memory.

What a call leaves behind (its jti claim, the cards it issued, its audit event) is written by a `CallRecorder`:
`SeparateRecorder` writes the three stores in turn; on the server's database `DatabaseCallRecorder` writes them in
one transaction (one commit, so one disk sync, per call), and claims the jti there: `claims` says so, and then the
token check before the work only asks the recorder whether the jti was used already (`CallRecorder.seen`: the
claims this process made, `RecentClaims`), and the claim with the records decides.

A store that cannot answer fails closed: `StoreUnavailable` becomes 503, never an accepted replay.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ketaguide.cdshooks.database import RecordsSource


class StoreUnavailable(Exception):
    """A shared store did not answer; the call is refused (503) rather than guessed."""


class ReplayCache(Protocol):
    """Remembers each (issuer, jti) until `keep_until`; `first_use` is atomic across every worker."""

    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool: ...

    def seen(self, issuer: str, jti: str) -> bool:
        """Whether (issuer, jti) was claimed already (a read: the claim itself is `first_use`)."""
        ...


@dataclass(frozen=True)
class ReplayClaim:
    """A verified token's (issuer, jti), to be claimed once and kept until `keep_until`."""

    issuer: str
    jti: str
    keep_until: datetime


@dataclass(frozen=True)
class IssuedCard:
    """A card as issued: enough to tie later feedback to it and to count feedback by card type."""

    uuid: str
    service_id: str
    hook_instance: str
    iss: str
    card_type: str
    indicator: str
    suggestions: tuple[str, ...]
    issued_at: datetime


class CardLedger(Protocol):
    def record(self, cards: Sequence[IssuedCard]) -> None: ...

    def get(self, uuid: str) -> IssuedCard | None: ...


@dataclass(frozen=True)
class FeedbackRecord:
    """One feedback item on an issued card. `key` identifies it, so a repeat is recognised (spec: Feedback)."""

    card_uuid: str
    service_id: str
    card_type: str
    iss: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    reason_code: str | None
    reason_system: str | None
    user_comment: str | None
    outcome_at: datetime
    received_at: datetime

    @property
    def key(self) -> str:
        identity = [self.card_uuid, self.outcome, self.outcome_at.isoformat(), *self.accepted_suggestions]
        identity += [self.reason_system or "", self.reason_code or "", self.user_comment or ""]
        return hashlib.sha256("\x00".join(identity).encode()).hexdigest()


@dataclass(frozen=True)
class FeedbackCount:
    """Feedback on one card type of one service: each card counted once, by its latest outcome."""

    service_id: str
    card_type: str
    accepted: int
    overridden: int
    override_reasons: dict[str, int] = field(default_factory=dict)


class FeedbackLog(Protocol):
    def record(self, item: FeedbackRecord) -> bool:
        """Store `item`; False when the same item was stored before (idempotent)."""
        ...

    def records(self) -> list[FeedbackRecord]: ...


def feedback_summary(records: Iterable[FeedbackRecord]) -> list[FeedbackCount]:
    """Counts per (service, card type): each card's latest feedback, override reasons by code."""
    latest: dict[str, FeedbackRecord] = {}
    for record in records:
        seen = latest.get(record.card_uuid)
        if seen is None or (record.outcome_at, record.received_at) > (seen.outcome_at, seen.received_at):
            latest[record.card_uuid] = record
    counts: dict[tuple[str, str], FeedbackCount] = {}
    for record in latest.values():
        key = (record.service_id, record.card_type)
        count = counts.setdefault(key, FeedbackCount(record.service_id, record.card_type, 0, 0, {}))
        if record.outcome == "accepted":
            counts[key] = FeedbackCount(*key, count.accepted + 1, count.overridden, count.override_reasons)
        else:
            reason = record.reason_code or "no reason given"
            reasons = {**count.override_reasons, reason: count.override_reasons.get(reason, 0) + 1}
            counts[key] = FeedbackCount(*key, count.accepted, count.overridden + 1, reasons)
    return sorted(counts.values(), key=lambda c: (c.service_id, c.card_type))


@dataclass(frozen=True)
class HookCallEvent:
    """One call to a CDS endpoint, for the audit trail: who, which patient, what came back. No token, no FHIR."""

    occurred_at: datetime
    action: str  # cds-discovery, cds-call, cds-feedback
    service_id: str | None
    status: int
    iss: str | None = None
    tenant: str | None = None
    jti: str | None = None
    hook_instance: str | None = None
    patient_id: str | None = None
    user_id: str | None = None
    card_uuids: tuple[str, ...] = ()
    content_version: str | None = None
    reason: str | None = None


class HookAudit(Protocol):
    def record(self, event: HookCallEvent) -> None: ...


class CallRecorder(Protocol):
    """Writes what one call leaves behind: its jti claim (None when claimed already, or when the caller was not
    verified), the cards it issued and its audit event. False when the claim lost (the jti was used meanwhile): then
    no card is kept and the call is recorded as refused (401)."""

    @property
    def claims(self) -> bool:
        """True when the recorder claims the jti (then the token check only asks `seen`)."""
        ...

    def seen(self, issuer: str, jti: str) -> bool:
        """Whether the jti is known to be claimed already: asked before a call's work when the recorder claims."""
        ...

    def record(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool: ...


@runtime_checkable
class BatchingRecorder(CallRecorder, Protocol):
    """A recorder that claims the jti itself and also records calls served on the event loop, batched."""

    async def record_soon(
        self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]
    ) -> bool: ...


REPLAYED = "jti replayed"


def refused_as_replay(event: HookCallEvent) -> HookCallEvent:
    """The audit event of a call whose jti was claimed by another call first."""
    return replace(event, status=401, reason=REPLAYED, card_uuids=(), content_version=None)


class SeparateRecorder:
    """The claim (if any), then the cards, then the audit event, each in its own store (memory, Redis). A store
    that fails raises `StoreUnavailable` before the audit event is written (the caller audits the 503)."""

    claims = False

    def __init__(self, stores: CdsStores, audit: HookAudit) -> None:
        self.stores = stores
        self.audit = audit

    def seen(self, issuer: str, jti: str) -> bool:
        return self.stores.replay.seen(issuer, jti)

    def record(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool:
        if claim is not None and not self.stores.replay.first_use(claim.issuer, claim.jti, claim.keep_until):
            self.audit.record(refused_as_replay(event))
            return False
        self.stores.cards.record(cards)
        self.audit.record(event)
        return True


# --- in memory ----------------------------------------------------------------------------------------------


class RecentClaims:
    """The (issuer, jti) pairs a process claimed last, at most `size`: what a recorder that claims in the database
    answers `seen` from, so that the check before a call's work costs no database read (about a twentieth of an
    order-sign call's CPU). A replay sent to the worker that served the token is refused before its work; one sent to
    another worker, or after `size` newer claims, is refused at its claim, after its work: the primary key of the
    claim decides every call either way."""

    def __init__(self, size: int = 16_384) -> None:
        self._pairs: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for pair in pairs:
                self._pairs[pair] = None
            while len(self._pairs) > self._size:
                self._pairs.popitem(last=False)

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return pair in self._pairs


class MemoryReplayCache:
    """(issuer, jti) pairs in a dict. Pairs kept two hours past the newest one are dropped: no token lives that
    long (auth.MAX_LIFETIME_SECONDS), so a dropped pair can no longer be replayed."""

    def __init__(self, purge_above: int = 10_000) -> None:
        self._seen: dict[tuple[str, str], datetime] = {}
        self._purge_above = purge_above
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool:
        with self._lock:
            if len(self._seen) > self._purge_above:
                horizon = keep_until - timedelta(hours=2)
                self._seen = {pair: until for pair, until in self._seen.items() if until > horizon}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = keep_until
            return True

    def seen(self, issuer: str, jti: str) -> bool:
        with self._lock:
            return (issuer, jti) in self._seen


class MemoryCardLedger:
    def __init__(self, limit: int = 100_000) -> None:
        self._cards: dict[str, IssuedCard] = {}
        self._order: deque[str] = deque()
        self._limit = limit
        self._lock = threading.Lock()

    def record(self, cards: Sequence[IssuedCard]) -> None:
        with self._lock:
            for card in cards:
                self._cards[card.uuid] = card
                self._order.append(card.uuid)
            while len(self._order) > self._limit:
                self._cards.pop(self._order.popleft(), None)

    def get(self, uuid: str) -> IssuedCard | None:
        with self._lock:
            return self._cards.get(uuid)


class MemoryFeedbackLog:
    def __init__(self) -> None:
        self._records: dict[str, FeedbackRecord] = {}
        self._lock = threading.Lock()

    def record(self, item: FeedbackRecord) -> bool:
        with self._lock:
            if item.key in self._records:
                return False
            self._records[item.key] = item
            return True

    def records(self) -> list[FeedbackRecord]:
        with self._lock:
            return list(self._records.values())


class MemoryHookAudit:
    """The last `limit` events in memory (tests, a single worker); the server's audit trail replaces it."""

    def __init__(self, limit: int = 10_000) -> None:
        self.events: deque[HookCallEvent] = deque(maxlen=limit)

    def record(self, event: HookCallEvent) -> None:
        self.events.append(event)


# --- Redis ----------------------------------------------------------------------------------------------------

PREFIX = "ketaguide:cds:"
CARD_DAYS = 30  # feedback for a card older than this is refused as "not issued"


class RedisReplayCache:
    """SET key NX PXAT: the first worker to store a (issuer, jti) wins; the key lapses when the token does."""

    def __init__(self, client: Any, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool:
        millis = int(keep_until.timestamp() * 1000)
        stored = _call(lambda: self._redis.set(self._key(issuer, jti), b"1", nx=True, pxat=millis))
        return bool(stored)

    def seen(self, issuer: str, jti: str) -> bool:
        return bool(_call(lambda: self._redis.exists(self._key(issuer, jti))))

    def _key(self, issuer: str, jti: str) -> str:
        digest = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
        return f"{self._prefix}jti:{digest}"


class RedisCardLedger:
    def __init__(self, client: Any, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def record(self, cards: Sequence[IssuedCard]) -> None:
        if not cards:
            return

        def store() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for card in cards:
                pipe.set(f"{self._prefix}card:{card.uuid}", _to_json(card), ex=CARD_DAYS * 86_400)
            pipe.execute()

        _call(store)

    def get(self, uuid: str) -> IssuedCard | None:
        raw = _call(lambda: self._redis.get(f"{self._prefix}card:{uuid}"))
        if raw is None:
            return None
        data = json.loads(raw)
        return IssuedCard(**{**data, "suggestions": tuple(data["suggestions"]), "issued_at": _when(data["issued_at"])})


class RedisFeedbackLog:
    """Feedback in one Redis hash keyed by the item's identity: HSETNX makes a repeat a no-op."""

    def __init__(self, client: Any, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def record(self, item: FeedbackRecord) -> bool:
        return bool(_call(lambda: self._redis.hsetnx(f"{self._prefix}feedback", item.key, _to_json(item))))

    def records(self) -> list[FeedbackRecord]:
        raw = _call(lambda: self._redis.hgetall(f"{self._prefix}feedback"))
        return [_feedback(json.loads(value)) for value in raw.values()]


def _feedback(data: dict[str, Any]) -> FeedbackRecord:
    data["accepted_suggestions"] = tuple(data["accepted_suggestions"])
    data["outcome_at"], data["received_at"] = _when(data["outcome_at"]), _when(data["received_at"])
    return FeedbackRecord(**data)


def _to_json(record: Any) -> str:
    return json.dumps(asdict(record), default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _call(operation: Any) -> Any:
    import redis

    try:
        return operation()
    except redis.RedisError as exc:
        raise StoreUnavailable(f"Redis did not answer ({type(exc).__name__})") from None


@dataclass(frozen=True)
class CdsStores:
    """The stores one router uses. `memory()` for a single process; `redis(url)` or `database(records)` for workers
    that share state. `records`: the server's records the stores are kept in, when they are (`database(...)`)."""

    replay: ReplayCache
    cards: CardLedger
    feedback: FeedbackLog
    records: RecordsSource | None = None

    @classmethod
    def memory(cls) -> CdsStores:
        return cls(MemoryReplayCache(), MemoryCardLedger(), MemoryFeedbackLog())

    @classmethod
    def database(cls, records: RecordsSource) -> CdsStores:
        """On the server's database (`records()`, with `.database` and `.clock`, is called per operation: the server
        opens them at start-up)."""
        from ketaguide.cdshooks.database import DatabaseCardLedger, DatabaseFeedbackLog, DatabaseReplayCache

        return cls(DatabaseReplayCache(records), DatabaseCardLedger(records), DatabaseFeedbackLog(records), records)

    @classmethod
    def redis(cls, url: str, prefix: str = PREFIX) -> CdsStores:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(RedisReplayCache(client, prefix), RedisCardLedger(client, prefix), RedisFeedbackLog(client, prefix))


def stores_from_settings(redis_url: str | None, records: RecordsSource | None = None) -> CdsStores:
    """Redis when `KETAGUIDE_REDIS_URL` is set; else the server's database when given (`records`: shared by its
    workers); else memory (one worker only: a replay could pass another worker)."""
    if redis_url:
        return CdsStores.redis(redis_url)
    return CdsStores.database(records) if records is not None else CdsStores.memory()
