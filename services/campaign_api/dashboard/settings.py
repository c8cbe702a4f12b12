"""Settings of the dashboard (env prefix `FANOUT_DASHBOARD_`), part of campaign_api's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import Seconds


class DashboardSettings(BaseSettings):
    """Where the reports come from and how long a session lasts."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_DASHBOARD_", extra="ignore", frozen=True)

    reports_url: str = Field(
        "http://127.0.0.1:8702",
        description="Base URL of report_sink's reports API, which the dashboard calls "
        "server-side with the signed-in account's key.",
    )
    reports_timeout_seconds: Seconds = Field(
        30.0, description="Longest wait for one answer of the reports API."
    )
    session_idle_seconds: Seconds = Field(
        2 * 3600.0, description="A session ends after this long without a request."
    )
    session_max_seconds: Seconds = Field(
        12 * 3600.0, description="A session ends this long after sign-in, however busy."
    )
    secure_cookie: Literal["auto", "always"] = Field(
        "auto",
        description="`auto`: the session cookie is Secure when the request came over TLS "
        "(https, or X-Forwarded-Proto: https from a trusted proxy); `always`: always Secure "
        "(behind a TLS proxy that does not say so).",
    )
    purge_interval_seconds: Seconds = Field(
        600.0, description="How often expired sessions are deleted."
    )
