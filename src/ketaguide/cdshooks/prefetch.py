"""Prefetch: take each required key from the request, or fetch it from the client's FHIR server, or answer 412.

The spec's rules (docs/cds-hooks.md, 1.3 and 7.4.3):
- a key that is absent was not satisfied by the client; `null` means "no data" (a Patient that does not exist, a
  search with nothing to return is an empty Bundle);
- an OperationOutcome in place of the data means the client's fetch failed; an OperationOutcome *entry* of
  severity error or fatal inside a Bundle means the search is incomplete, and so does a `next` link;
- the service checks prefetched data against its template (the patient's id, the subject of each entry, the
  status the search asked for);
- "If the CDS Service is unable to obtain required data ... the service SHALL respond with an HTTP 412".

KetaGuide fetches a missing key only from a `fhirServer` that the calling client is allowed to name (the clients
file lists them), with the client's `fhirAuthorization` token, within one deadline for the whole call.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from ketaguide.cdshooks.catalog import CONDITIONS, MEDICATIONS, PATIENT, PREFETCH
from ketaguide.cdshooks.fhir import Entry, entries, is_operation_outcome, outcome_errors

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z]+)\s*\}\}")
_MAX_PAGES = 5


class PreconditionFailed(Exception):
    """Required data could be neither prefetched nor fetched: HTTP 412 with an OperationOutcome."""


class FetchError(Exception):
    """The FHIR server did not answer in time, or answered with an error or with something that is not FHIR JSON."""


class FhirFetcher(Protocol):
    """GET a FHIR URL with a bearer token before a deadline (`time.perf_counter()` value).

    Returns the JSON object, or None for 404 / 410 (no such resource); raises FetchError otherwise."""

    def get(self, url: str, token: str, deadline: float) -> Mapping[str, Any] | None: ...


@dataclass
class Gathered:
    """The required data by key: the entries read, or None for "no data"; and what was noted on the way."""

    data: dict[str, list[Entry] | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FhirAccess:
    """Where and how a missing key may be fetched: the client's server and token, if it may be used at all."""

    server: str | None
    token: str | None
    allowed: bool


@dataclass(frozen=True)
class _Server:
    base: str
    token: str
    fetcher: FhirFetcher

    def get(self, url: str, deadline: float) -> Mapping[str, Any] | None:
        if url != self.base and not url.startswith(f"{self.base}/"):
            raise FetchError("a link leads off the client's FHIR server")
        return self.fetcher.get(url, self.token, deadline)


_MISSING = object()


def gather(
    keys: Sequence[str],
    prefetch: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    access: FhirAccess,
    fetcher: FhirFetcher,
    deadline: float,
) -> Gathered:
    """Every key in `keys`, prefetched or fetched; raises PreconditionFailed naming the first key it cannot get."""
    gathered = Gathered()
    patient_id = str(context.get("patientId", ""))
    for key in keys:
        value = prefetch.get(key, _MISSING) if prefetch is not None else _MISSING
        if value is None:
            gathered.data[key] = None
            continue
        problem = _unusable(key, value, patient_id)
        if problem is None and isinstance(value, Mapping):
            gathered.data[key] = _checked(key, value, patient_id, gathered.notes)
            continue
        if not access.allowed or access.server is None or access.token is None:
            raise PreconditionFailed(f"prefetch key '{key}' {problem}, and no FHIR server KetaGuide may use was given")
        fetched = _fetch(key, context, _Server(access.server, access.token, fetcher), deadline)
        gathered.fetched.append(key)
        gathered.data[key] = None if fetched is None else _checked(key, fetched, patient_id, gathered.notes)
    return gathered


def render(template: str, context: Mapping[str, Any]) -> str:
    """A prefetch template with its `{{context.x}}` tokens replaced (URL-encoded); only primitive fields."""

    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        if not isinstance(found, str | int) or isinstance(found, bool):
            raise PreconditionFailed(f"prefetch token '{match.group(0)}' has no primitive value in the context")
        return quote(str(found), safe="")

    return _TOKEN.sub(value, template)


def _unusable(key: str, value: object, patient_id: str) -> str | None:
    """Why a prefetched value cannot be used as it is (None when it can)."""
    if value is _MISSING:
        return "was absent"
    if not isinstance(value, Mapping):
        return "is not a FHIR resource"
    if is_operation_outcome(value):
        return "held an OperationOutcome (the client's fetch failed)"
    if outcome_errors(value):
        return "held a Bundle with an error OperationOutcome (the search is incomplete)"
    if key == PATIENT:
        if value.get("resourceType") != "Patient" or value.get("id") != patient_id:
            return "did not hold the Patient named in the context"
        return None
    if value.get("resourceType") != "Bundle":
        return "did not hold a search Bundle"
    return "was paged (a next link) and KetaGuide follows pages only itself" if _next_link(value) else None


