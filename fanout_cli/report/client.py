"""Talking to report_sink: its address, one checked request, and the admin token.

Report commands authenticate with an API key (`--api-key` or FANOUT_API_KEY); `fanout
sql` with an API key (its account's events) or the admin token (`--admin`: `--token`,
FANOUT_ADMIN_TOKEN, or the stack's `<FANOUT_HOME>/secrets.env`). Expected failures become
one clear line and exit code 1, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from fanout_cli.output import console, fail
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.secrets import stack_secret
from services.report_sink.config import Settings
from shared.http.client import error_line
from shared.settings import CommonSettings

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="FANOUT_REPORT_SINK_URL", help="report_sink's base URL."),
]


def base_url(url: str | None) -> str:
    """`--url`, else report_sink's configured port on loopback."""
    return url or f"http://127.0.0.1:{Settings().port}"


def _not_answering(url: str, exc: Exception) -> typer.Exit:
    return fail(
        f"report_sink is not answering at {url} ({exc.__class__.__name__}); start it with "
        "`fanout stack up --only report-sink` or pass --url"
    )


def request(method: str, url: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    """One call to report_sink; an error status shows the problem's `detail` on one line."""
    try:
        response = httpx.request(method, url + path, headers=headers, timeout=120, **kw)
    except httpx.TransportError as exc:
        raise _not_answering(url, exc) from None
    if response.status_code >= 400:
        raise fail(error_line(response))
    return response


def get_json(url: str | None, path: str, api_key: str, **params: Any) -> Any:
    """GET `path` with the account's API key; parameters that are None are left out."""
    headers = {"Authorization": f"Bearer {api_key}"}
    query = {k: v for k, v in params.items() if v is not None}
    return request("GET", base_url(url), path, headers, params=query).json()


def download(url: str, path: str, api_key: str, params: dict[str, str], target: Path) -> None:
    """Stream `path` into `target` (a CSV export can be larger than memory)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        with (
            httpx.stream("GET", url + path, params=params, headers=headers, timeout=None) as r,
            target.open("wb") as out,
        ):
            if r.status_code >= 400:
                r.read()
                raise fail(error_line(r))
            for chunk in r.iter_bytes():
                out.write(chunk)
    except httpx.TransportError as exc:
        raise _not_answering(url, exc) from None
    console.print(f"wrote {target}")


def admin_token(token: str | None) -> str:
    """`--token`, else FANOUT_ADMIN_TOKEN, else the stack's secrets file."""
    if token:
        return token
    try:
        return stack_secret(CommonSettings(), "admin_token")
    except StackError as exc:
        raise fail(f"{exc}; or pass --token") from None
