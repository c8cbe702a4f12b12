"""Which secrets a service may start with: set, long enough, and not a known default.

Outside the `test` environment a service checks its secrets before it opens
anything (`shared.service.startup`): a required secret that is missing, or any
secret whose value is a published default or placeholder, stops it with one line
naming the variable. The known defaults are values that once shipped in this
repository or in its examples (so they are public) and the usual placeholders;
they are listed here only to be refused.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.errors import InvalidSetting
from shared.settings import SECRET_NAMES, ServiceSettings, env_name

MIN_SECRET_CHARS = 16
REMEDY = "generate one (`fanout stack up` writes them to <FANOUT_HOME>/secrets.env) and set it"
KNOWN_DEFAULTS = frozenset(
    {
        "dev-only-insecure-secret-change-me",  # the signing secret's old default
        "sim-dev-key",  # the simulator API key's old default
        "change-me",
        "changeme",
        "secret",
        "password",
        "admin",
        "token",
    }
)


def is_known_default(value: str) -> bool:
    """True for a published default or a placeholder (case and surrounding space ignored)."""
    return value.strip().lower() in KNOWN_DEFAULTS


def refusal(value: SecretStr | None, required: bool) -> str | None:
    """Why a secret's value cannot be used, or None when it can."""
    if value is None or not value.get_secret_value():
        return "is not set" if required else None
    text = value.get_secret_value()
    if is_known_default(text):
        return "is a known default value, which anyone can read"
    if len(text) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    return None


def check_secrets(settings: ServiceSettings) -> None:
    """Raise `InvalidSetting` naming the first unusable secret (nothing in `test`).

    A required secret must be set; a secret the service does not need may be unset,
    but when set it must still not be a known default.
    """
    common = settings.common
    if common.environment == "test":
        return
    required = set(settings.required_secrets())
    for name in SECRET_NAMES:
        problem = refusal(getattr(common, name), name in required)
        if problem is not None:
            raise InvalidSetting(env_name(common, name), problem, REMEDY)