def _checked(key: str, value: Mapping[str, Any], patient_id: str, notes: list[str]) -> list[Entry]:
    """The entries that match the template: this patient's, of the searched type and status."""
    wanted = {PATIENT: "Patient", CONDITIONS: "Condition", MEDICATIONS: "MedicationRequest"}[key]
    kept = []
    for entry in entries(value, key):
        if entry.resource_type in ("OperationOutcome", "Medication"):
            kept.append(entry)  # outcomes are checked above; Medications resolve medicationReference
            continue
        subject = entry.resource.get("subject")
        reference = subject.get("reference") if isinstance(subject, Mapping) else None
        if entry.resource_type != wanted:
            notes.append(f"{entry.where}: a {entry.resource_type} in the {key} search was ignored")
        elif key != PATIENT and reference is not None and reference not in (f"Patient/{patient_id}", patient_id):
            notes.append(f"{entry.where}: {entry.reference} is about another patient and was ignored")
        elif key == MEDICATIONS and entry.resource.get("status") != "active":
            continue  # the search asked for active requests; others are not this search's answer
        else:
            kept.append(entry)
    return kept


def _fetch(key: str, context: Mapping[str, Any], server: _Server, deadline: float) -> Mapping[str, Any] | None:
    url = f"{server.base}/{render(PREFETCH[key], context)}"
    try:
        first = server.get(url, deadline)
        if first is None:
            if key == PATIENT:
                return None  # no such patient: "no data", as a null prefetch would say
            raise FetchError("the search URL was not found")
        if is_operation_outcome(first) or outcome_errors(first):
            raise FetchError("the server answered with an error OperationOutcome")
        return _all_pages(first, server, deadline) if key != PATIENT else first
    except FetchError as exc:
        raise PreconditionFailed(f"prefetch key '{key}' could not be fetched from the FHIR server: {exc}") from None


def _all_pages(first: Mapping[str, Any], server: _Server, deadline: float) -> Mapping[str, Any]:
    """A search Bundle with the entries of its next pages (at most five), all on the client's own server."""
    merged = list(first.get("entry") or [])
    page: Mapping[str, Any] | None = first
    for _ in range(_MAX_PAGES):
        link = _next_link(page) if page is not None else None
        if link is None:
            return {**first, "entry": merged, "link": []}
        page = server.get(link, deadline)
        if page is None or outcome_errors(page):
            raise FetchError("a next page could not be read")
        merged += list(page.get("entry") or [])
    raise FetchError(f"the search has more than {_MAX_PAGES} pages")


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url: str = link["url"]
            return url
    return None


class HttpFhirFetcher:
    """FHIR reads over httpx with one deadline per hook call, a size cap, no redirects and no cookies.

    The token goes only in the Authorization header of requests to the client's own server; it is never logged.
    """

    def __init__(self, *, max_bytes: int = 5_000_000, transport: Any = None) -> None:
        import httpx

        self._httpx = httpx
        self._max_bytes = max_bytes
        self._client = httpx.Client(transport=transport, follow_redirects=False, trust_env=False)

    def get(self, url: str, token: str, deadline: float) -> Mapping[str, Any] | None:
        httpx = self._httpx
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise FetchError("no time left for the FHIR server")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        try:
            with self._client.stream("GET", url, headers=headers, timeout=httpx.Timeout(remaining)) as response:
                if response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    raise FetchError(f"the FHIR server answered HTTP {response.status_code}")
                body = self._read(response, deadline)
        except httpx.TimeoutException:
            raise FetchError("the FHIR server did not answer in time") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"the FHIR server could not be reached ({type(exc).__name__})") from None
        return _json_object(body)

    def _read(self, response: Any, deadline: float) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise FetchError(f"the FHIR server's answer is over {self._max_bytes} bytes")
            if time.perf_counter() > deadline:
                raise FetchError("the FHIR server did not answer in time")
        return bytes(body)

    def close(self) -> None:
        self._client.close()


def _json_object(body: bytes) -> Mapping[str, Any]:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        value = json.loads(body, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError):
        raise FetchError("the FHIR server's answer is not JSON") from None
    if not isinstance(value, dict):
        raise FetchError("the FHIR server's answer is not a JSON object")
    return value
