"""`create_web_router()`: every page of the web UI, for `ketaguide.http.app` to include at `/`.

The pages share the server's application state (`app.state.runtime`, `app.state.records`, `app.state.settings`)
and its middleware (request id, `Cache-Control: no-store`, the access log without query strings). They are left
out of the OpenAPI document: they are pages, not the API.
"""

from __future__ import annotations

from fastapi import APIRouter

from ketaguide.web import admin_pages, auth_pages, clinical_pages, evidence_pages, patient_pages
from ketaguide.web.admin_pages import FeedbackSource
from ketaguide.web.security import WebRoute


def create_web_router(cds_feedback: FeedbackSource | None = None) -> APIRouter:
    """The pages; `cds_feedback` is the CDS Hooks feedback store the admin page counts (None: not connected)."""
    router = APIRouter(route_class=WebRoute, include_in_schema=False)
    for module in (auth_pages, evidence_pages, clinical_pages, patient_pages):
        module.register(router)
    admin_pages.register(router, cds_feedback)
    return router
