"""How requests come in: strict, bounded JSON bodies; a request id; no-store headers; an access log without PHI.

Bodies are parsed by `ketaguide.services.documents.parse_json_document`, as the command line parses an intake:
duplicate keys, NaN and Infinity, out-of-range numbers, lone surrogates and nesting deeper than 64 levels are
field problems (422), and a body over `MAX_BODY_BYTES` is refused (413) before it is parsed.

The access log names the method, the route's path template (not the
path itself, nor its query string: a search term may be a patient's name),
the status, the duration and the request id; never a header, a body or a token (uvicorn's own access log is off).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketaguide.domain.errors import FieldProblem, InputError
from ketaguide.http.errors import BodyTooLarge, UnsupportedMediaType
from ketaguide.services.documents import parse_json_document

MAX_BODY_BYTES = 256 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
access_log = logging.getLogger("ketaguide.access")


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def read_json_body(request: Request) -> Any:
    """The request's body as a strict JSON document: 413 over `MAX_BODY_BYTES`, field problems otherwise."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("body", "is not valid UTF-8") from None
    return parse_json_document(text, "body")


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = await read_json_body(self)
        return self._json


def _query_names(dependant: Dependant) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from _query_names(dependency)


def _check_query(request: Request, known: frozenset[str]) -> None:
    """Unknown query parameters, and any given twice, are errors (HTTP parameter pollution: a proxy and the
    application must not read different values)."""
    names = [name for name, _ in request.query_params.multi_items()]
    problems = [
        FieldProblem(f"query.{name[:40]}", "unknown parameter") for name in dict.fromkeys(names) if name not in known
    ]
    problems += [FieldProblem(f"query.{name}", "given more than once") for name in known if names.count(name) > 1]
    if problems:
        raise InputError.of(problems)


class StrictJSONRoute(APIRoute):
    """A route with strict input: its JSON body is read by `StrictJSONRequest`, a body that is not JSON is refused
    (415), unknown or repeated query parameters are errors; these errors reach `ketaguide.http.errors` as they
    are (FastAPI would turn any error raised while parsing into a bare 400)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        takes_body = self.body_field is not None
        known_query = frozenset(_query_names(self.dependant))

        async def strict_handler(request: Request) -> Response:
            _check_query(request, known_query)
            content_type = request.headers.get("content-type")
            if takes_body and content_type is not None and not _is_json(content_type):
                raise UnsupportedMediaType(f"send JSON (application/json), not {content_type[:80]!r}")
            try:
                return await handler(StrictJSONRequest(request.scope, request.receive))
            except HTTPException as error:
                cause = error.__cause__
                if isinstance(cause, InputError | BodyTooLarge | UnsupportedMediaType):
                    raise cause from None
                raise

        return strict_handler


def _route_template(scope: Scope) -> str:
    """The matched route's path template with its mount prefix (`/api/v1/patients/{patient_id}`): no ids, names
    or control characters from the request reach the log."""
    route = scope.get("route")
    template, path = getattr(route, "path", None), scope.get("path", "")
    if template is None:
        return "(no route)"
    try:
        concrete = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return str(template)
    return path[: len(path) - len(concrete)] + template if path.endswith(concrete) else str(template)


class RequestContext:
    """Pure ASGI middleware: a request id (a safe X-Request-ID is kept, else a new UUID), echoed in the response;
    `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every response; one access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started, status = time.perf_counter(), 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-request-id", request_id.encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            route = _route_template(scope)
            access_log.info("%s %s %s %.1fms %s", scope.get("method"), route, status, elapsed, request_id)
