"""CDS Hooks 2.0.1 for EHRs: wire models, FHIR R4 reading, chart -> intake, findings -> cards, JWT trust, stores.

    wire.py        the CDS Hooks envelope (strict), cards, discovery and feedback models
    catalog.py     KetaGuide's three services and their prefetch templates
    fhir.py        FHIR R4 read tolerantly, entry by entry (validated with fhir.resources R4B to report problems)
    prefetch.py    prefetch keys taken, checked, or fetched from the client's FHIR server; 412 otherwise
    chart.py       the chart read as a care-plan intake (codes of docs/cds-hooks.md 7.3.3, word rules, formulary)
    cards.py       care-plan findings -> cards (indicator tables, evidence with verbatim quotes, suggestions)
    evidence.py    the public evidence pages cards link to (per rule; the lamotrigine escalation)
    clients.py     the trusted EHRs (KETAGUIDE_CDS_CLIENTS)
    auth.py        JWT verification (ES384/RS384, aud, exp, iat, jti replay)
    stores.py      protocols and in-memory / Redis stores: replay guard, issued cards, feedback, audit
    service.py     one hook call, envelope to cards; feedback.py: feedback on issued cards
    questionnaire.py  the intake as a FHIR R4 Questionnaire, and QuestionnaireResponse -> intake

The FastAPI routes are in `ketaguide.http.cds_hooks`. The care engine's rules decide every card: this package
reads FHIR into an intake, runs the engine handed to it (`CareEngine.assess`), and chooses and words the findings;
it holds no clinical rule of its own.
"""
