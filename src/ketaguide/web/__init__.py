"""The clinicians' web pages, rendered on the server (issue #12), mounted at `/` by `ketaguide.http.app`.

    routes.py        create_web_router(): every page, the static files, the security headers (security.py)
    security.py      headers, sign-in and roles, bounded forms with CSRF checks, error pages
    sessions.py      server-side browser sessions with idle and absolute timeouts
    accounts.py      Argon2id passwords (`ketaguide users password NAME`), sign-in with lock-out
    rendering.py     Jinja2 templates (autoescaped) and static files, all package data
    *_pages.py       the pages: sign-in, evidence (ask, sources, claims, conflicts), clinical tools (assess, dose),
                     patients, admin
    intake_form.py   the intake form, generated from the intake's JSON Schema, and its errors by field
    chart.py         the monitoring chart as server-side SVG
    source_view.py   a source's text with the quoted passage and the other claims marked
    notes.py         the answer as a Markdown note (the command line's renderer)

Pages call the same services as the REST API and the command line; nothing here holds clinical logic.
"""
