"""Sending-domain errors → problem answers (the domain code raises what it means)."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign_api.domains.lookup import ResolverUnavailable
from services.campaign_api.domains.senders import UnverifiedSender
from services.campaign_api.domains.store import (
    DomainInUse,
    DomainNotFound,
    DomainTaken,
    VerifiedElsewhere,
)
from services.campaign_api.domains.verification import RecordsNotFound
from shared.http.problem_document import summary
from shared.http.problems import ProblemError, field_error, problem_for

RESOLVER_RETRY_AFTER_S = 30


def _not_found(_: DomainNotFound) -> ProblemError:
    return ProblemError(404, "domain not found")


def _taken(exc: DomainTaken) -> ProblemError:
    return ProblemError(409, str(exc), extra={"domain_id": str(exc.existing)})


def _verified_elsewhere(_: VerifiedElsewhere) -> ProblemError:
    # which account holds it is another tenant's business: never said
    detail = (
        "another account has verified this domain, and a domain sends for one account only; "
        "if it is yours, have it deleted there first"
    )
    return ProblemError(409, detail)


def _in_use(exc: DomainInUse) -> ProblemError:
    return ProblemError(409, str(exc), extra={"campaign_ids": [str(c) for c in exc.campaigns]})


def _records_not_found(exc: RecordsNotFound) -> ProblemError:
    errors = [
        field_error(["dns", c.record.purpose.value], c.detail, f"dns_record_{c.outcome.value}")
        for c in exc.checks
        if c.blocks
    ]
    checks = [
        {"purpose": c.record.purpose.value, "name": c.record.name, "outcome": c.outcome.value}
        for c in exc.checks
    ]
    detail = f"not verified: {exc}"
    return ProblemError(422, detail, errors=errors, extra={"checks": checks})


def _resolver_unavailable(_: ResolverUnavailable) -> ProblemError:
    detail = "no DNS resolver answered; nothing changed, try again shortly"
    return ProblemError(503, detail, headers={"Retry-After": str(RESOLVER_RETRY_AFTER_S)})


def _unverified_sender(exc: UnverifiedSender) -> ProblemError:
    error = field_error(list(exc.loc), str(exc), "domain_unverified")
    return ProblemError(422, summary([error]), errors=[error], extra={"domain": exc.domain})


def install_domain_error_handlers(app: FastAPI) -> None:
    """Register every sending-domain error's problem answer."""
    problem_for(app, DomainNotFound, _not_found)
    problem_for(app, DomainTaken, _taken)
    problem_for(app, VerifiedElsewhere, _verified_elsewhere)
    problem_for(app, DomainInUse, _in_use)
    problem_for(app, RecordsNotFound, _records_not_found)
    problem_for(app, ResolverUnavailable, _resolver_unavailable)
    problem_for(app, UnverifiedSender, _unverified_sender)
