"""A service's settings, loaded and checked before anything is opened.

Whatever is wrong with them, an unparsable or out-of-range value, or a secret
that is missing or a known default (`shared.secret_policy`), becomes an
`InvalidSetting` naming the environment variable, which the start-up path prints
as its one line; never a pydantic traceback. The value itself is never echoed:
it may be a secret.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import SettingsError

from shared.errors import InvalidSetting
from shared.secret_policy import check_secrets
from shared.settings import CommonSettings, ServiceSettings, env_name

S = TypeVar("S", bound=ServiceSettings)
_SOURCE_FIELD = re.compile(r'field "([^"]+)"')


def load_settings(cls: type[S]) -> S:
    """`cls()` (read from the environment) with its secrets checked; else `InvalidSetting`."""
    try:
        settings = cls()
    except ValidationError as exc:
        raise _from_validation(exc, cls) from None
    except SettingsError as exc:  # a value the environment source could not even decode
        found = _SOURCE_FIELD.search(str(exc))
        field = found.group(1) if found else "?"
        raise InvalidSetting(_variable(cls, field), "cannot be parsed") from None
    check_secrets(settings)
    return settings


def _from_validation(exc: ValidationError, cls: type[ServiceSettings]) -> InvalidSetting:
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = [str(part) for part in first["loc"]]
    owner: type[ServiceSettings] | type[CommonSettings] = (
        CommonSettings if exc.title == CommonSettings.__name__ else cls
    )
    where = f" (at {'.'.join(loc[1:])})" if len(loc) > 1 else ""
    problem = f"is invalid{where}: {first['msg']}"
    return InvalidSetting(_variable(owner, loc[0] if loc else "?"), problem)


def _variable(cls: type[ServiceSettings] | type[CommonSettings], field: str) -> str:
    if cls is not CommonSettings and field not in cls.model_fields:
        cls = CommonSettings
    return env_name(cls, field)
