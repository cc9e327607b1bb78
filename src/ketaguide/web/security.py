"""What every page goes through: security headers, sign-in and roles, bounded forms with CSRF checks, error pages.

Headers on every page (OWASP ASVS 5.0 V3): a Content-Security-Policy with scripts and styles from this origin only
(no `unsafe-inline`, no `unsafe-eval`; 3.4.3), `frame-ancestors 'none'` (3.4.6), `Referrer-Policy: no-referrer`
(3.4.5; a question is in the URL of /ask), `X-Frame-Options`, and HSTS behind TLS (3.4.1). The server's middleware
adds `Cache-Control: no-store` and `nosniff` to every response (14.3.2, 3.4.4).

Cookies: the session cookie is HttpOnly and SameSite=Lax (a link from an EHR still opens a page signed in; no GET
changes anything), and behind TLS it is Secure with the `__Host-` prefix (3.3.1). TLS is recognised from the
request's scheme or from KETAGUIDE_PUBLIC_URL starting with https://, as a TLS-terminating proxy leaves the
scheme http.

CSRF (3.5.1-3.5.3): every form posts a per-session token, compared in constant time; the sign-in form, which has
no session yet, a double-submit token (a random cookie, SameSite=Strict, equal to the form's field). A POST whose
Origin is another site, or that a browser marks `Sec-Fetch-Site: cross-site`, is refused before any of that. Forms
are read only as `application/x-www-form-urlencoded`, at most `MAX_FORM_BYTES` and `MAX_FORM_FIELDS`.

Sign-in throttling (ASVS 2.4.1, beside the lock-out per account of `ketaguide.web.accounts`): a refused sign-in
(401) counts against the client's address with the API's wrong tokens (`ketaguide.http.ratelimit`); an address
over KETAGUIDE_RATE_LIMIT_AUTH_FAILURES gets a 429 page with `Retry-After` before its password is checked, so
spraying one password over many accounts is as slow as guessing one account's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ketaguide.domain.errors import InputError, KetaGuideError
from ketaguide.http.errors import TooManyRequests
from ketaguide.http.ratelimit import rate_limits_of
from ketaguide.services.access import Caller, Forbidden, Role
from ketaguide.services.audit import record_refusal
from ketaguide.services.records import Records
from ketaguide.storage.errors import Gone, NotFound
from ketaguide.web import sessions
from ketaguide.web.rendering import page
from ketaguide.web.sessions import WebSession

log = logging.getLogger("ketaguide.web")

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 400
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SESSION_COOKIE, LOGIN_COOKIE = "kg_session", "kg_login"
SIGN_IN_PATH = "/login"  # its POST (ketaguide.web.auth_pages) is throttled per client address


def is_secure(request: Request) -> bool:
    public_url = getattr(request.app.state.settings, "public_url", None) or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def cookie_name(request: Request, name: str) -> str:
    return f"__Host-{name}" if is_secure(request) else name


def security_headers(request: Request) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if is_secure(request):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def set_cookie(response: Response, request: Request, name: str, value: str, *, strict: bool = False) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        path="/",
        httponly=True,
        secure=is_secure(request),
        samesite="strict" if strict else "lax",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(cookie_name(request, name), path="/", httponly=True, secure=is_secure(request))


# Errors the pages raise, turned into pages by WebRoute -----------------------------------------------------------


class NeedSignIn(KetaGuideError):
    """No live session: the browser is sent to /login, and back here afterwards."""


class FormRefused(KetaGuideError):
    """A form that fails the CSRF or origin check, or is not a bounded URL-encoded form (HTTP 403 or 400)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _error_page(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
    context = {"heading": heading, "message": message, "request_id": getattr(request.state, "request_id", "-")}
    return page(request, "error.html", context, status=status, title=f"{heading} - KetaGuide")


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in; anything else (another site, `//host`, `/\\host`) is `/`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\n" in target:
        return "/"
    return target


class WebRoute(APIRoute):
    """A page: its errors become HTML pages (never a stack trace) and every response gets the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        signs_in = self.path == SIGN_IN_PATH and "POST" in (self.methods or ())

        async def web_handler(request: Request) -> Response:
            limits = rate_limits_of(request) if signs_in else None
            try:
                if limits is not None:
                    await run_in_threadpool(limits.check_address, limits.address_of(request))
                response = await handler(request)
            except Exception as error:  # every error of a page is shown as a page; defects are logged
                response = _response_for(request, error)
            if limits is not None and response.status_code == 401:  # a refused sign-in
                await run_in_threadpool(limits.failed, limits.address_of(request))
            response.headers.update(security_headers(request))
            return response

        return web_handler


def _response_for(request: Request, error: Exception) -> Response:
    if isinstance(error, NeedSignIn):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # Back to the page after signing in; a form cannot be re-sent, so after a POST only to sign-in's default.
        target = "/login" if wanted == "/" or request.method != "GET" else f"/login?next={quote(wanted, safe='')}"
        return RedirectResponse(target, status_code=303)
    if isinstance(error, FormRefused):
        return _error_page(request, error.status, "Form refused", str(error))
    if isinstance(error, TooManyRequests):
        message = f"Too many failed sign-ins from your address. Try again in {error.retry_after} seconds."
        response = _error_page(request, 429, "Too many attempts", message)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if isinstance(error, Forbidden):
        return _error_page(request, 403, "Not allowed", f"Your role may not open this page ({error}).")
    if isinstance(error, Gone):
        return _error_page(request, 410, "Deleted", "This record was deleted.")
    if isinstance(error, NotFound):
        return _error_page(request, 404, "Not found", str(error).capitalize() + ".")
    if isinstance(error, InputError):
        return _error_page(request, 422, "Invalid input", "; ".join(map(str, error.problems)))
    if isinstance(error, RequestValidationError):
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in error.errors()[:5])
        return _error_page(request, 422, "Invalid address", f"Check these parts of the address: {fields}.")
    if isinstance(error, HTTPException):
        return _error_page(request, error.status_code, "Error", str(error.detail))
    log.error("page %s failed: %s", getattr(request.state, "request_id", "-"), type(error).__name__, exc_info=error)
    return _error_page(request, 500, "Internal error", "Something went wrong; it was logged.")


# Who is asking -------------------------------------------------------------------------------------------------


def records_of(request: Request) -> Records:
    records: Records = request.app.state.records
    return records


def session_of(request: Request) -> WebSession | None:
    """The request's live session (looked up once per request)."""
    if not hasattr(request.state, "web_session"):
        presented = request.cookies.get(cookie_name(request, SESSION_COOKIE))
        request.state.web_session = sessions.current(records_of(request), presented)
    session: WebSession | None = request.state.web_session
    return session


@dataclass(frozen=True)
class WebCaller:
    """A signed-in user on a page: their session, and the Caller the services audit."""

    session: WebSession
    caller: Caller


def signed_in(*roles: Role, audit_as: tuple[str, str] | None = None) -> Callable[[Request], WebCaller]:
    """A dependency admitting signed-in users of `roles`; `audit_as` records refusals (pages with patient data)."""
    admitted = frozenset(roles)

    def dependency(request: Request) -> WebCaller:
        session = session_of(request)
        if session is None:
            raise NeedSignIn("sign in first")
        caller = Caller(principal=session.principal, request_id=getattr(request.state, "request_id", None))
        if session.principal.role not in admitted:
            refusal = Forbidden(f"the {session.principal.role.value} role may not do this")
            if audit_as is not None:
                record_refusal(records_of(request), caller, refusal, *audit_as)
            raise refusal
        return WebCaller(session=session, caller=caller)

    return dependency


# Forms ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A URL-encoded form: every value of every field, in order."""

    pairs: Sequence[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.pairs if key == name), default)

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.pairs)


def _check_origin(request: Request) -> None:
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise FormRefused("the form was sent from another site")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        public = getattr(request.app.state.settings, "public_url", None)
        if origin not in (own, public):
            raise FormRefused("the form was sent from another site")


async def read_form(request: Request) -> Form:
    """The request's URL-encoded form, bounded in size and fields, from this site only."""
    _check_origin(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise FormRefused("send the form as application/x-www-form-urlencoded", status=415)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused(f"the form is over {MAX_FORM_BYTES // 1024} KiB", status=413)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused("the form is not valid UTF-8 or has too many fields", status=400) from None
    return Form(pairs=tuple(pairs))


def check_csrf(session: WebSession, form: Form) -> None:
    if not sessions.same_token(session.csrf_token, form.get("csrf_token") or None):
        raise FormRefused("the form's security token is missing or out of date; reload the page and try again")
