"""The local stack's secrets: generated once per stack into `<home>/secrets.env`, then reused.

    FANOUT_LINK_SECRET=...             signs unsubscribe links (sender, webhook_ingest)
    FANOUT_SIMULATOR_WEBHOOK_SECRET=...  signs the simulator's webhooks
    FANOUT_SIMULATOR_API_KEY=...       the simulator's API key (sender -> simulator)
    FANOUT_ADMIN_TOKEN=...             report_sink's POST /internal/sql (`fanout sql`)
    FANOUT_OPS_TOKEN=...               every service's /readyz and /metrics
    FANOUT_DKIM_KEY_SECRET=...         seals sending domains' DKIM private keys (campaign_api)
    FANOUT_WEBHOOK_SECRETS_KEY=...     encrypts webhook endpoints' secrets (campaign_api, notifier)
    FANOUT_PROVIDER_KEY_SECRET=...     seals accounts' provider credentials (campaign_api, sender)
    FANOUT_SESSION_KEY=...             seals the API keys behind dashboard sessions (campaign_api)

The file is created with mode 0600 (only the stack's owner reads it) and never
rewritten once complete, so restarting a service keeps every link and token it
signed valid. A variable already set in the caller's environment wins over the
file, for the services started and for the commands that read a secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from fanout_cli.stack.errors import StackError
from shared.settings import SECRET_NAMES, CommonSettings, SecretName, env_name

SECRETS_FILE = "secrets.env"
SECRET_BYTES = 32


def secrets_path(home: Path) -> Path:
    """Where the stack in `home` keeps its secrets."""
    return home / SECRETS_FILE


def variable(name: SecretName) -> str:
    """The environment variable of secret `name` (e.g. FANOUT_LINK_SECRET)."""
    return env_name(CommonSettings, name)


def read_secrets(home: Path) -> dict[str, str]:
    """The variables of `<home>/secrets.env` (empty when there is none yet)."""
    try:
        text = secrets_path(home).read_text()
    except FileNotFoundError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def fresh_secrets() -> dict[str, str]:
    """A new value of every secret variable: for a short-lived process of its own (a
    benchmark's service), which shares no link or token with anything else."""
    return {variable(name): secrets.token_urlsafe(SECRET_BYTES) for name in SECRET_NAMES}


def ensure_secrets(home: Path) -> bool:
    """Generate whichever secret `<home>/secrets.env` lacks; True if the file was written."""
    known = read_secrets(home)
    missing = [variable(n) for n in SECRET_NAMES if not known.get(variable(n))]
    if not missing:
        return False
    fresh = fresh_secrets()
    known |= {name: fresh[name] for name in missing}
    _write_private(secrets_path(home), "".join(f"{k}={v}\n" for k, v in known.items()))
    return True


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(scratch, path)


def service_secrets(home: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The secret variables a service of the stack gets: the caller's, else the file's."""
    ensure_secrets(home)
    return {k: environ.get(k) or v for k, v in read_secrets(home).items()}


def known_secret(common: CommonSettings, name: SecretName) -> str | None:
    """Secret `name` as set in the environment (FANOUT_...), else the stack's file, else None.

    Read from the environment, not from `common`: in the `test` environment `common`
    holds a value of this process only, which the stack's services do not know.
    """
    return os.environ.get(variable(name)) or read_secrets(common.home).get(variable(name)) or None


def stack_secret(common: CommonSettings, name: SecretName) -> str:
    """Secret `name` for a command that needs it; `StackError` saying where to get it."""
    value = known_secret(common, name)
    if value is None:
        raise StackError(
            f"no {variable(name)}: set it, or run as the user of the stack in {common.home} "
            f"(`fanout stack up` writes {secrets_path(common.home)})"
        )
    return value
