"""The dashboard's pages, one router per part of it."""

from fastapi import APIRouter

from services.campaign_api.dashboard.pages import (
    auth,
    campaigns,
    email_templates,
    leads,
    reports,
    suppressions,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    campaigns.router,
    reports.router,
    email_templates.router,
    suppressions.router,
    leads.router,
)
