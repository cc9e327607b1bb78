"""Templates (Jinja2, package data) and the HTML responses the pages return.

Autoescaping is on for every template (ASVS 1.2.1): user text (a question, a patient's name) is always shown as
text; no template uses `|safe` on anything but markup built here from escaped parts. Templates are compiled once
per process. Static files (CSS, the one small script) are package data read once and served from memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ketaguide.domain.evidence.models import Level

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


_WORDS = {"cns_depressant_co_use": "CNS depressant co-use", "ghb": "GHB", "mdma": "MDMA", "iv": "IV", "im": "IM"}


def label(code: object) -> str:
    """A code as words: `larger_amounts` -> "Larger amounts"."""
    if str(code) in _WORDS:
        return _WORDS[str(code)]
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def level_class(level: object) -> str:
    """The CSS class of a level (`very low` -> `lvl-very-low`); the level is always shown as text as well."""
    return "lvl-" + str(level).replace(" ", "-")


def when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def plan_refs(plan: Any) -> dict[int, Any]:
    """A care plan's (or answer's) references by number, for citation links."""
    return {ref.n: ref for ref in plan.references}


def options_by_phase(plan: Any) -> list[tuple[str, list[Any]]]:
    """The care plan's options grouped by phase: the current phase, or every phase when it is unknown."""
    if str(plan.phase) != "unknown":
        return [(str(plan.phase), list(plan.options))] if plan.options else []
    groups: dict[str, list[Any]] = {}
    for option in plan.options:
        for phase in option.phases:
            groups.setdefault(str(phase), []).append(option)
    return list(groups.items())


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ketaguide.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(label=label, level_class=level_class, when=when)
    env.globals.update(LEVELS=[level.value for level in Level], plan_refs=plan_refs, options_by_phase=options_by_phase)
    return env


def render_text(template: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(template).render(context)


def page(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200, title: str = "KetaGuide"
) -> HTMLResponse:
    """The page `template` for this request: the signed-in user and their CSRF token are in every template."""
    session = getattr(request.state, "web_session", None)
    full = {
        "title": title,
        "session": session,
        "csrf_token": session.csrf_token if session is not None else "",
        "path": request.url.path,
        **context,
    }
    return HTMLResponse(render_text(template, full), status_code=status)


STATIC_FILES = frozenset({"app.css", "app.js"})


def static_file(name: str) -> tuple[bytes, str] | None:
    """A file of `static/` by name, with its media type; None for any name not in `STATIC_FILES`."""
    return _read_static(name) if name in STATIC_FILES else None


@cache
def _read_static(name: str) -> tuple[bytes, str]:
    data = resources.files("ketaguide.web").joinpath("static", name).read_bytes()
    return data, STATIC_TYPES[name[name.rfind(".") :]]
