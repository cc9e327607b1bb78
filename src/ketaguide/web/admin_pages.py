"""Administration: users with their roles, API token state and web sign-in state; the audit trail with the result
of `ketaguide audit verify`; CDS Hooks feedback counts (when the CDS Hooks feedback store is connected)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from ketaguide.cdshooks.stores import FeedbackRecord, feedback_summary
from ketaguide.services import audit, users
from ketaguide.services.access import Role
from ketaguide.services.records import Records
from ketaguide.storage.audit import ChainReport
from ketaguide.web import accounts
from ketaguide.web.rendering import page
from ketaguide.web.security import Form, WebCaller, check_csrf, read_form, records_of, signed_in

Admin = Annotated[WebCaller, Depends(signed_in(Role.ADMIN, audit_as=("access", "audit")))]
EVENTS_PER_PAGE = 50
# Verifying the chain reads every event, so its cost grows with the trail: the page shows the last result, at most
# `RECHECK_AFTER` old, and "Verify now" runs it at once.
RECHECK_AFTER = timedelta(minutes=1)


class ChainCheck:
    """The last verification of the audit chain in this process, and when it ran."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.result: tuple[datetime, ChainReport] | None = None

    def get(self, records: Records, *, now_please: bool = False) -> tuple[datetime, ChainReport]:
        with self.lock:
            now = records.clock.now()
            if now_please or self.result is None or now - self.result[0] >= RECHECK_AFTER:
                self.result = (now, audit.verify_trail(records))
            return self.result


class FeedbackSource(Protocol):
    """What the admin page reads of the CDS Hooks feedback store (`ketaguide.cdshooks.stores.FeedbackLog`)."""

    def records(self) -> list[FeedbackRecord]: ...


def register(router: APIRouter, feedback: FeedbackSource | None = None) -> None:
    """The admin page; the feedback counts come from `feedback`, else from `app.state.cds_feedback` if the CDS Hooks
    router put its store there, else the page says they are not connected."""

    check = ChainCheck()

    @router.post("/admin/verify")
    async def verify_now(request: Request, form: Annotated[Form, Depends(read_form)], who: Admin) -> Response:
        check_csrf(who.session, form)
        check.get(records_of(request), now_please=True)
        return RedirectResponse("/admin#audit-heading", status_code=303)

    @router.get("/admin")
    def admin(request: Request, who: Admin, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
        records = records_of(request)
        checked_at, chain = check.get(records)
        trail = audit.read_trail(records, who.caller, limit=EVENTS_PER_PAGE, offset=offset)
        counts, feedback_problem = None, ""
        source = feedback if feedback is not None else getattr(request.app.state, "cds_feedback", None)
        if source is None:
            feedback_problem = (
                "The CDS Hooks feedback store is not connected to these pages, so there are no counts to show here "
                "(admins can read them from the API: GET /api/v1/cds/feedback)."
            )
        else:
            try:
                counts = feedback_summary(source.records())
            except Exception as error:  # a store that does not answer (Redis down) is reported, not fatal
                feedback_problem = f"The CDS Hooks feedback store did not answer ({type(error).__name__})."
        context = {
            "users": users.list_users(records),
            "accounts": accounts.web_accounts(records),
            "now": records.clock.now(),
            "trail": trail,
            "chain": chain,
            "checked_at": checked_at,
            "counts": counts,
            "feedback_problem": feedback_problem,
            "offset": offset,
        }
        return page(request, "admin.html", context, title="Admin - KetaGuide")
