"""Feedback on issued cards (CDS Hooks 2.0.1, Feedback): checked against the cards actually issued, stored once.

Each item must name a card this service issued to this client (the card ledger), and accepted suggestions must be
that card's own; a batch with any bad item is refused whole (400), so nothing is half-stored. A repeat of an item
already stored is accepted and stored nothing ("a CDS Service may receive feedback for the same card instance
multiple times"). Counts per card type take each card's latest outcome (`stores.feedback_summary`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from ketaguide.cdshooks.auth import Caller
from ketaguide.cdshooks.service import InvalidRequest
from ketaguide.cdshooks.stores import CardLedger, FeedbackLog, FeedbackRecord
from ketaguide.cdshooks.wire import FeedbackRequest


def record_feedback(
    request: FeedbackRequest, service_id: str, caller: Caller, cards: CardLedger, log: FeedbackLog, now: datetime
) -> int:
    """Store every item of `request`; the number newly stored. Raises InvalidRequest naming every bad item."""
    records: list[FeedbackRecord] = []
    problems: list[str] = []
    for n, item in enumerate(request.feedback):
        card = cards.get(item.card)
        if card is None or card.service_id != service_id or card.iss != caller.iss:
            problems.append(f"feedback[{n}].card: not a card this service issued to this client")
            continue
        accepted = tuple(s.id for s in item.acceptedSuggestions or ())
        unknown = [s for s in accepted if s not in card.suggestions]
        if unknown:
            problems.append(f"feedback[{n}].acceptedSuggestions: {', '.join(unknown)} not suggested on this card")
            continue
        reason = item.overrideReason.reason if item.overrideReason else None
        records.append(
            FeedbackRecord(
                card_uuid=card.uuid,
                service_id=service_id,
                card_type=card.card_type,
                iss=caller.iss,
                outcome=item.outcome,
                accepted_suggestions=accepted,
                reason_code=reason.code if reason else None,
                reason_system=reason.system if reason else None,
                user_comment=item.overrideReason.userComment if item.overrideReason else None,
                outcome_at=item.outcomeTimestamp.astimezone(UTC),
                received_at=now,
            )
        )
    if problems:
        raise InvalidRequest(problems)
    return sum(log.record(record) for record in records)
