"""The web dashboard served by campaign_api under `/app` (docs/dashboard.md).

Server-rendered pages (Jinja2, autoescaped) with a little script of its own
(`static/app.js`: the condition builder, live counts and progress, the upload's
progress); no build step, no third-party front-end code. A person signs in with an API
key, which becomes a server-side session (`sessions.py`); every page then acts through
campaign_api's own routes and report_sink's reports API as that key (`backend.py`).
"""
