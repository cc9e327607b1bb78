"""The HTTP adapter: the REST API (FastAPI), `create_app(settings)` in `ketaguide.http.app`.

    app.py       create_app(settings, routers=...): the application, its start-up checks, its OpenAPI document
    errors.py    the one mapping from errors to HTTP statuses and RFC 9457 problem details
    requests.py  strict bounded JSON bodies, request ids, no-store headers, the access log
    security.py  bearer-token authentication and role checks (deny by default)
    routes/      one router per area: decision support, patients, evidence, administration, health

Routes parse, call one service and render; no rule logic or SQL here.
"""
