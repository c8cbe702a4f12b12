"""Provider configuration errors → problem answers."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign_api.providers.choice import ConfigDisabled
from services.campaign_api.providers.store import ConfigInUse, ConfigNameTaken, ConfigNotFound
from shared.http.problems import ProblemError, problem_for


def _not_found(_: ConfigNotFound) -> ProblemError:
    return ProblemError(404, "provider configuration not found")


def _taken(exc: ConfigNameTaken) -> ProblemError:
    return ProblemError(409, str(exc))


def _in_use(exc: ConfigInUse) -> ProblemError:
    return ProblemError(409, str(exc), extra={"campaign_ids": [str(c) for c in exc.campaigns]})


def _disabled(exc: ConfigDisabled) -> ProblemError:
    facts = {"provider_config_id": str(exc.config_id), "state_reason": exc.reason}
    return ProblemError(409, str(exc), extra=facts)


def install_provider_error_handlers(app: FastAPI) -> None:
    """Register every provider configuration error's problem answer."""
    problem_for(app, ConfigNotFound, _not_found)
    problem_for(app, ConfigNameTaken, _taken)
    problem_for(app, ConfigInUse, _in_use)
    problem_for(app, ConfigDisabled, _disabled)
