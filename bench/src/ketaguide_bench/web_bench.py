"""Server time of every web page (`ketaguide-bench web-pages`): p50/p95/max per page on the example data.

The app is the server's own (`ketaguide.http.app.create_app`, with the pages mounted), on a fresh SQLite database
in a temporary folder, driven in process by Starlette's TestClient. "Server time" is measured inside the ASGI app,
from the request entering it to the last byte of the response leaving it (the client's transport is not counted).
The data: every intake of `examples/intakes/` stored as a patient with an encounter, and a series of observations
for the first patient. Each page is requested `warmup` times, then `repeats` times measured. Signing in (Argon2id,
deliberately slow) is reported apart: it is not a page.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ketaguide_bench.progress import Progress

TARGET_P95_MS = 100.0
PASSWORD = "a long benchmark passphrase"
QUESTION = "Does lamotrigine help with ketamine craving and relapse?"


class _Timed:
    """ASGI wrapper recording each request's server time (ms), by path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_ms = (time.perf_counter() - started) * 1000


def _token(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def _sign_in(client: Any, name: str) -> None:
    page = client.get("/login")
    form = {"login_token": _token(page.text, "login_token"), "username": name, "password": PASSWORD, "next": "/"}
    assert client.post("/login", data=form).status_code == 303


def _examples(root: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((root / "examples" / "intakes").glob("*.json"))]


def _form(intake: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, value in intake.items():
        if isinstance(value, bool):
            if value:
                form[key] = "yes"
        elif isinstance(value, int | float):
            form[key] = str(value)
        elif key == "medications":
            form[key] = "\n".join(value)
        elif isinstance(value, list):
            form[key] = value
        elif isinstance(value, dict):
            form |= {
                f"{key}.{item}": ("yes" if answer else "no") for item, answer in value.items() if answer is not None
            }
        elif isinstance(value, str):
            form[key] = value
    return form


def _load_data(client: Any, root: Path) -> dict[str, str]:
    token = _token(client.get("/patients").text)
    first = ""
    for n, intake in enumerate(_examples(root)):
        created = client.post("/patients/new", data={"csrf_token": token, "display_name": f"Example {n + 1}"})
        patient = created.headers["location"]
        stored = client.post(f"{patient}/intake", data={"csrf_token": token, **_form(intake)})
        assert stored.status_code == 303, stored.text[:500]
        first = first or patient
    for day in range(1, 13):
        observation = {"observed_on": f"2026-11-{day * 2:02d}", "craving_score": str(9 - day % 9)}
        observation |= {"use_days_past_7": str(day % 7), "urine_drug_screen": ("positive", "negative")[day % 2]}
        client.post(f"{first}/observations", data={"csrf_token": token, **observation})
    encounter = re.search(r'href="(/patients/[^"]+/encounters/[^"]+)"', client.get(first).text)
    assert encounter is not None
    return {"patient": first, "encounter": encounter.group(1)}


def _pages(data: dict[str, str], source: str) -> list[tuple[str, str, str]]:
    """(user, page name, path) for every page."""
    clinician = [
        ("ask (empty)", "/ask"),
        ("ask (answer)", f"/ask?q={QUESTION}"),
        ("ask (abstains)", "/ask?q=What is the best pizza topping?"),
        ("sources", "/sources"),
        ("source view (highlight)", source),
        ("claims", "/claims"),
        ("claims (filtered)", "/claims?q=lamotrigine&type=efficacy"),
        ("conflicts", "/conflicts"),
        ("patients", "/patients"),
        ("patient (care plan, chart)", data["patient"]),
        ("intake form", f"{data['patient']}/intake"),
        ("encounter", data["encounter"]),
        ("assess (form)", "/assess"),
        ("dose (lamotrigine)", "/dose?tool=lamotrigine&with=Depakote+500+mg%0ATegretol"),
        ("dose (ketamine)", "/dose?tool=ketamine&weight_kg=70&route=iv&mg=140"),
    ]
    return [("clinician", name, path) for name, path in clinician] + [
        ("admin", "admin", "/admin"),
        ("anonymous", "login", "/login"),
    ]


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "max_ms": round(ordered[-1], 2)}


def run_web_benchmark(root: Path, repeats: int, warmup: int, progress: Progress) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from ketaguide.bootstrap import SystemClock, build_runtime
    from ketaguide.http.app import create_app
    from ketaguide.services.records import Records
    from ketaguide.services.users import add_user
    from ketaguide.settings import load_settings
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade
    from ketaguide.web.accounts import set_password

    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(database)
        records = Records(database=database, clock=SystemClock())
        for name, role in (("clinician", "clinician"), ("admin", "admin")):
            add_user(records, name, role)
            set_password(records, name, PASSWORD)
        settings = load_settings()
        runtime = build_runtime(settings, eager=True)
        timed = _Timed(create_app(settings, runtime=runtime, records=records))
        try:
            with TestClient(timed, follow_redirects=False) as anonymous:
                clients = {"anonymous": anonymous}
                for user in ("clinician", "admin"):
                    clients[user] = TestClient(timed, follow_redirects=False)
                    sign_in_ms = _time_sign_in(clients[user], timed, user)
                data = _load_data(clients["clinician"], root)
                answer = clients["clinician"].get("/ask", params={"q": QUESTION}).text
                source = re.search(r'href="(/sources/[^"#]+)#quote"', answer)
                assert source is not None
                pages = _pages(data, source.group(1).replace("&amp;", "&"))
                results = []
                advance = progress("web pages", len(pages))
                for user, name, path in pages:
                    results.append(
                        {"page": name, "user": user, **_measure(clients[user], timed, path, repeats, warmup)}
                    )
                    advance(1)
        finally:
            runtime.close()
            database.close()
    worst = max(r["p95_ms"] for r in results)
    return {
        "benchmark": "web page server time (in process, SQLite, example data)",
        "retriever": runtime.retrieval_note,
        "repeats": repeats,
        "warmup": warmup,
        "target_p95_ms": TARGET_P95_MS,
        "worst_p95_ms": worst,
        "all_under_target": worst < TARGET_P95_MS,
        "sign_in_ms": sign_in_ms,
        "pages": results,
    }


def _time_sign_in(client: Any, timed: _Timed, user: str) -> float:
    _sign_in(client, user)
    return round(timed.last_ms, 1)


def _measure(client: Any, timed: _Timed, path: str, repeats: int, warmup: int) -> dict[str, Any]:
    times: list[float] = []
    status = 0
    for n in range(warmup + repeats):
        response = client.get(path)
        status = response.status_code
        if n >= warmup:
            times.append(timed.last_ms)
    return {"path": path.split("?")[0] if path.startswith("/patients") else path, "status": status, **_summary(times)}


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    def row(r: dict[str, Any]) -> tuple[str, ...]:
        times = (f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['max_ms']:.1f}")
        return (r["page"], r["user"], str(r["status"]), *times, "yes" if r["p95_ms"] < TARGET_P95_MS else "NO")

    return [row(r) for r in report["pages"]]
