"""Sign-in and sign-out, the start page, and the static files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ketaguide.services.access import Role
from ketaguide.storage.errors import NotFound
from ketaguide.web import accounts, sessions
from ketaguide.web.rendering import page, static_file
from ketaguide.web.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Form,
    NeedSignIn,
    check_csrf,
    clear_cookie,
    cookie_name,
    read_form,
    records_of,
    safe_next,
    session_of,
    set_cookie,
)

HOME = {Role.CLINICIAN: "/ask", Role.CURATOR: "/sources", Role.ADMIN: "/admin"}
LOCKOUT_MINUTES = int(accounts.LOCKOUT.total_seconds() // 60)


def _login_page(request: Request, next_: str, status: int = 200, **context: str) -> Response:
    token = sessions.new_token()
    values = {
        "login_token": token,
        "next": safe_next(next_),
        "username": "",
        "error": "",
        "notice": "",
        "max_failures": accounts.MAX_FAILURES,
        "lockout_minutes": LOCKOUT_MINUTES,
        **context,
    }
    response = page(request, "login.html", values, status=status, title="Sign in - KetaGuide")
    set_cookie(response, request, LOGIN_COOKIE, token, strict=True)
    return response


def register(router: APIRouter) -> None:
    @router.get("/")
    def home(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            raise NeedSignIn("sign in first")
        return RedirectResponse(HOME[session.principal.role], status_code=303)

    @router.get("/login")
    def login_form(request: Request, next: str = "/", signed_out: bool = False) -> Response:
        session = session_of(request)
        notice = "You have signed out." if signed_out else ""
        if session is not None:
            notice = f"You are signed in as {session.principal.name}; signing in again ends that session."
        return _login_page(request, next, notice=notice)

    @router.post("/login")
    async def login(request: Request, form: Annotated[Form, Depends(read_form)]) -> Response:
        expected = request.cookies.get(cookie_name(request, LOGIN_COOKIE))
        if expected is None or not sessions.same_token(expected, form.get("login_token") or None):
            message = "The sign-in form had expired or came from elsewhere; please sign in again."
            return _login_page(request, form.get("next"), status=403, error=message)
        name, password = form.get("username").strip(), form.get("password")
        records = records_of(request)
        request_id = getattr(request.state, "request_id", None)
        try:
            principal = await run_in_threadpool(accounts.sign_in, records, name, password, request_id)
        except accounts.SignInRefused as refused:
            error = str(refused).capitalize() + "."
            return _login_page(request, form.get("next"), status=401, error=error, username=name[:100])
        presented = request.cookies.get(cookie_name(request, SESSION_COOKIE))
        session = await run_in_threadpool(sessions.start, records, principal, presented, request_id)
        target = safe_next(form.get("next"))
        response = RedirectResponse(HOME[principal.role] if target == "/" else target, status_code=303)
        set_cookie(response, request, SESSION_COOKIE, session.session_id)
        clear_cookie(response, request, LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request, form: Annotated[Form, Depends(read_form)]) -> Response:
        session = await run_in_threadpool(session_of, request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        check_csrf(session, form)
        await run_in_threadpool(sessions.end, records_of(request), session, getattr(request.state, "request_id", None))
        request.state.web_session = None
        response = RedirectResponse("/login?signed_out=true", status_code=303)
        clear_cookie(response, request, SESSION_COOKIE)
        return response

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        found = static_file(name)
        if found is None:
            raise NotFound("no such file")
        data, media_type = found
        return Response(data, media_type=media_type)
